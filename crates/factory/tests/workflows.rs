//! `synth --workflows` through the job layer, on copies of the example factory dir: the generated
//! workflow accepts exactly what `analyzer trigger` sends (checked against a 127.0.0.1 stand-in
//! for GitHub's dispatch API), a rerun writes nothing, drift and stale files are found by the check
//! and fixed by a write (only marked files are removed); `local` blocks are validated against the
//! factory dir, and an image with `local.dockerfile` is analysed from it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use factory::{AnalyzeOptions, FactoryDir, ObserveOptions, Sources, TriggerOptions, WatchOptions};
use model::time::Timestamp;
use testkit::http::stand_in;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn watch(now: &str) -> WatchOptions {
    WatchOptions {
        now: at(now),
        commit: false,
        push: None,
        lock_timeout: Duration::from_secs(30),
        environment: factory::Environment {
            github_token: Some("t0ken".to_owned()),
            ..factory::Environment::default()
        },
    }
}

fn example() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    testkit::copy_tree(&testkit::workspace_root().join("image-factory"), tmp.path());
    tmp
}

fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn trigger_dispatches_the_generated_workflow_with_inputs_it_declares() {
    let (port, seen) = stand_in(20, |_, _, _| {
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            r#"{"workflow_run_id":1,"run_url":"https://api.github.com/x","html_url":"https://github.com/x"}"#.into(),
        )
    });
    let tmp = example();
    let dir = tmp.path();
    testkit::github_api_at(dir, port);
    // `reports` (no source.workflow) is rebuilt without a human for this test.
    let images = fs::read_to_string(dir.join("images.yaml")).unwrap();
    let images = images.replacen("  autoRebuild: false\n  priority: low\n", "", 1);
    fs::write(dir.join("images.yaml"), images).unwrap();
    for (fill, now) in [('a', "2026-02-01T00:00:00Z"), ('b', "2026-02-02T00:00:00Z")] {
        let options = ObserveOptions {
            base: "python-3-12-slim".to_owned(),
            digest: format!("sha256:{}", fill.to_string().repeat(64)),
            watch: watch(now),
        };
        factory::observe(&FactoryDir::load(dir), &options).unwrap();
    }
    let options = TriggerOptions {
        dry_run: false,
        limits: rebuild::dispatch::Limits {
            request_timeout: Duration::from_secs(5),
            max_attempts: 1,
            max_total: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(50),
        },
        watch: watch("2026-02-20T00:00:00Z"),
    };
    let report = factory::trigger(&FactoryDir::load(dir), &options).unwrap();
    assert!(report.is_success(), "{report}");

    let sent = seen.lock().unwrap().clone();
    let to_reports: Vec<_> = sent
        .iter()
        .filter(|s| s.path.contains("build-reports"))
        .collect();
    assert_eq!(to_reports.len(), 1, "{sent:#?}");
    // The state repository (stateRepo.url), on stateRepo.branch, the generated file's name.
    assert_eq!(
        to_reports[0].path,
        "/repos/acme/image-factory/actions/workflows/build-reports.yml/dispatches"
    );
    let body: serde_json::Value = serde_json::from_str(&to_reports[0].body).unwrap();
    assert_eq!(body["ref"], "main");
    let sent_inputs: BTreeSet<String> = body["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(sent_inputs, BTreeSet::from(["base_images".to_owned()]));
    let pins = body["inputs"]["base_images"].as_str().unwrap();
    let digest_b = "b".repeat(64);
    assert!(
        pins.lines()
            .any(|l| l == format!("python:3.12-slim=docker-image://python@sha256:{digest_b}")),
        "{pins}"
    );

    // The generated workflow declares every input sent and requires none that is not sent.
    let out = tempfile::tempdir().unwrap();
    factory::write_workflows(&FactoryDir::load(dir), out.path(), false).unwrap();
    let text = fs::read_to_string(out.path().join(".github/workflows/build-reports.yml")).unwrap();
    let workflow = yaml(&text);
    let declared = workflow["on"]["workflow_dispatch"]["inputs"]
        .as_object()
        .unwrap();
    for input in &sent_inputs {
        assert!(declared.contains_key(input), "`{input}` not declared");
    }
    for (name, spec) in declared {
        assert!(
            sent_inputs.contains(name) || spec["required"] == false,
            "`{name}` is required but never sent"
        );
    }
    // ... and builds exactly the pins it is sent.
    let build = workflow["jobs"]["build"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "build")
        .unwrap();
    assert_eq!(build["with"]["build-contexts"], "${{ inputs.base_images }}");
}

