//! `analyzer analyze` on the example factory dir and variations of it: no-op on the committed
//! state, byte-identical reruns, exit statuses, `--image`, build records, the clock, the lifecycle
//! acceptance scenario (remove / re-add / demote) and paths escaping the repository.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2026-01-01T00:00:00Z";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sources() -> PathBuf {
    root().join("fixtures/sources")
}

fn analyzer(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_analyzer"));
    cmd.args(args)
        .env_remove("IMAGE_FACTORY_LOG")
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("analyzer runs")
}

/// Runs analyze with JSON output on `dir` (extra args appended); returns (exit, report).
fn analyze(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    analyze_env(dir, extra, &[])
}

fn analyze_env(dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let src = sources();
    let mut args = vec![
        "analyze",
        "--format",
        "json",
        "--factory-dir",
        dir.to_str().unwrap(),
        "--source-root",
        src.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = analyzer(&args, envs);
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    if report.is_null() && code != 2 {
        panic!("no JSON report: {out:?}");
    }
    (code, report)
}

/// Every file under `dir`, relative path → content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read_to_string(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// A copy of the example factory dir (with its committed state unless `state` is false).
fn example(state: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in snapshot(&root().join("image-factory")) {
        if !state && rel.starts_with("state") {
            continue;
        }
        let target = dir.path().join(rel);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, text).unwrap();
    }
    dir
}

fn state_of(dir: &Path) -> BTreeMap<PathBuf, String> {
    snapshot(&dir.join("state"))
}

#[test]
fn the_committed_example_state_is_what_analyze_produces() {
    let dir = example(true);
    let committed = state_of(dir.path());
    assert!(committed.len() >= 13, "the example's state is committed");
    for now in [NOW, "2026-03-01T12:00:00Z"] {
        let (code, report) = analyze(dir.path(), &["--now", now]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["bytesWritten"], 0, "{report}");
        assert_eq!(report["filesWritten"], serde_json::json!([]));
        assert_eq!(state_of(dir.path()), committed);
    }
}

#[test]
fn two_fresh_runs_are_byte_identical_and_the_second_writes_nothing() {
    let a = example(false);
    let b = example(false);
    let (code, first) = analyze(a.path(), &["--now", NOW]);
    assert_eq!(code, 0, "{first}");
    assert!(first["bytesWritten"].as_u64().unwrap() > 0);
    let (code, _) = analyze(b.path(), &["--now", NOW]);
    assert_eq!(code, 0);
    assert_eq!(state_of(a.path()), state_of(b.path()));
    assert_eq!(state_of(a.path()), state_of(&root().join("image-factory")));
    let (code, second) = analyze(a.path(), &["--now", "2027-01-01T00:00:00Z"]);
    assert_eq!(code, 0);
    assert_eq!(second["bytesWritten"], 0);
}

#[test]
fn the_example_state_records_the_cascade_and_the_bases() {
    let state = state_of(&root().join("image-factory"));
    let orders = &state[Path::new("images/orders-api.yaml")];
    assert!(
        orders.contains("managedParents:\n- node-base\n"),
        "{orders}"
    );
    assert!(orders.contains("baseImages: []\n"));
    assert!(!state.contains_key(Path::new("base-images/ghcr-io-acme-node-base-1.yaml")));
    let node = &state[Path::new("base-images/node-22-bookworm-slim.yaml")];
    assert!(
        node.contains("dependents:\n- backstage\n- node-base\n"),
        "{node}"
    );
    let uv = &state[Path::new("images/uv.yaml")];
    assert!(
        uv.contains("- docker.io/library/python:3.12-slim"),
        "build arg applied: {uv}"
    );
    let billing = &state[Path::new("images/billing-worker.yaml")];
    assert!(billing.contains("- docker.io/library/golang:1.23-bookworm"));
    assert!(
        state
            .values()
            .all(|t| t.starts_with("# Generated by image-factory"))
    );
}

#[test]
fn invalid_configuration_exits_2_and_writes_nothing() {
    let dir = example(false);
    let images = dir.path().join("images.yaml");
    let text = fs::read_to_string(&images).unwrap();
    fs::write(
        &images,
        text.replace("rebuildDelay: 3d", "rebuildDelays: 3d"),
    )
    .unwrap();
    let (code, _) = analyze(dir.path(), &["--now", NOW]);
    assert_eq!(code, 2);
    assert!(!dir.path().join("state").exists());
    // Usage errors too.
    let (code, _) = analyze(dir.path(), &["--now", "yesterday"]);
    assert_eq!(code, 2);
    let dir = example(false);
    let (code, _) = analyze(dir.path(), &["--image", "nope"]);
    assert_eq!(code, 2);
    assert!(!dir.path().join("state").exists());
}

/// A private source root: a copy of the fixtures that tests may break.
fn own_sources() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in snapshot(&sources()) {
        let target = dir.path().join(rel);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, text).unwrap();
    }
    dir
}

