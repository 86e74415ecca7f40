//! The trigger job on the example factory dir against a 127.0.0.1 stand-in for GitHub's API that
//! checks method, path, headers and body: a due image is dispatched once with its soaked digest
//! pinned, the outcome recorded (`rebuild.last`, `inFlight`, `state/audit.jsonl`); nothing is
//! dispatched again while it is in flight; the build's record closes it and cascades; a refusal is
//! recorded, not retried; a missing token sends and writes nothing; `--dry-run` only shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use factory::{
    AnalyzeOptions, Build, FactoryDir, JobError, ObserveOptions, Sources, TriggerOptions,
    UsageError, WatchOptions,
};
use model::time::Timestamp;
use testkit::http::stand_in;

const TOKEN: &str = "ghp-s3cret-token";

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn environment(token: bool) -> factory::Environment {
    factory::Environment {
        github_token: token.then(|| TOKEN.to_owned()),
        ..factory::Environment::default()
    }
}

fn watch(now: &str, token: bool) -> WatchOptions {
    WatchOptions {
        now: at(now),
        commit: false,
        push: None,
        lock_timeout: Duration::from_secs(30),
        environment: environment(token),
    }
}

fn trigger(
    dir: &Path,
    now: &str,
    dry_run: bool,
    token: bool,
) -> Result<factory::TriggerReport, JobError> {
    let options = TriggerOptions {
        dry_run,
        limits: rebuild::dispatch::Limits {
            request_timeout: Duration::from_secs(5),
            max_attempts: 2,
            max_total: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(50),
        },
        watch: watch(now, token),
    };
    factory::trigger(&FactoryDir::load(dir), &options)
}

fn observe(dir: &Path, base: &str, fill: char, now: &str) {
    let options = ObserveOptions {
        base: base.to_owned(),
        digest: format!("sha256:{}", fill.to_string().repeat(64)),
        watch: watch(now, false),
    };
    factory::observe(&FactoryDir::load(dir), &options).unwrap();
}