#[test]
fn rerun_writes_nothing_check_finds_drift_and_stale_files_only_marked_ones_go() {
    let tmp = example();
    let dir = FactoryDir::load(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let out = out.path();

    // Nothing there yet: the check reports every file and writes none.
    let check = factory::write_workflows(&dir, out, true).unwrap();
    assert!(!check.is_up_to_date());
    assert_eq!(check.written, check.generated);
    assert!(!out.join(".github").exists());

    let first = factory::write_workflows(&dir, out, false).unwrap();
    assert!(
        first
            .generated
            .contains(&".github/workflows/build-reports.yml".to_owned()),
        "{first:?}"
    );
    assert!(
        first
            .generated
            .contains(&".gitlab/build-billing-worker.yml".to_owned())
            || !first.generated.iter().any(|p| p.starts_with(".gitlab/")),
        "{first:?}"
    );
    let before = testkit::snapshot(out);
    let again = factory::write_workflows(&dir, out, false).unwrap();
    assert!(again.is_up_to_date(), "{again:?}");
    assert_eq!(
        testkit::snapshot(out),
        before,
        "an unchanged run writes nothing"
    );
    assert!(
        factory::write_workflows(&dir, out, true)
            .unwrap()
            .is_up_to_date()
    );

    // A hand edit is drift; a stale generated file is removed, a hand-written one never.
    let reports = out.join(".github/workflows/build-reports.yml");
    fs::write(
        &reports,
        fs::read_to_string(&reports).unwrap() + "# edited\n",
    )
    .unwrap();
    let stale = out.join(".github/workflows/build-gone.yml");
    fs::write(&stale, fs::read_to_string(&reports).unwrap()).unwrap();
    let hand = out.join(".github/workflows/build-mine.yml");
    fs::write(&hand, "name: mine\non: push\njobs: {}\n").unwrap();
    let check = factory::write_workflows(&dir, out, true).unwrap();
    assert_eq!(check.written, [".github/workflows/build-reports.yml"]);
    assert_eq!(check.removed, [".github/workflows/build-gone.yml"]);
    assert!(stale.exists(), "check removes nothing");
    let fixed = factory::write_workflows(&dir, out, false).unwrap();
    assert_eq!(fixed.removed, [".github/workflows/build-gone.yml"]);
    assert!(!stale.exists());
    assert!(hand.exists(), "a file without the mark is not ours");
    assert_eq!(
        testkit::snapshot(out)[Path::new(".github/workflows/build-reports.yml")],
        before[Path::new(".github/workflows/build-reports.yml")]
    );
}

#[test]
fn missing_local_files_are_configuration_errors_at_their_line() {
    let tmp = example();
    fs::remove_file(tmp.path().join("local/reports/pyarrow.patch")).unwrap();
    let dir = FactoryDir::load(tmp.path());
    let validation = factory::validate(&dir);
    assert_eq!(validation.errors, 1, "{:?}", validation.diagnostics);
    let error = validation
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .unwrap();
    let images = fs::read_to_string(tmp.path().join("images.yaml")).unwrap();
    let line = images
        .lines()
        .position(|l| l.trim() == "- pyarrow.patch")
        .unwrap()
        + 1;
    assert_eq!((error.line, error.column), (line, 9), "{error:?}");
    assert!(
        error.message.contains("local/reports/pyarrow.patch"),
        "{error:?}"
    );
    assert!(error.hint.is_some());
    // Every job refuses the dir, and nothing is written.
    let out = tempfile::tempdir().unwrap();
    assert!(factory::write_workflows(&dir, out.path(), false).is_err());
    assert!(fs::read_dir(out.path()).unwrap().next().is_none());
}

#[test]
fn an_image_with_local_dockerfile_is_analysed_from_the_factory_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("images.yaml"),
        "- name: uv\n  repository: acme/uv\n  source:\n    repo: astral-sh/uv\n    buildArgs: {ALPINE: \"3.20\"}\n  local:\n    dir: local/uv\n    dockerfile: Dockerfile\n",
    )
    .unwrap();
    fs::create_dir_all(dir.join("local/uv")).unwrap();
    fs::write(
        dir.join("local/uv/Dockerfile"),
        "ARG ALPINE=3.19\nFROM alpine:${ALPINE}\nCOPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/uv\n",
    )
    .unwrap();
    // The source root has no astral-sh/uv at all: the Dockerfile must come from the factory dir.
    let sources = tempfile::tempdir().unwrap();
    let options = AnalyzeOptions {
        sources: Sources::Root(sources.path().to_path_buf()),
        images: Vec::new(),
        build: None,
        now: at("2026-01-01T00:00:00Z"),
        commit: false,
        push: None,
        lock_timeout: Duration::from_secs(30),
        environment: factory::Environment::default(),
    };
    let report = factory::analyze(&FactoryDir::load(dir), &options).unwrap();
    assert!(report.is_success(), "{report:?}");
    let state = fs::read_to_string(dir.join("state/images/uv.yaml")).unwrap();
    assert!(state.contains("- alpine-3-20"), "{state}");
    assert!(state.contains("dockerfile: local/uv/Dockerfile"), "{state}");
    assert!(state.contains("ghcr.io/astral-sh/uv:0.5"), "{state}");

    // Without the file: the configuration is refused at the line of `dockerfile`.
    fs::remove_file(dir.join("local/uv/Dockerfile")).unwrap();
    let dir = FactoryDir::load(dir);
    let errors: Vec<_> = dir.diagnostics().iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 8);
}

#[test]
fn the_example_patches_apply_to_the_example_sources() {
    // What the generated workflow runs: `git apply` of each patch in the upstream checkout.
    let images =
        fs::read_to_string(testkit::workspace_root().join("image-factory/images.yaml")).unwrap();
    let files = model::enrollment::local_files(&images);
    let patches: Vec<_> = files.iter().filter(|f| f.key == "patchFiles").collect();
    assert!(!patches.is_empty(), "the example exercises patchFiles");
    for patch in patches {
        let checkout = tempfile::tempdir().unwrap();
        let source = testkit::workspace_root()
            .join("fixtures/sources/acme")
            .join(&patch.image);
        testkit::copy_tree(&source, checkout.path());
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(checkout.path())
                .output()
                .unwrap()
        };
        assert!(git(&["init", "-q"]).status.success());
        let path = testkit::workspace_root()
            .join("image-factory")
            .join(&patch.path);
        let applied = git(&["apply", "--verbose", path.to_str().unwrap()]);
        assert!(
            applied.status.success(),
            "{}",
            String::from_utf8_lossy(&applied.stderr)
        );
    }
}
