//! Issue 9's git classes as whole processes: hostile `stateRepo` values (`fixtures/hostile/git/`)
//! fail `validate` and `analyze` with exit 2 at the right line:column, never echoing a password;
//! `analyze --commit` on a work tree with someone else's uncommitted changes exits 2, naming
//! them, with nothing written or committed. The library-level scenarios (rebase, 10,000 images,
//! injection at the git layer, askpass over HTTP) are in `crates/factory/tests/hardening_git.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testkit::git::git;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .env_remove("IMAGE_FACTORY_LOG")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("analyzer runs")
}

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("fixtures/hostile/git"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 2);
    dirs
}

#[test]
fn hostile_state_repo_values_exit_2_at_the_right_place() {
    for dir in cases() {
        let d = dir.to_str().unwrap();
        let out = analyzer(&["validate", "--format", "json", "--factory-dir", d]);
        assert_eq!(out.status.code(), Some(2), "{}: {out:?}", dir.display());
        let diags: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let mut got: Vec<String> = diags
            .iter()
            .filter(|d| d["severity"] == "error")
            .map(|d| format!("factory.yaml:{}:{}", d["line"], d["column"]))
            .collect();
        got.sort();
        let mut expected: Vec<String> = fs::read_to_string(dir.join("expect"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        expected.sort();
        assert_eq!(got, expected, "{}", dir.display());
        assert!(diags.iter().all(|d| d["hint"].is_string()), "{diags:#?}");
        // `analyze` refuses the same configuration before anything is written.
        let out = analyzer(&["analyze", "--factory-dir", d, "--source-root", d]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(!dir.join("state").exists());
        let all = format!("{out:?}{diags:?}");
        assert!(!all.contains("hunter2"), "{all}");
    }
    let dir = root().join("fixtures/hostile/git/state-repo-injection");
    let out = analyzer(&["validate", "--factory-dir", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("factory.yaml:5:11"), "{stderr}");
    assert!(stderr.contains("starts with `-`"), "{stderr}");
    assert!(stderr.contains("`ext::` transport"), "{stderr}");
}

#[test]
fn commit_on_a_dirty_tree_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    fs::create_dir_all(work.join("image-factory")).unwrap();
    for f in ["images.yaml", "factory.yaml"] {
        fs::copy(
            root().join("image-factory").join(f),
            work.join("image-factory").join(f),
        )
        .unwrap();
    }
    testkit::copy_tree(
        &root().join("image-factory/local"),
        &work.join("image-factory/local"),
    );
    git(&work, &["init", "--quiet", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "enrol"]);
    fs::write(work.join("wip.txt"), "an operator's work in progress\n").unwrap();
    let factory_dir = work.join("image-factory");
    let sources = root().join("fixtures/sources");
    let out = analyzer(&[
        "analyze",
        "--commit",
        "--now",
        "2026-01-01T00:00:00Z",
        "--factory-dir",
        factory_dir.to_str().unwrap(),
        "--source-root",
        sources.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to commit") && stderr.contains("wip.txt"),
        "{stderr}"
    );
    assert!(!factory_dir.join("state").exists(), "nothing written");
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(git(&work, &["status", "--porcelain"]), "?? wip.txt");
}
