//! The watch jobs against a real registry (Debian's `docker-registry`, started by testkit on
//! 127.0.0.1): `check` records the baseline, then an update with its pending entries, then nothing;
//! one HEAD per distinct watched tag and no manifest GET, as the registry's own access log shows;
//! `observe` and `check` agree in either order; bad input is refused with nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use factory::{
    AnalyzeOptions, CheckOptions, CheckReport, FactoryDir, JobError, ObserveOptions, Sources,
    UsageError, WatchOptions,
};
use model::time::Timestamp;
use testkit::registry::{Image, Registry};

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn watch_options(now: &str) -> WatchOptions {
    WatchOptions {
        now: at(now),
        commit: false,
        push: None,
        lock_timeout: Duration::from_secs(30),
        environment: factory::Environment::default(),
    }
}

fn check_options(now: &str) -> CheckOptions {
    CheckOptions {
        bases: Vec::new(),
        limits: registry::Limits {
            request_timeout: Duration::from_secs(5),
            max_attempts: 2,
            max_total: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(100),
        },
        watch: watch_options(now),
    }
}

fn check(dir: &Path, now: &str) -> CheckReport {
    let mut calls = 0;
    let report = factory::check(
        &FactoryDir::load(dir),
        &check_options(now),
        &mut |done, total| {
            calls += 1;
            assert!(done <= total);
        },
    )
    .unwrap();
    assert_eq!(calls, report.tags, "one progress call per tag");
    report
}

fn observe(
    dir: &Path,
    base: &str,
    digest: &str,
    now: &str,
) -> Result<factory::ObserveReport, JobError> {
    let options = ObserveOptions {
        base: base.to_owned(),
        digest: digest.to_owned(),
        watch: watch_options(now),
    };
    factory::observe(&FactoryDir::load(dir), &options)
}

fn state_of(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    testkit::snapshot(&dir.join("state"))
}

/// A fleet on the registry `host`: `web` (7d) and `api` (1d) build FROM node:22 (api also FROM
/// python:3.12); `worker` (default 3d) FROM python:3.12 pinned by digest, so two bases share one
/// tag; `tool` FROM a digest-only alpine (not watched); `child` FROM our own `web` (a managed
/// parent, watched through web's builds). Returns the factory dir, analysed at `T0`.
fn fleet(host: &str, python_digest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let factory = dir.path().join("factory");
    let sources = dir.path().join("src");
    let dockerfiles = [
        ("web", format!("FROM {host}/library/node:22\n")),
        (
            "api",
            format!("FROM {host}/library/node:22 AS build\nFROM {host}/library/python:3.12\n"),
        ),
        (
            "worker",
            format!("FROM {host}/library/python:3.12@{python_digest}\n"),
        ),
        (
            "tool",
            format!("FROM {host}/library/alpine@sha256:{}\n", "a".repeat(64)),
        ),
        ("child", format!("FROM {host}/acme/web:1\n")),
    ];
    let mut images = String::new();
    for (name, dockerfile) in &dockerfiles {
        let path = sources.join("acme").join(name);
        fs::create_dir_all(&path).unwrap();
        fs::write(path.join("Dockerfile"), dockerfile).unwrap();
        images.push_str(&format!(
            "- name: {name}\n  registry: \"{host}\"\n  repository: acme/{name}\n  source: {{repo: acme/{name}}}\n"
        ));
        match *name {
            "web" => images.push_str("  rebuildDelay: 7d\n"),
            "api" => images.push_str("  rebuildDelay: 1d\n"),
            _ => {}
        }
    }
    fs::create_dir_all(&factory).unwrap();
    fs::write(factory.join("images.yaml"), images).unwrap();
    fs::write(
        factory.join("factory.yaml"),
        format!("defaults:\n  rebuildDelay: 3d\nregistries:\n  \"{host}\":\n    insecure: true\n"),
    )
    .unwrap();
    let report = analyze(&factory, &sources);
    assert!(report.is_success(), "{report}");
    dir
}

/// Analyses `factory` from `sources` at `T0`.
fn analyze(factory: &Path, sources: &Path) -> factory::AnalyzeReport {
    let options = AnalyzeOptions {
        sources: Sources::Root(sources.to_path_buf()),
        images: Vec::new(),
        build: None,
        now: at(T0),
        commit: false,
        push: None,
        lock_timeout: Duration::from_secs(30),
        environment: factory::Environment::default(),
    };
    factory::analyze(&FactoryDir::load(factory), &options).unwrap()
}

const T0: &str = "2026-03-01T00:00:00Z";
const T1: &str = "2026-03-01T01:00:00Z";
const T2: &str = "2026-03-02T00:00:00Z";
const T3: &str = "2026-03-03T00:00:00Z";

/// The base ids of the fleet, found by reference in the state (ids are derived, SPEC §7.3).
fn base_id(dir: &Path, reference_suffix: &str) -> String {
    let state = FactoryDir::load(dir).load_state(at(T0)).unwrap().state;
    let ids: Vec<&String> = state
        .bases
        .iter()
        .filter(|(_, b)| b.reference.ends_with(reference_suffix))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids.len(), 1, "{reference_suffix}: {ids:?}");
    ids[0].clone()
}

