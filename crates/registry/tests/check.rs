//! `Client::check` against a real registry (Debian's `docker-registry`, distribution 2.8, started
//! by testkit) and against small HTTP servers on 127.0.0.1 standing in for what a local registry
//! does not do: a token endpoint, rate limiting, refusing HEAD, never answering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{Reply, client, counts, quick, reference, stand_in};
use image_factory_registry::{Client, DockerConfig, Error, Limits, RegistrySettings};
use model::reference::ImageRef;
use testkit::registry::{Image, Registry};

#[test]
fn real_registry_one_head_per_tag_and_index_digest() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let single = Image::single("v1", "amd64");
    let multi = Image::index("v1", &["amd64", "arm64"]);
    registry.push(&single, "team/app", "1.0");
    registry.push(&multi, "team/multi", "latest");
    let client = client(&host, quick());
    let refs = [
        reference(&format!("{host}/team/app:1.0")),
        reference(&format!("{host}/team/multi")),
    ];

    let before = registry.request_count();
    let check = client.check(&refs);
    let digests: Vec<String> = check
        .digests
        .iter()
        .map(|d| d.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(digests, [single.digest(), multi.digest()]);
    // The index digest, not a platform's manifest digest.
    let Image::Index { images, .. } = &multi else {
        unreachable!()
    };
    assert!(images.iter().all(|i| i.digest() != digests[1]));
    assert_eq!(
        check.requests,
        BTreeMap::from([(host.clone(), counts(2, 0, 0))])
    );

    // The registry's own log agrees: exactly one HEAD per tag, nothing else.
    let requests = registry.requests();
    let sent: Vec<(String, String, u16)> = requests[before..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    let mut sent_sorted = sent.clone();
    sent_sorted.sort();
    assert_eq!(
        sent_sorted,
        [
            ("HEAD".into(), "/v2/team/app/manifests/1.0".into(), 200),
            ("HEAD".into(), "/v2/team/multi/manifests/latest".into(), 200),
        ],
        "{sent:?}"
    );

    // A new image pushed to the same tag is seen on the next check, again with one HEAD.
    let moved = Image::single("v2", "amd64");
    registry.push(&moved, "team/app", "1.0");
    let before = registry.request_count();
    let check = client.check(&refs[..1]);
    assert_eq!(check.digests[0].as_ref().unwrap().as_str(), moved.digest());
    assert_eq!(check.requests, BTreeMap::from([(host, counts(1, 0, 0))]));
    let after = registry.requests();
    assert_eq!(after.len() - before, 1, "{:?}", &after[before..]);
    assert_eq!(after[before].method, "HEAD");
}

#[test]
fn real_registry_unknown_tag_is_that_references_error() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let image = Image::single("x", "amd64");
    registry.push(&image, "team/app", "1.0");
    let client = client(&host, quick());
    let check = client.check(&[
        reference(&format!("{host}/team/app:nope")),
        reference(&format!("{host}/team/app:1.0")),
    ]);
    let err = check.digests[0].as_ref().unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
    assert!(
        err.to_string().contains("/v2/team/app/manifests/nope"),
        "{err}"
    );
    assert_eq!(check.digests[1].as_ref().unwrap().as_str(), image.digest());
}

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn ok_digest() -> Reply {
    (
        200,
        vec![("Docker-Content-Digest".into(), DIGEST.into())],
        String::new(),
    )
}

