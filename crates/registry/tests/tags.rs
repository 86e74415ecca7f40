//! `Client::tags` against a real registry (Debian's `docker-registry`, distribution 2.8, started by
//! testkit) and against 127.0.0.1 stand-ins for what 2.8 does not do: distribution 2.8 ignores
//! `n` and `last` on the tag list (every tag in one answer, no `Link`), so pagination, a `Link` to
//! another host and the token flow are served by stand-ins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{Reply, client, counts, quick, reference, stand_in};
use image_factory_registry::{Counts, Error, MAX_TAG_PAGES};
use testkit::http::Seen;
use testkit::registry::{Image, Registry};

fn list_counts(list: u32, token: u32) -> Counts {
    Counts {
        list,
        token,
        ..Counts::default()
    }
}

#[test]
fn real_registry_lists_every_tag_with_list_requests_only() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let image = Image::single("tags", "amd64");
    let pushed = ["1.2.0", "1.10.0", "latest", "main", "v2.0.0-rc.1"];
    for tag in pushed {
        registry.push(&image, "team/app", tag);
    }
    let client = client(&host, quick());
    let before = registry.request_count();
    // The reference's tag is ignored: the repository's tags are listed.
    let listed = client
        .tags(&reference(&format!("{host}/team/app:1.2.0")), 2)
        .unwrap();
    let mut tags = listed.tags.clone();
    tags.sort();
    assert_eq!(tags, ["1.10.0", "1.2.0", "latest", "main", "v2.0.0-rc.1"]);
    assert_eq!(listed.pages, 1);
    assert_eq!(listed.requests, BTreeMap::from([(host, list_counts(1, 0))]));
    // The registry's own log: one tag-list GET (2.8 answers `n=2` with every tag and no Link),
    // no manifest request.
    let log: Vec<(String, String, u16)> = registry.requests()[before..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    assert_eq!(
        log,
        [("GET".into(), "/v2/team/app/tags/list?n=2".into(), 200)]
    );
}

#[test]
fn real_registry_unknown_repository_is_an_error_naming_the_url() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let err = client(&host, quick())
        .tags(&reference(&format!("{host}/team/none")), 10)
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("{host}/v2/team/none/tags/list")),
        "{message}"
    );
}

/// distribution 3's tag pagination (`registry/handlers/tags.go`): the tags sorted, those after
/// `last`, at most `n`, and a `Link` to the next page when some are left.
fn paginate(all: &[&str], path: &str, absolute_base: Option<&str>) -> Reply {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
    };
    let mut tags: Vec<&str> = all.to_vec();
    tags.sort_unstable();
    if let Some(last) = param("last") {
        tags.retain(|t| *t > last.as_str());
    }
    let mut headers = vec![];
    if let Some(n) = param("n").and_then(|n| n.parse::<usize>().ok())
        && n < tags.len()
    {
        let target = format!(
            "{}/v2/team/app/tags/list?last={}&n={n}",
            absolute_base.unwrap_or(""),
            tags[n - 1]
        );
        headers.push(("Link".to_owned(), format!("<{target}>; rel=\"next\"")));
        tags.truncate(n);
    }
    let body = serde_json::json!({"name": "team/app", "tags": tags}).to_string();
    (200, headers, body)
}

const SEVEN: [&str; 7] = ["a", "b", "c", "d", "e", "f", "g"];

#[test]
fn pages_are_followed_until_there_is_no_next_link() {
    // Relative links on odd pages, absolute ones (same origin) on even pages.
    let (port, seen) = stand_in(10, |req, n, port| {
        let base = format!("http://127.0.0.1:{port}");
        paginate(&SEVEN, &req.path, (n % 2 == 1).then_some(base.as_str()))
    });
    let host = format!("127.0.0.1:{port}");
    let listed = client(&host, quick())
        .tags(&reference(&format!("{host}/team/app")), 2)
        .unwrap();
    assert_eq!(listed.tags, SEVEN);
    assert_eq!(listed.pages, 4);
    assert_eq!(listed.requests[&host], list_counts(4, 0));
    let seen = seen.lock().unwrap().clone();
    let lines: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        lines,
        [
            "GET /v2/team/app/tags/list?n=2",
            "GET /v2/team/app/tags/list?last=b&n=2",
            "GET /v2/team/app/tags/list?last=d&n=2",
            "GET /v2/team/app/tags/list?last=f&n=2",
        ]
    );
    assert!(
        seen.iter()
            .all(|s| s.accept.as_deref() == Some("application/json"))
    );
}