fn pending(dir: &Path, image: &str) -> Vec<(String, String, String)> {
    let state = FactoryDir::load(dir).load_state(at(T0)).unwrap().state;
    state.images[image]
        .rebuild
        .pending
        .iter()
        .map(|p| (p.base.clone(), p.digest.clone(), p.eligible_at.to_string()))
        .collect()
}

/// Manifest requests in the registry's access log since `from`: (method, path).
fn manifest_requests(registry: &Registry, from: usize) -> Vec<(String, String)> {
    registry.requests()[from..]
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

#[test]
fn baseline_then_update_then_nothing_with_one_head_per_distinct_tag() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let node_v1 = Image::index("node-v1", &["amd64", "arm64"]);
    let python = Image::single("python-v1", "amd64");
    registry.push(&node_v1, "library/node", "22");
    registry.push(&python, "library/python", "3.12");
    let tmp = fleet(&host, python.digest());
    let dir = tmp.path().join("factory");
    let node = base_id(&dir, "library/node:22");
    let python_id = base_id(&dir, "library/python:3.12");
    let python_pinned = base_id(&dir, &format!("library/python:3.12@{}", python.digest()));
    let heads = |from| {
        let mut paths: Vec<String> = manifest_requests(&registry, from)
            .into_iter()
            .map(|(method, path)| format!("{method} {path}"))
            .collect();
        paths.sort();
        paths
    };
    let expected_heads = vec![
        "HEAD /v2/library/node/manifests/22".to_owned(),
        "HEAD /v2/library/python/manifests/3.12".to_owned(),
    ];

    // 1. The first check records the baselines: no pending entries anywhere.
    let from = registry.request_count();
    let first = check(&dir, T1);
    assert!(first.is_success(), "{first}");
    assert_eq!((first.checked, first.tags), (3, 2), "{first}");
    assert!(first.updated.is_empty());
    let mut baselines: Vec<(String, String)> = first
        .baselines
        .iter()
        .map(|b| (b.base.clone(), b.digest.clone()))
        .collect();
    baselines.sort();
    let mut expected = vec![
        (node.clone(), node_v1.digest().to_owned()),
        (python_id.clone(), python.digest().to_owned()),
        (python_pinned.clone(), python.digest().to_owned()),
    ];
    expected.sort();
    assert_eq!(baselines, expected);
    for image in ["web", "api", "worker", "tool", "child"] {
        assert_eq!(pending(&dir, image), [], "{image}");
    }
    assert_eq!(heads(from), expected_heads);
    let counts = &first.requests[&host];
    assert_eq!((counts.head, counts.get, counts.token), (2, 0, 0));

    // 2. A new image on node:22: an update, with a pending entry per dependent.
    let node_v2 = Image::index("node-v2", &["amd64", "arm64"]);
    registry.push(&node_v2, "library/node", "22");
    let from = registry.request_count();
    let second = check(&dir, T2);
    assert!(second.is_success(), "{second}");
    assert_eq!(second.updated.len(), 1, "{second}");
    let update = &second.updated[0];
    assert_eq!(update.base, node);
    assert_eq!(update.previous_digest.as_deref(), Some(node_v1.digest()));
    assert_eq!(update.current_digest, node_v2.digest());
    assert_eq!(update.seen_at, T2);
    assert_eq!(update.dependents, ["api", "web"]);
    let v2 = node_v2.digest().to_owned();
    assert_eq!(
        pending(&dir, "web"),
        [(node.clone(), v2.clone(), "2026-03-09T00:00:00Z".to_owned())]
    );
    assert_eq!(
        pending(&dir, "api"),
        [(node.clone(), v2.clone(), "2026-03-03T00:00:00Z".to_owned())]
    );
    for image in ["worker", "tool", "child"] {
        assert_eq!(pending(&dir, image), [], "{image}");
    }
    assert_eq!(heads(from), expected_heads);
    // The JSON contract of SPEC §9.3.
    let json = serde_json::to_value(&second).unwrap();
    assert_eq!(json["checked"], 3);
    assert_eq!(json["updated"][0]["previousDigest"], node_v1.digest());
    assert_eq!(json["updated"][0]["currentDigest"], node_v2.digest());
    assert_eq!(json["updated"][0]["seenAt"], T2);
    assert_eq!(
        json["requests"][&host],
        serde_json::json!({"head": 2, "get": 0, "token": 0})
    );
    assert_eq!(json["errors"], serde_json::json!([]));

    // 3. Nothing new: nothing written, byte for byte.
    let before = state_of(&dir);
    let from = registry.request_count();
    let third = check(&dir, T3);
    assert!(third.is_success(), "{third}");
    assert!(third.updated.is_empty() && third.baselines.is_empty());
    assert_eq!(third.written.files_written, Vec::<String>::new());
    assert_eq!(state_of(&dir), before);
    assert_eq!(heads(from), expected_heads);

    // `--base` limits the check to one base (its tag only).
    let from = registry.request_count();
    let mut options = check_options(T3);
    options.bases = vec![node.clone()];
    let one = factory::check(&FactoryDir::load(&dir), &options, &mut |_, _| {}).unwrap();
    assert_eq!((one.checked, one.tags), (1, 1));
    assert_eq!(heads(from), ["HEAD /v2/library/node/manifests/22"]);
}

