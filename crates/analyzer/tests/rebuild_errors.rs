//! Bad input to the rebuild engine's commands, as processes on a copy of the example factory
//! dir: each gives a clear error and either changes nothing (exit 2) or records the failure
//! (exit 1) — an emergency without a reason, on something unknown or with nothing pending;
//! `plan --what-if` with an unknown or malformed reference; `trigger` without its token, and
//! with an unreachable CI endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn analyzer(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_analyzer"));
    command
        .args(args)
        .arg("--factory-dir")
        .arg(dir)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_TOKEN_FILE")
        .env_remove("GITLAB_TRIGGER_TOKEN")
        .env_remove("IMAGE_FACTORY_WEBHOOK_URL")
        .env_remove("IMAGE_FACTORY_ACTOR");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The example, with node:22-bookworm-slim moved on 2026-02-01 (node-base is due from 02-04).
fn example() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    testkit::copy_tree(&testkit::workspace_root().join("image-factory"), tmp.path());
    // The baseline, then the update.
    for (fill, now) in [('d', "2026-01-31T00:00:00Z"), ('e', "2026-02-01T00:00:00Z")] {
        let out = analyzer(
            tmp.path(),
            &[
                "observe",
                "--base",
                "node-22-bookworm-slim",
                "--digest",
                &format!("sha256:{}", fill.to_string().repeat(64)),
                "--now",
                now,
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    tmp
}

#[test]
fn an_emergency_needs_a_reason_a_known_target_and_something_pending() {
    let tmp = example();
    let dir = tmp.path();
    let before = testkit::snapshot(dir);
    let now = ["--now", "2026-02-02T00:00:00Z"];
    let cases: [(&[&str], &str); 6] = [
        (
            &["--base", "node:22-bookworm-slim", "--actor", "a"],
            "--reason",
        ),
        (
            &[
                "--base",
                "node:22-bookworm-slim",
                "--reason",
                "  ",
                "--actor",
                "a",
            ],
            "needs a reason",
        ),
        (&["--reason", "x", "--actor", "a"], "--image"),
        (
            &["--image", "ghost", "--reason", "x", "--actor", "a"],
            "no managed image `ghost`",
        ),
        (
            &["--base", "nginx:1.27", "--reason", "x", "--actor", "a"],
            "no base image `nginx-1-27`",
        ),
        (
            &["--image", "uv", "--reason", "x", "--actor", "a"],
            "has no pending base update",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["emergency"];
        all.extend_from_slice(args);
        all.extend_from_slice(&now);
        let out = analyzer(dir, &all, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(testkit::snapshot(dir), before, "{args:?} wrote something");
    }
    // Backstage has a pending node entry too: an emergency on the base covers both dependents,
    // with the reason in the state and the audit log.
    let out = analyzer(
        dir,
        &[
            "emergency",
            "--base",
            "node:22-bookworm-slim",
            "--reason",
            "CVE-2026-1",
            "--actor",
            "alice",
            "--now",
            "2026-02-02T00:00:00Z",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let images: Vec<&str> = report["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["backstage", "node-base", "orders-api"]);
    let audit = fs::read_to_string(dir.join("state/audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 3);
    assert!(
        audit.contains(r#""reason":"CVE-2026-1","actor":"alice""#),
        "{audit}"
    );
    let plan = analyzer(dir, &["plan", "--now", "2026-02-02T00:00:00Z"], &[]);
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("emergencies in the last 30 days: 3"),
        "{text}"
    );
}

#[test]
fn what_if_names_an_unknown_or_malformed_reference() {
    let tmp = example();
    let dir = tmp.path();
    for (reference, expected) in [
        (
            "nginx:1.27",
            "is neither a watched base nor a managed image",
        ),
        (
            "node:20",
            "the fleet watches docker.io/library/node:22-bookworm-slim",
        ),
        ("Bad Ref", "it is not an image reference"),
    ] {
        let out = analyzer(dir, &["plan", "--what-if", reference], &[]);
        assert_eq!(out.status.code(), Some(2), "{reference}: {out:?}");
        assert!(
            stderr(&out).contains(expected),
            "{reference}: {}",
            stderr(&out)
        );
    }
    let out = analyzer(
        dir,
        &[
            "plan",
            "--what-if",
            "node:22-bookworm-slim",
            "--at",
            "2026-03-01T00:00:00Z",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2026-03-04T00:00:00Z  node-base"), "{text}");
    assert!(text.contains("after node-base's build"), "{text}");
}

#[test]
fn trigger_without_a_token_sends_nothing_and_an_unreachable_ci_is_recorded() {
    let tmp = example();
    let dir = tmp.path();
    let now = ["--now", "2026-02-05T00:00:00Z"];
    let before = testkit::snapshot(dir);
    let mut args = vec!["trigger"];
    args.extend_from_slice(&now);
    let out = analyzer(dir, &args, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr(&out).contains("no GITHUB_TOKEN"), "{}", stderr(&out));
    assert_eq!(testkit::snapshot(dir), before);
    // A port nothing listens on: the dispatch fails (after its bounded retries) and is recorded.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    testkit::github_api_at(dir, port);
    let out = analyzer(dir, &args, &[("GITHUB_TOKEN", "ghp-x")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let state = fs::read_to_string(dir.join("state/images/node-base.yaml")).unwrap();
    assert!(state.contains("result: failed"), "{state}");
    assert!(!state.contains("inFlight"), "{state}");
    let audit = fs::read_to_string(dir.join("state/audit.jsonl")).unwrap();
    assert!(audit.contains(r#""result":"failed""#), "{audit}");
    assert!(!audit.contains("ghp-x"));
}
