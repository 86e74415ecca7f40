//! `analyzer analyze --commit --push` and `--clone` as processes, against real git repositories in
//! temporary directories: a push that keeps failing (clear error on stderr and in the report, exit
//! 1, state intact) and clones from git (the token never shows). One commit per run, concurrent
//! pushes and re-application after a conflict are tested through the library in
//! `crates/factory/tests/git.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testkit::git::{clone, git, remote};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn analyze_cmd(work: &Path, extra: &[&str]) -> Command {
    let src = root().join("fixtures/sources");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_analyzer"));
    cmd.args(["analyze", "--format", "json", "--factory-dir"])
        .arg(work.join("image-factory"))
        .arg("--source-root")
        .arg(src)
        .args(["--push-backoff-ms", "20"])
        .args(extra)
        .env_remove("IMAGE_FACTORY_LOG")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        // The remotes are local bare repositories: opt into the `file` transport.
        .env("IMAGE_FACTORY_GIT_ALLOW_PROTOCOL", "file")
        .env(
            "IMAGE_FACTORY_GIT_AUTHOR",
            "Factory Bot <bot@example.invalid>",
        );
    cmd
}

fn analyze(work: &Path, extra: &[&str]) -> Output {
    analyze_cmd(work, extra).output().unwrap()
}

fn build_args(image: &str, tag: &str, byte: &str) -> Vec<String> {
    vec![
        "--image".into(),
        image.into(),
        "--built-tag".into(),
        tag.into(),
        "--built-digest".into(),
        format!("sha256:{}", byte.repeat(32)),
        "--now".into(),
        "2026-01-02T00:00:00Z".into(),
    ]
}

fn commits(repo: &Path, rev: &str) -> usize {
    git(repo, &["rev-list", "--count", rev]).parse().unwrap()
}

#[test]
fn a_push_that_keeps_failing_fails_clearly_with_state_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let hook = bare.join("hooks/pre-receive");
    fs::write(&hook, "#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let work = clone(&bare, &tmp.path().join("work"));
    let mut args = build_args("reports", "3.0.0", "33");
    args.extend([
        "--commit".into(),
        "--push".into(),
        "--push-attempts".into(),
        "3".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = analyze(&work, &args);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("still rejected after 3 attempts"),
        "{stderr}"
    );
    assert!(stderr.contains("rejected by policy"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["gitError"]
            .as_str()
            .unwrap()
            .contains("still rejected")
    );
    assert_eq!(report["pushed"], false);
    // The state and the local commit are intact; the remote is unchanged.
    let text = fs::read_to_string(work.join("image-factory/state/images/reports.yaml")).unwrap();
    assert!(text.contains("currentVersion: \"3.0.0\""));
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    assert_eq!(commits(&work, "HEAD"), 2);
    assert_eq!(commits(&bare, "main"), 1);
}

#[test]
fn clone_reads_sources_from_git() {
    let tmp = tempfile::tempdir().unwrap();
    // Every source repository of the example as a git repository under <base>/<repo>.git.
    let base = tmp.path().join("git");
    for repo in [
        "acme/base-images",
        "acme/portal",
        "acme/orders",
        "acme/tools",
        "acme/payments/billing-worker",
        "acme/reports",
    ] {
        let dir = base.join(format!("{repo}.git"));
        fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "--quiet", "-b", "main"]);
        testkit::copy_tree(&root().join("fixtures/sources").join(repo), &dir);
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "--quiet", "-m", "src"]);
    }
    let factory = tmp.path().join("factory");
    fs::create_dir_all(&factory).unwrap();
    for f in ["images.yaml", "factory.yaml"] {
        fs::copy(root().join("image-factory").join(f), factory.join(f)).unwrap();
    }
    // `reports` builds from files kept in the factory dir (its `local` block).
    testkit::copy_tree(&root().join("image-factory/local"), &factory.join("local"));
    let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args([
            "analyze",
            "--clone",
            "--now",
            "2026-01-01T00:00:00Z",
            "--factory-dir",
        ])
        .arg(&factory)
        .arg("--clone-url-base")
        .arg(format!("file://{}", base.display()))
        .env("GITHUB_TOKEN", "not-a-real-token")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("IMAGE_FACTORY_GIT_ALLOW_PROTOCOL", "file")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let all = format!("{out:?}");
    assert!(!all.contains("not-a-real-token"), "the token never shows");
    for entry in fs::read_dir(root().join("image-factory/state/images")).unwrap() {
        let entry = entry.unwrap();
        let ours =
            fs::read_to_string(factory.join("state/images").join(entry.file_name())).unwrap();
        assert_eq!(ours, fs::read_to_string(entry.path()).unwrap());
    }
    // A repository that cannot be cloned fails that image only.
    fs::remove_dir_all(base.join("acme/reports.git")).unwrap();
    fs::remove_dir_all(factory.join("state")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(["analyze", "--clone", "--format", "json", "--factory-dir"])
        .arg(&factory)
        .arg("--clone-url-base")
        .arg(format!("file://{}", base.display()))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("IMAGE_FACTORY_GIT_ALLOW_PROTOCOL", "file")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"][0]["image"], "reports");
    assert!(
        report["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("clone of acme/reports failed")
    );
}