#[test]
fn observe_and_check_agree_in_either_order() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let node_v1 = Image::single("node-v1", "amd64");
    let python = Image::single("python-v1", "amd64");
    registry.push(&node_v1, "library/node", "22");
    registry.push(&python, "library/python", "3.12");
    let tmp = fleet(&host, python.digest());
    let dir = tmp.path().join("factory");
    let node = base_id(&dir, "library/node:22");
    check(&dir, T1);
    let copy = tempfile::tempdir().unwrap();
    testkit::copy_tree(&dir, copy.path());
    let node_v2 = Image::single("node-v2", "amd64");
    registry.push(&node_v2, "library/node", "22");

    // A: the check sees it first, then a Warehouse's Freight an hour later.
    let checked = check(&dir, T2);
    assert_eq!(checked.updated.len(), 1);
    let later = "2026-03-02T01:00:00Z";
    let observed = observe(&dir, &node, node_v2.digest(), later).unwrap();
    assert_eq!(observed.seen, state::watch::Seen::Known);
    assert!(observed.written.files_written.is_empty());

    // B: the Warehouse first, then the check.
    let observed = observe(copy.path(), &node, node_v2.digest(), T2).unwrap();
    assert!(matches!(observed.seen, state::watch::Seen::Update { .. }));
    let checked = check(copy.path(), later);
    assert!(checked.updated.is_empty() && checked.written.files_written.is_empty());

    assert_eq!(state_of(&dir), state_of(copy.path()));
}

#[test]
fn observe_refuses_bad_input_and_writes_nothing() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let python = Image::single("python-v1", "amd64");
    let tmp = fleet(&host, python.digest());
    let dir = tmp.path().join("factory");
    let node = base_id(&dir, "library/node:22");
    let alpine = base_id(&dir, &format!("library/alpine@sha256:{}", "a".repeat(64)));
    let before = state_of(&dir);
    let good = format!("sha256:{}", "b".repeat(64));
    let cases = [
        (
            "no-such-base",
            good.as_str(),
            "unknown base image `no-such-base`",
        ),
        (node.as_str(), "sha256:1234", "is not a digest"),
        (node.as_str(), "latest", "is not a digest"),
        (
            alpine.as_str(),
            good.as_str(),
            "pinned by digest and not watched",
        ),
    ];
    for (base, digest, message) in cases {
        let err = observe(&dir, base, digest, T1).unwrap_err();
        assert!(
            matches!(err, JobError::Usage(UsageError::Record(_))),
            "{base} {digest}: {err:?}"
        );
        assert!(err.is_usage_error());
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(state_of(&dir), before, "{base} {digest}");
    }
    // `check --base` refuses the same way, before any request.
    let from = registry.request_count();
    let mut options = check_options(T1);
    options.bases = vec!["no-such-base".to_owned()];
    let err = factory::check(&FactoryDir::load(&dir), &options, &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(err, JobError::Usage(UsageError::Record(_))),
        "{err:?}"
    );
    assert_eq!(registry.request_count(), from);
    assert_eq!(state_of(&dir), before);
}

#[test]
fn an_unreachable_registry_fails_its_bases_only() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let node = Image::single("node-v1", "amd64");
    let python = Image::single("python-v1", "amd64");
    registry.push(&node, "library/node", "22");
    registry.push(&python, "library/python", "3.12");
    let tmp = fleet(&host, python.digest());
    let dir = tmp.path().join("factory");
    // A second registry that refuses connections: a port nobody listens on.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let images = fs::read_to_string(dir.join("images.yaml")).unwrap();
    fs::write(
        dir.join("images.yaml"),
        images + "- name: lost\n  repository: acme/lost\n  source: {repo: acme/lost}\n",
    )
    .unwrap();
    let src = tmp.path().join("src/acme/lost");
    fs::create_dir_all(&src).unwrap();
    fs::write(
        src.join("Dockerfile"),
        format!("FROM 127.0.0.1:{dead}/gone:1\n"),
    )
    .unwrap();
    let factory_yaml = fs::read_to_string(dir.join("factory.yaml")).unwrap();
    fs::write(
        dir.join("factory.yaml"),
        factory_yaml + &format!("  \"127.0.0.1:{dead}\":\n    insecure: true\n"),
    )
    .unwrap();
    analyze(&dir, &tmp.path().join("src"));
    let report = check(&dir, T1);
    assert!(!report.is_success());
    assert_eq!(report.errors.len(), 1, "{report}");
    assert!(report.errors[0].base.starts_with("127-0-0-1"), "{report}");
    assert!(
        report.errors[0]
            .message
            .contains(&format!("127.0.0.1:{dead}")),
        "{report}"
    );
    // The other bases are recorded.
    assert_eq!(report.baselines.len(), 3, "{report}");
}
