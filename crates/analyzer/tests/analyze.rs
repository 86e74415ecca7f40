//! `analyzer analyze` as a process: the JSON report and no-op on the committed state, exit
//! statuses (configuration and usage errors, a failing image), the clock from `SOURCE_DATE_EPOCH`,
//! and concurrent processes on one factory dir. The job's behaviour (reruns, `--image`, build
//! records, the lifecycle scenario) is tested through the library in `crates/factory/tests`.
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

/// A copy of the example factory dir (with its committed state unless `state` is false).
fn example(state: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in testkit::snapshot(&root().join("image-factory")) {
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
    testkit::snapshot(&dir.join("state"))
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
    for (rel, text) in testkit::snapshot(&sources()) {
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