#[test]
fn bearer_token_fetched_once_and_reused() {
    let (port, seen) = stand_in(20, |req, _, port| {
        if req.path.starts_with("/token") {
            return (200, vec![], r#"{"token":"tok-123"}"#.into());
        }
        if req.authorization.as_deref() == Some("Bearer tok-123") {
            return ok_digest();
        }
        let challenge = format!(
            r#"Bearer realm="http://127.0.0.1:{port}/token",service="stand-in",scope="repository:team/app:pull""#
        );
        (
            401,
            vec![("WWW-Authenticate".into(), challenge)],
            String::new(),
        )
    });
    let host = format!("127.0.0.1:{port}");
    let client = client(&host, quick());
    let tag = [reference(&format!("{host}/team/app:1.0"))];

    let first = client.check(&tag);
    assert_eq!(first.digests[0].as_ref().unwrap().as_str(), DIGEST);
    // The anonymous HEAD that met the challenge, the token, the HEAD with it.
    assert_eq!(first.requests[&host], counts(2, 0, 1));
    let second = client.check(&tag);
    assert_eq!(second.digests[0].as_ref().unwrap().as_str(), DIGEST);
    assert_eq!(
        second.requests[&host],
        counts(1, 0, 0),
        "the token is reused"
    );

    let seen = seen.lock().unwrap().clone();
    let lines: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        lines,
        [
            "HEAD /v2/team/app/manifests/1.0",
            "GET /token?scope=repository%3Ateam%2Fapp%3Apull&service=stand-in",
            "HEAD /v2/team/app/manifests/1.0",
            "HEAD /v2/team/app/manifests/1.0",
        ]
    );
    // Index and list media types are accepted, so a multi-arch tag answers with its index.
    let accept = seen[0].accept.clone().unwrap();
    assert!(
        accept.contains("application/vnd.oci.image.index.v1+json"),
        "{accept}"
    );
    assert!(
        accept.contains("application/vnd.docker.distribution.manifest.list.v2+json"),
        "{accept}"
    );
}

#[test]
fn rate_limited_then_ok_waits_for_retry_after() {
    let (port, seen) = stand_in(10, |_, n, _| {
        if n == 0 {
            (429, vec![("Retry-After".into(), "1".into())], String::new())
        } else {
            ok_digest()
        }
    });
    let host = format!("127.0.0.1:{port}");
    let client = client(&host, quick());
    let start = Instant::now();
    let check = client.check(&[reference(&format!("{host}/team/app:1.0"))]);
    let elapsed = start.elapsed();
    assert_eq!(check.digests[0].as_ref().unwrap().as_str(), DIGEST);
    assert_eq!(check.requests[&host], counts(2, 0, 0));
    // Retry-After (1 s) wins over the 100 ms backoff.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn always_rate_limited_gives_up_within_the_bounds() {
    let (port, seen) = stand_in(20, |_, _, _| (503, vec![], String::new()));
    let host = format!("127.0.0.1:{port}");
    let client = client(&host, quick());
    let check = client.check(&[reference(&format!("{host}/team/app:1.0"))]);
    let err = check.digests[0].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Exhausted {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(check.requests[&host], counts(3, 0, 0));
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn head_refused_falls_back_to_get_counted() {
    let (port, seen) = stand_in(10, |req, _, _| {
        if req.method == "HEAD" {
            (405, vec![], String::new())
        } else {
            // No digest header: the digest is the manifest's own sha256.
            (200, vec![], "{}".into())
        }
    });
    let host = format!("127.0.0.1:{port}");
    let client = client(&host, quick());
    let tag = [reference(&format!("{host}/team/app:1.0"))];
    let check = client.check(&tag);
    // sha256("{}")
    assert_eq!(
        check.digests[0].as_ref().unwrap().as_str(),
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    assert_eq!(check.requests[&host], counts(1, 1, 0));
    // Once refused, the registry gets GETs straight away for the rest of the run.
    let again = client.check(&tag);
    assert!(again.digests[0].is_ok());
    assert_eq!(again.requests[&host], counts(0, 1, 0));
    let methods: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.method.clone())
        .collect();
    assert_eq!(methods, ["HEAD", "GET", "GET"]);
}

#[test]
fn silent_registry_times_out_and_others_are_unaffected() {
    // Accepts connections and never answers; holds them until the test ends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        let held: Vec<TcpStream> = listener.incoming().take(10).flatten().collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let (port, _) = stand_in(10, |_, _, _| ok_digest());
    let fine = format!("127.0.0.1:{port}");
    let insecure = RegistrySettings {
        insecure: true,
        ..RegistrySettings::default()
    };
    let client = Client::new(
        BTreeMap::from([(silent.clone(), insecure.clone()), (fine.clone(), insecure)]),
        RegistrySettings::default(),
        Limits {
            request_timeout: Duration::from_millis(500),
            max_attempts: 2,
            max_total: Duration::from_secs(3),
            initial_backoff: Duration::from_millis(100),
        },
        DockerConfig::empty(),
    )
    .unwrap();
    let start = Instant::now();
    let check = client.check(&[
        reference(&format!("{silent}/team/app:1.0")),
        reference(&format!("{fine}/team/app:1.0")),
    ]);
    let elapsed = start.elapsed();
    let err = check.digests[0].as_ref().unwrap_err();
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&silent) && message.contains("no answer within 500ms"),
        "{message}"
    );
    assert_eq!(check.digests[1].as_ref().unwrap().as_str(), DIGEST);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(check.requests[&silent], counts(2, 0, 0));
}