#[test]
fn dispatch_record_hold_build_and_cascade() {
    // The stand-in answers with run details; the status of each answer is set by the test.
    let status = Arc::new(Mutex::new(200u16));
    let answer = Arc::clone(&status);
    let (port, seen) = stand_in(20, move |_, _, _| {
        let code = *answer.lock().unwrap();
        let body = if code == 200 {
            r#"{"workflow_run_id":7,"run_url":"https://api.github.com/repos/acme/base-images/actions/runs/7","html_url":"https://github.com/acme/base-images/actions/runs/7"}"#
        } else {
            r#"{"message":"Unexpected inputs provided: [\"base_images\"]"}"#
        };
        (
            code,
            vec![("Content-Type".into(), "application/json".into())],
            body.into(),
        )
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    testkit::copy_tree(&testkit::workspace_root().join("image-factory"), dir);
    testkit::github_api_at(dir, port);
    // node-base pins its bases into the `base_images` input.
    let images = fs::read_to_string(dir.join("images.yaml")).unwrap();
    fs::write(
        dir.join("images.yaml"),
        images.replacen(
            "    workflow: node-base.yml\n",
            "    workflow: node-base.yml\n    pinInput: base_images\n",
            1,
        ),
    )
    .unwrap();
    observe(dir, "node-22-bookworm-slim", 'a', "2026-02-01T00:00:00Z");
    observe(dir, "node-22-bookworm-slim", 'b', "2026-02-02T00:00:00Z");
    let digest_b = format!("sha256:{}", "b".repeat(64));

    // Not due yet (node-base waits 3 days): nothing sent, nothing written.
    let before = testkit::snapshot(dir);
    let report = trigger(dir, "2026-02-04T00:00:00Z", false, true).unwrap();
    assert!(report.dispatches.is_empty() && report.written.files_written.is_empty());
    assert_eq!(testkit::snapshot(dir), before);

    // A dry run shows the request, without the token, and sends and writes nothing.
    let report = trigger(dir, "2026-02-05T00:00:00Z", true, false).unwrap();
    assert_eq!(report.dispatches.len(), 1, "{report}");
    let shown = &report.dispatches[0].request;
    assert!(
        shown.contains("/repos/acme/base-images/actions/workflows/node-base.yml/dispatches"),
        "{shown}"
    );
    assert!(!shown.contains(TOKEN));
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(testkit::snapshot(dir), before);

    // Without a token: a usage error, nothing sent or written.
    let err = trigger(dir, "2026-02-05T00:00:00Z", false, false).unwrap_err();
    assert!(
        matches!(err, JobError::Usage(UsageError::Token(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("GITHUB_TOKEN"), "{err}");
    assert_eq!(testkit::snapshot(dir), before);

    // Due: one dispatch, exactly as GitHub documents it.
    let report = trigger(dir, "2026-02-05T00:00:00Z", false, true).unwrap();
    assert!(report.is_success(), "{report}");
    let sent = seen.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        "/repos/acme/base-images/actions/workflows/node-base.yml/dispatches"
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "ref": "main",
            "inputs": {"base_images": format!("node:22-bookworm-slim=docker-image://node@{digest_b}")},
            "return_run_details": true
        })
    );
    let state = testkit::snapshot(dir);
    let node_base = &state[Path::new("state/images/node-base.yaml")];
    assert!(node_base.contains("result: dispatched"), "{node_base}");
    assert!(
        node_base.contains("runUrl: https://github.com/acme/base-images/actions/runs/7"),
        "{node_base}"
    );
    assert!(node_base.contains("inFlight:"), "{node_base}");
    let audit = &state[Path::new("state/audit.jsonl")];
    assert_eq!(audit.lines().count(), 1);
    assert!(
        audit.contains(r#""event":"dispatch","image":"node-base""#),
        "{audit}"
    );
    for text in state.values() {
        assert!(!text.contains(TOKEN));
    }

    // In flight: the next tick sends nothing.
    let report = trigger(dir, "2026-02-05T00:15:00Z", false, true).unwrap();
    assert!(report.dispatches.is_empty(), "{report}");
    assert_eq!(seen.lock().unwrap().len(), 1);

    // The build is recorded: in flight closed, the covered entry in the history, and orders-api
    // (built FROM node-base) gets its cascade entry.
    let options = AnalyzeOptions {
        sources: Sources::Root(testkit::workspace_root().join("fixtures/sources")),
        images: vec!["node-base".to_owned()],
        build: Some(Build {
            tag: "1.0.1".to_owned(),
            digest: format!("sha256:{}", "c".repeat(64)),
        }),
        now: at("2026-02-05T01:00:00Z"),
        commit: false,
        push: None,
        lock_timeout: Duration::from_secs(30),
        environment: factory::Environment::default(),
    };
    factory::analyze(&FactoryDir::load(dir), &options).unwrap();
    let state = testkit::snapshot(dir);
    let node_base = &state[Path::new("state/images/node-base.yaml")];
    assert!(
        !node_base.contains("inFlight:") && node_base.contains("result: built"),
        "{node_base}"
    );
    assert!(state[Path::new("state/images/orders-api.yaml")].contains("base: node-base"));

    // orders-api is due at once (cascade delay 0); the stand-in now refuses: recorded, no retry.
    *status.lock().unwrap() = 422;
    let report = trigger(dir, "2026-02-05T02:00:00Z", false, true).unwrap();
    let orders = report
        .dispatches
        .iter()
        .find(|d| d.image == "orders-api")
        .unwrap();
    assert_eq!(orders.result, "rejected", "{report}");
    assert!(
        orders
            .message
            .as_deref()
            .unwrap()
            .contains("Unexpected inputs"),
        "{report}"
    );
    assert!(!report.is_success());
    let requests = seen.lock().unwrap().len();
    let report = trigger(dir, "2026-02-05T03:00:00Z", false, true).unwrap();
    assert!(
        report.dispatches.iter().all(|d| d.image != "orders-api"),
        "{report}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        requests - usize::from(false),
        "no retry loop"
    );
    let audit = &testkit::snapshot(dir)[Path::new("state/audit.jsonl")];
    assert!(
        audit
            .lines()
            .any(|l| l.contains(r#""image":"orders-api""#) && l.contains(r#""result":"rejected""#)),
        "{audit}"
    );
}

/// Another writer pushed a change to the same state file while `trigger` dispatched: the push is
/// rebased; the outcome ends up on the remote beside the other change, dispatched once.
#[test]
fn a_conflicting_push_keeps_both_changes_and_dispatches_once() {
    use testkit::git::{clone, git, remote};
    let (port, seen) = stand_in(10, |_, _, _| (204, vec![], String::new()));
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let a = clone(&bare, &tmp.path().join("a"));
    let dir_a = a.join("image-factory");
    testkit::github_api_at(&dir_a, port);
    observe(&dir_a, "node-22-bookworm-slim", 'a', "2026-02-01T00:00:00Z");
    observe(&dir_a, "node-22-bookworm-slim", 'b', "2026-02-02T00:00:00Z");
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "--quiet", "-m", "digests"]);
    git(&a, &["push", "--quiet", "origin", "main"]);
    let b = clone(&bare, &tmp.path().join("b"));
    // A records a newer digest and pushes first: node-base.yaml changes on the remote.
    observe(&dir_a, "node-22-bookworm-slim", 'c', "2026-02-04T00:00:00Z");
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "--quiet", "-m", "newer digest"]);
    git(&a, &["push", "--quiet", "origin", "main"]);
    // B triggers from its older clone.
    let mut watch = watch("2026-02-05T00:00:00Z", true);
    watch.commit = true;
    watch.push = Some(factory::PushOptions {
        remote: "origin".to_owned(),
        attempts: 5,
        backoff: Duration::from_millis(20),
    });
    watch.environment.author_override = Some("Factory Bot <bot@example.invalid>".to_owned());
    watch.environment.git_protocols = vec!["file".to_owned()];
    let options = TriggerOptions {
        dry_run: false,
        limits: rebuild::dispatch::Limits::default(),
        watch,
    };
    let report = factory::trigger(&FactoryDir::load(b.join("image-factory")), &options).unwrap();
    assert!(
        report.written.pushed && report.written.git_error.is_none(),
        "{report}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "dispatched once");
    let check = clone(&bare, &tmp.path().join("check"));
    let node_base =
        fs::read_to_string(check.join("image-factory/state/images/node-base.yaml")).unwrap();
    assert!(node_base.contains("result: dispatched"), "{node_base}");
    assert!(
        node_base.contains(&"c".repeat(64)),
        "the other writer's pending entry is kept: {node_base}"
    );
    let audit = fs::read_to_string(check.join("image-factory/state/audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 1, "{audit}");
}