fn analyze_in(dir: &Path, src: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec![
        "analyze",
        "--format",
        "json",
        "--factory-dir",
        dir.to_str().unwrap(),
        "--source-root",
        src.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = analyzer(&args, &[]);
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn a_failing_image_keeps_its_data_and_the_others_go_on() {
    let dir = example(true);
    let src = own_sources();
    fs::write(
        src.path().join("acme/portal/packages/backend/Dockerfile"),
        "FROM node:22 AS a\nFROM SCRATCH\n",
    )
    .unwrap();
    fs::remove_file(src.path().join("acme/reports/docker/Dockerfile")).unwrap();
    fs::write(
        src.path().join("acme/tools/images/uv/Dockerfile"),
        "FROM python:3.13-slim\n",
    )
    .unwrap();
    let (code, report) = analyze_in(dir.path(), src.path(), &["--now", "2026-02-01T00:00:00Z"]);
    assert_eq!(code, 1, "{report}");
    let failed: Vec<&str> = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["image"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["backstage", "reports"]);
    let state = state_of(dir.path());
    let backstage = &state[Path::new("images/backstage.yaml")];
    assert!(backstage.contains("status: failed"), "{backstage}");
    assert!(
        backstage.contains("- docker.io/library/node:22-bookworm-slim"),
        "kept"
    );
    let reports = &state[Path::new("images/reports.yaml")];
    assert!(reports.contains("status: failed") && reports.contains("cannot read Dockerfile"));
    let uv = &state[Path::new("images/uv.yaml")];
    assert!(
        uv.contains("- docker.io/library/python:3.13-slim"),
        "others analysed"
    );
    assert!(state.contains_key(Path::new("base-images/python-3-13-slim.yaml")));
    // python:3.12-slim is still used by reports (kept data).
    assert!(state.contains_key(Path::new("base-images/python-3-12-slim.yaml")));
}

#[test]
fn a_symlink_leaving_the_repository_is_refused() {
    let dir = example(true);
    let src = own_sources();
    let outside = src.path().join("outside-Dockerfile");
    fs::write(&outside, "FROM alpine:3.20\n").unwrap();
    let target = src.path().join("acme/orders/Dockerfile");
    fs::remove_file(&target).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, &target).unwrap();
    let (code, report) = analyze_in(dir.path(), src.path(), &["--now", NOW]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("escapes the repository"),
        "{report}"
    );
}

#[test]
fn image_filter_and_build_records() {
    let dir = example(true);
    // Another image's file, valid but not as the tools write it: `--image` leaves it alone.
    let uv = dir.path().join("state/images/uv.yaml");
    let text = fs::read_to_string(&uv).unwrap();
    fs::write(&uv, format!("{text}\n# a note someone added\n")).unwrap();
    let before = state_of(dir.path());
    let digest = format!("sha256:{}", "ab".repeat(32));
    let (code, report) = analyze(
        dir.path(),
        &[
            "--image",
            "node-base",
            "--built-tag",
            "1.2.3",
            "--built-digest",
            &digest,
            "--now",
            "2026-01-05T00:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["analyzed"], serde_json::json!(["node-base"]));
    assert_eq!(
        report["filesWritten"],
        serde_json::json!(["state/images/node-base.yaml"])
    );
    let after = state_of(dir.path());
    let node_base = &after[Path::new("images/node-base.yaml")];
    assert!(
        node_base.contains("currentVersion: \"1.2.3\""),
        "{node_base}"
    );
    assert!(node_base.contains("event: built"));
    for (path, text) in &before {
        if !path.ends_with("node-base.yaml") {
            assert_eq!(&after[path], text, "{} untouched", path.display());
        }
    }
    // The same build again (a retried analysis Job) changes nothing.
    let (code, report) = analyze(
        dir.path(),
        &[
            "--image",
            "node-base",
            "--built-tag",
            "1.2.3",
            "--built-digest",
            &digest,
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(report["bytesWritten"], 0);
    // A build needs exactly one managed --image and a real digest.
    let (code, _) = analyze(dir.path(), &["--built-tag", "1", "--built-digest", &digest]);
    assert_eq!(code, 2);
    let (code, _) = analyze(
        dir.path(),
        &[
            "--image",
            "postgres",
            "--built-tag",
            "1",
            "--built-digest",
            &digest,
        ],
    );
    assert_eq!(code, 2);
    let (code, _) = analyze(
        dir.path(),
        &[
            "--image",
            "uv",
            "--built-tag",
            "1",
            "--built-digest",
            "sha256:nope",
        ],
    );
    assert_eq!(code, 2);
}

#[test]
fn source_date_epoch_sets_the_clock() {
    let dir = example(false);
    let (code, report) = analyze_env(dir.path(), &[], &[("SOURCE_DATE_EPOCH", "1767225600")]);
    assert_eq!(code, 0);
    assert_eq!(report["now"], NOW);
    assert_eq!(
        state_of(dir.path()),
        state_of(&root().join("image-factory"))
    );
}

fn set_images(dir: &Path, f: impl Fn(&str) -> String) {
    let path = dir.join("images.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, f(&text)).unwrap();
}

/// The `- name: X` block of the example's images.yaml (up to the next entry).
fn entry(text: &str, name: &str) -> String {
    let start = text.find(&format!("- name: {name}\n")).unwrap();
    let rest = &text[start..];
    let end = rest[1..].find("\n- name:").map_or(rest.len(), |e| e + 2);
    rest[..end].to_owned()
}

#[test]
fn remove_readd_and_demote() {
    let dir = example(true);
    let original = fs::read_to_string(dir.path().join("images.yaml")).unwrap();
    let uv = entry(&original, "uv");
    let digest = format!("sha256:{}", "cd".repeat(32));
    let (code, _) = analyze(
        dir.path(),
        &[
            "--image",
            "uv",
            "--built-tag",
            "0.9.0",
            "--built-digest",
            &digest,
            "--now",
            "2026-01-02T00:00:00Z",
        ],
    );
    assert_eq!(code, 0);
    let uv_state = fs::read_to_string(dir.path().join("state/images/uv.yaml")).unwrap();

    // Removed: archived with all history; its now-unused base is archived too.
    set_images(dir.path(), |t| t.replace(&uv, ""));
    let (code, report) = analyze(dir.path(), &["--now", "2026-01-03T00:00:00Z"]);
    assert_eq!(code, 0, "{report}");
    assert!(!dir.path().join("state/images/uv.yaml").exists());
    let archived = fs::read_to_string(dir.path().join("state/_archive/images/uv.yaml")).unwrap();
    assert!(archived.contains("reason: removed") && archived.contains("version: \"0.9.0\""));
    assert!(
        dir.path()
            .join("state/_archive/base-images/ghcr-io-astral-sh-uv-0-5.yaml")
            .exists()
    );

    // Re-added: restored with enrolledAt and history.
    set_images(dir.path(), |_| original.clone());
    let (code, report) = analyze(dir.path(), &["--now", "2026-01-04T00:00:00Z"]);
    assert_eq!(code, 0, "{report}");
    let restored = fs::read_to_string(dir.path().join("state/images/uv.yaml")).unwrap();
    assert!(restored.contains("enrolledAt: \"2026-01-01T00:00:00Z\""));
    assert!(restored.contains("event: restored"));
    assert!(restored.contains("event: built"));
    assert!(!dir.path().join("state/_archive/images/uv.yaml").exists());
    assert!(
        dir.path()
            .join("state/base-images/ghcr-io-astral-sh-uv-0-5.yaml")
            .exists()
    );
    assert_ne!(restored, uv_state, "a restore is recorded in the history");

    // Removing node-base (orders-api builds FROM it) demotes it to a base image.
    let node_base = entry(&original, "node-base");
    set_images(dir.path(), |t| t.replace(&node_base, ""));
    let (code, report) = analyze(dir.path(), &["--now", "2026-01-05T00:00:00Z"]);
    assert_eq!(code, 0, "{report}");
    let base = fs::read_to_string(
        dir.path()
            .join("state/base-images/ghcr-io-acme-node-base-1.yaml"),
    )
    .unwrap();
    assert!(
        base.contains("demotedFrom: node-base") && base.contains("- orders-api"),
        "{base}"
    );
    let orders = fs::read_to_string(dir.path().join("state/images/orders-api.yaml")).unwrap();
    assert!(
        orders.contains("baseImages:\n- ghcr-io-acme-node-base-1\n"),
        "{orders}"
    );
    assert!(orders.contains("managedParents: []"));
    let archived =
        fs::read_to_string(dir.path().join("state/_archive/images/node-base.yaml")).unwrap();
    assert!(archived.contains("reason: demoted"));

    // And back: promoted again, the base goes to the archive.
    set_images(dir.path(), |_| original.clone());
    let (code, _) = analyze(dir.path(), &["--now", "2026-01-06T00:00:00Z"]);
    assert_eq!(code, 0);
    assert!(
        !dir.path()
            .join("state/base-images/ghcr-io-acme-node-base-1.yaml")
            .exists()
    );
    let orders = fs::read_to_string(dir.path().join("state/images/orders-api.yaml")).unwrap();
    assert!(orders.contains("managedParents:\n- node-base\n"));
    let node_base_state =
        fs::read_to_string(dir.path().join("state/images/node-base.yaml")).unwrap();
    assert!(node_base_state.contains("enrolledAt: \"2026-01-01T00:00:00Z\""));
}

#[test]
fn concurrent_analyzers_on_one_factory_dir_take_turns() {
    let dir = example(false);
    let src = sources();
    let spawn = |now: &str| {
        Command::new(env!("CARGO_BIN_EXE_analyzer"))
            .args(["analyze", "--format", "json", "--factory-dir"])
            .arg(dir.path())
            .arg("--source-root")
            .arg(&src)
            .args(["--now", now, "--lock-timeout", "60"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let runs = [spawn(NOW), spawn(NOW), spawn(NOW)];
    let mut written = 0;
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        written += usize::from(report["bytesWritten"].as_u64().unwrap() > 0);
    }
    assert_eq!(
        written, 1,
        "exactly one run wrote; the others found nothing to do"
    );
    assert_eq!(
        state_of(dir.path()),
        state_of(&root().join("image-factory"))
    );
}