#[test]
fn link_to_another_host_is_refused_and_never_requested() {
    let (other_port, other_seen) = stand_in(5, |_, _, _| {
        (200, vec![], r#"{"tags":["stolen"]}"#.to_owned())
    });
    let (port, seen) = stand_in(5, move |req, _, _| {
        // `localhost` is another host than `127.0.0.1`, even on the same machine.
        let other = format!("http://localhost:{other_port}");
        paginate(&SEVEN, &req.path, Some(&other))
    });
    let host = format!("127.0.0.1:{port}");
    let err = client(&host, quick())
        .tags(&reference(&format!("{host}/team/app")), 3)
        .unwrap_err();
    let Error::OffHostLink { url, link } = &err else {
        panic!("{err}");
    };
    assert_eq!(url, &format!("http://{host}/v2/team/app/tags/list?n=3"));
    assert_eq!(
        link,
        &format!("http://localhost:{other_port}/v2/team/app/tags/list?last=c&n=3")
    );
    let message = err.to_string();
    assert!(
        message.contains("refusing to follow") && message.contains("credentials"),
        "{message}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(other_seen.lock().unwrap().is_empty());
}

#[test]
fn bearer_token_flow_on_the_tag_list_and_shared_with_check() {
    let (port, seen) = stand_in(20, |req, _, port| {
        if req.path.starts_with("/token") {
            return (200, vec![], r#"{"token":"list-tok"}"#.into());
        }
        if req.authorization.as_deref() != Some("Bearer list-tok") {
            let challenge = format!(
                r#"Bearer realm="http://127.0.0.1:{port}/token",service="stand-in",scope="repository:team/app:pull""#
            );
            return (
                401,
                vec![("WWW-Authenticate".into(), challenge)],
                String::new(),
            );
        }
        if req.method == "HEAD" {
            let digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
            return (
                200,
                vec![("Docker-Content-Digest".into(), digest.into())],
                String::new(),
            );
        }
        paginate(&SEVEN, &req.path, None)
    });
    let host = format!("127.0.0.1:{port}");
    let client = client(&host, quick());
    let listed = client
        .tags(&reference(&format!("{host}/team/app")), 4)
        .unwrap();
    assert_eq!(listed.tags, SEVEN);
    // The anonymous page that met the challenge, the token, the two pages with it.
    assert_eq!(listed.requests[&host], list_counts(3, 1));
    // The digest check of the same repository reuses the token.
    let check = client.check(&[reference(&format!("{host}/team/app:a"))]);
    assert!(check.digests[0].is_ok());
    assert_eq!(check.requests[&host], counts(1, 0, 0));
    let seen: Vec<Seen> = seen.lock().unwrap().clone();
    let lines: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        lines,
        [
            "GET /v2/team/app/tags/list?n=4",
            "GET /token?scope=repository%3Ateam%2Fapp%3Apull&service=stand-in",
            "GET /v2/team/app/tags/list?n=4",
            "GET /v2/team/app/tags/list?last=d&n=4",
            "HEAD /v2/team/app/manifests/a",
        ]
    );
}

#[test]
fn endless_links_give_up_at_the_page_bound() {
    let (port, seen) = stand_in(MAX_TAG_PAGES as usize + 5, |_, n, _| {
        let link = format!("</v2/team/app/tags/list?last=t{n}&n=1>; rel=\"next\"");
        (
            200,
            vec![("Link".into(), link)],
            format!(r#"{{"tags":["t{n}"]}}"#),
        )
    });
    let host = format!("127.0.0.1:{port}");
    let err = client(&host, quick())
        .tags(&reference(&format!("{host}/team/app")), 1)
        .unwrap_err();
    assert!(
        matches!(&err, Error::TooManyTags { pages, tags, .. } if *pages == MAX_TAG_PAGES && *tags == MAX_TAG_PAGES as usize),
        "{err}"
    );
    assert!(err.to_string().contains("giving up"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), MAX_TAG_PAGES as usize);
}

#[test]
fn a_page_that_is_not_a_tag_list_is_an_error() {
    let (port, _) = stand_in(5, |_, _, _| (200, vec![], "<html>".to_owned()));
    let host = format!("127.0.0.1:{port}");
    let err = client(&host, quick())
        .tags(&reference(&format!("{host}/team/app")), 1)
        .unwrap_err();
    assert!(matches!(err, Error::TagList { .. }), "{err}");
}

#[test]
fn counts_keep_the_check_json_shape_without_list_requests() {
    assert_eq!(
        serde_json::to_value(counts(1, 0, 2)).unwrap(),
        serde_json::json!({"head": 1, "get": 0, "token": 2})
    );
    assert_eq!(
        serde_json::to_value(list_counts(3, 1)).unwrap(),
        serde_json::json!({"head": 0, "get": 0, "token": 1, "list": 3})
    );
}