#[test]
fn docker_config_credentials_reach_the_token_endpoint_only() {
    // "robot:hunter2"
    let basic = "Basic cm9ib3Q6aHVudGVyMg==";
    let (port, seen) = stand_in(20, move |req, _, port| {
        if req.path.starts_with("/token") {
            return if req.authorization.as_deref() == Some(basic) {
                (200, vec![], r#"{"access_token":"private-tok"}"#.into())
            } else {
                (401, vec![], String::new())
            };
        }
        if req.authorization.as_deref() == Some("Bearer private-tok") {
            return ok_digest();
        }
        let challenge = format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="s""#);
        (
            401,
            vec![("WWW-Authenticate".into(), challenge)],
            String::new(),
        )
    });
    let host = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        format!(r#"{{"auths":{{"{host}":{{"auth":"cm9ib3Q6aHVudGVyMg=="}}}}}}"#),
    )
    .unwrap();
    let insecure = RegistrySettings {
        insecure: true,
        ..RegistrySettings::default()
    };
    let client = Client::new(
        BTreeMap::from([(host.clone(), insecure)]),
        RegistrySettings::default(),
        quick(),
        DockerConfig::load(&path).unwrap(),
    )
    .unwrap();
    let check = client.check(&[reference(&format!("{host}/team/private:1"))]);
    assert_eq!(check.digests[0].as_ref().unwrap().as_str(), DIGEST);
    assert_eq!(check.requests[&host], counts(2, 0, 1));
    let seen = seen.lock().unwrap().clone();
    // The password goes to the token endpoint, never to the registry itself.
    for s in &seen {
        let sent_basic = s.authorization.as_deref() == Some(basic);
        assert_eq!(sent_basic, s.path.starts_with("/token"), "{s:?}");
    }
}

#[test]
fn min_interval_spaces_requests_to_one_registry() {
    let (port, _) = stand_in(10, |_, _, _| ok_digest());
    let host = format!("127.0.0.1:{port}");
    let settings = RegistrySettings {
        insecure: true,
        max_concurrency: 1,
        min_interval: Duration::from_millis(300),
    };
    let client = Client::new(
        BTreeMap::from([(host.clone(), settings)]),
        RegistrySettings::default(),
        quick(),
        DockerConfig::empty(),
    )
    .unwrap();
    let refs: Vec<ImageRef> = (0..3)
        .map(|i| reference(&format!("{host}/team/app{i}:1")))
        .collect();
    let start = Instant::now();
    let check = client.check(&refs);
    let elapsed = start.elapsed();
    assert!(check.digests.iter().all(Result::is_ok));
    assert_eq!(check.requests[&host], counts(3, 0, 0));
    // Three starts 300 ms apart: at least 600 ms.
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
}
