//! `analyzer enroll` as a whole process on a copy of the example factory dir: the entry is
//! appended with every comment kept and `analyzer validate` passes afterwards; duplicates and
//! invalid values exit 2 with a located error and leave the file byte for byte as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .env_remove("IMAGE_FACTORY_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("analyzer runs")
}

/// A copy of the example factory dir, in a temporary directory (kept alive by the guard).
fn example() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("image-factory");
    testkit::copy_tree(&testkit::workspace_root().join("image-factory"), &dir);
    (tmp, dir)
}

fn enroll(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["enroll", "--factory-dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    analyzer(&all)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_entry_is_appended_with_every_comment_kept_and_validates() {
    let (_tmp, dir) = example();
    let before = std::fs::read_to_string(dir.join("images.yaml")).unwrap();
    let out = enroll(
        &dir,
        &[
            "--name",
            "docs-site",
            "--repo",
            "acme/docs",
            "--dockerfile",
            "site/Dockerfile",
            "--delay",
            "3d",
            "--priority",
            "normal",
            "--input",
            "push=on",
            "--pin-input",
            "base_images",
            "--comment",
            "Documentation site, rebuilt like the others.",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(dir.join("images.yaml")).unwrap();
    // A splice, not a rewrite: the old text is a prefix, byte for byte.
    assert!(after.starts_with(&before), "{after}");
    let comments = before.lines().filter(|l| l.trim_start().starts_with('#'));
    assert_eq!(comments.count(), 16);
    for line in before.lines() {
        assert!(after.contains(line), "{line:?} lost");
    }
    assert_eq!(
        &after[before.len()..],
        "\n# Documentation site, rebuilt like the others.\n- name: docs-site\n  \
         repository: acme/docs-site\n  source:\n    repo: acme/docs\n    \
         dockerfile: site/Dockerfile\n    inputs:\n      push: \"on\"\n    \
         pinInput: base_images\n  rebuildDelay: 3d\n"
    );
    let validate = analyzer(&["validate", "--factory-dir", dir.to_str().unwrap()]);
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}",
        text(&validate.stderr)
    );

    let shown = text(&out.stdout).replace(dir.to_str().unwrap(), "<dir>");
    insta::assert_snapshot!("enroll_text", shown);
}

#[test]
fn json_report_names_the_line_of_the_entry() {
    let (_tmp, dir) = example();
    let out = enroll(
        &dir,
        &[
            "--format",
            "json",
            "--name",
            "billing-api",
            "--repo",
            "acme/payments/billing-api",
            "--provider",
            "gitlab",
            "--registry",
            "registry.gitlab.com",
            "--branch",
            "main",
            "--input",
            "DEPLOY=no",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["file", "name", "line", "entry", "next"] {
        assert!(report.get(key).is_some(), "{key} missing in {report}");
    }
    assert_eq!(report["name"], "billing-api");
    assert_eq!(report["written"], true);
    assert_eq!(
        report["entry"],
        serde_json::json!({
            "name": "billing-api",
            "registry": "registry.gitlab.com",
            "repository": "acme/payments/billing-api",
            "source": {"provider": "gitlab", "repo": "acme/payments/billing-api", "inputs": {"DEPLOY": "no"}}
        })
    );
    let file = std::fs::read_to_string(report["file"].as_str().unwrap()).unwrap();
    let line = usize::try_from(report["line"].as_u64().unwrap()).unwrap();
    assert_eq!(file.lines().nth(line - 1), Some("- name: billing-api"));
    let next = report["next"].as_array().unwrap();
    assert_eq!(next.len(), 4);
    assert!(next[0].as_str().unwrap().starts_with("analyzer analyze"));
    assert!(
        next[3].as_str().unwrap().contains("GITLAB_TRIGGER_TOKEN"),
        "{}",
        next[3]
    );
    assert!(next[3].as_str().unwrap().contains("DEPLOY"), "{}", next[3]);
}

#[test]
fn dry_run_writes_nothing() {
    let (_tmp, dir) = example();
    let before = testkit::snapshot(&dir);
    let out = enroll(&dir, &["--name", "web", "--repo", "acme/web", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("would enrol (dry run, nothing written) `web`"));
    assert_eq!(testkit::snapshot(&dir), before);
}

/// Exit 2, the file unchanged, and stderr holding every expected piece.
fn refused(dir: &Path, args: &[&str], expected: &[&str]) {
    let before = std::fs::read(dir.join("images.yaml")).unwrap();
    let out = enroll(dir, args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        std::fs::read(dir.join("images.yaml")).unwrap(),
        before,
        "{args:?}"
    );
    for piece in expected {
        assert!(
            stderr.contains(piece),
            "{args:?}: {piece:?} not in\n{stderr}"
        );
    }
    assert!(stderr.contains("nothing written"), "{stderr}");
}

#[test]
fn duplicates_are_refused_at_the_existing_entry() {
    let (_tmp, dir) = example();
    refused(
        &dir,
        &["--name", "node-base", "--repo", "acme/other"],
        &[
            "image `node-base` is already enrolled here",
            "images.yaml:9:3",
            "choose another --name",
        ],
    );
    // Same image under another name: `docker.io/postgres` is `docker.io/library/postgres`.
    let text = std::fs::read_to_string(dir.join("images.yaml")).unwrap();
    let line = 1 + text.lines().position(|l| l == "- name: postgres").unwrap();
    let at = format!("images.yaml:{line}:3");
    refused(
        &dir,
        &[
            "--name",
            "pg",
            "--repo",
            "acme/pg",
            "--registry",
            "docker.io",
            "--repository",
            "postgres",
        ],
        &[
            "`docker.io/library/postgres` is already enrolled here, as `postgres`",
            &at,
            "--repository",
        ],
    );
}

#[test]
fn invalid_values_get_the_loaders_located_error() {
    let (_tmp, dir) = example();
    let lines = std::fs::read_to_string(dir.join("images.yaml"))
        .unwrap()
        .lines()
        .count();
    // The entry would start after a blank line at the end of the file.
    let entry = lines + 2;
    refused(
        &dir,
        &["--name", "Bad_Name", "--repo", "acme/x"],
        &[
            "image name `Bad_Name` is not a DNS-1123 label",
            &format!("images.yaml:{entry}:9"),
            "e.g. `bad-name`",
        ],
    );
    refused(
        &dir,
        &["--name", "ok", "--repo", "acme/ok", "--delay", "7x"],
        &["`7x`", &format!("images.yaml:{}:17", entry + 4)],
    );
    refused(
        &dir,
        &[
            "--name",
            "ok",
            "--repo",
            "acme/ok",
            "--provider",
            "bitbucket",
        ],
        &["bitbucket", &format!("images.yaml:{}:15", entry + 3)],
    );
}

#[test]
fn a_broken_factory_dir_is_reported_before_anything_else() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("images.yaml"), "- name: a\n  repo: x\n").unwrap();
    let out = enroll(tmp.path(), &["--name", "web", "--repo", "acme/web"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("fix it before enrolling"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("images.yaml")).unwrap(),
        "- name: a\n  repo: x\n"
    );
}

#[test]
fn a_flow_style_list_is_refused_with_its_position() {
    let tmp = tempfile::tempdir().unwrap();
    let text_before = "# images\n[{name: a, repository: acme/a, source: {repo: acme/a}}]\n";
    std::fs::write(tmp.path().join("images.yaml"), text_before).unwrap();
    refused(
        tmp.path(),
        &["--name", "web", "--repo", "acme/web"],
        &["flow style", "images.yaml:2:1", "block style"],
    );
}
