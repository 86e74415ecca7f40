//! The analyze job's git side through the library, against real repositories in temporary
//! directories: one commit per run (SPEC §11 #9, also as a property), two analyzers pushing at once
//! (one rebases, both land, one commit each), and a conflicting change re-applied on the fresh
//! state. A push that keeps failing and `--clone` stay whole-process tests in
//! `crates/analyzer/tests/analyze_git.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use std::time::Duration;

use factory::{
    AnalyzeOptions, AnalyzeReport, Build, Environment, FactoryDir, PushOptions, Sources,
};
use model::time::Timestamp;
use proptest::prelude::*;
use testkit::git::{clone, git, remote};

fn root() -> PathBuf {
    testkit::workspace_root()
}

/// Options of a run in the clone `work`: a build of `image` when given, else a plain analysis.
fn options(build: Option<(&str, &str, &str)>, push: bool) -> AnalyzeOptions {
    let (images, build) = match build {
        Some((image, tag, byte)) => (
            vec![image.to_owned()],
            Some(Build {
                tag: tag.to_owned(),
                digest: format!("sha256:{}", byte.repeat(32)),
            }),
        ),
        None => (Vec::new(), None),
    };
    AnalyzeOptions {
        sources: Sources::Root(root().join("fixtures/sources")),
        images,
        build,
        now: Timestamp::parse("2026-01-02T00:00:00Z").unwrap(),
        commit: true,
        push: push.then(|| PushOptions {
            remote: "origin".to_owned(),
            attempts: 5,
            backoff: Duration::from_millis(20),
        }),
        lock_timeout: Duration::from_secs(60),
        environment: Environment {
            author_override: Some("Factory Bot <bot@example.invalid>".to_owned()),
            // The remotes are local bare repositories: opt into the `file` transport.
            git_protocols: vec!["file".to_owned()],
            ..Environment::default()
        },
    }
}

fn analyze(work: &Path, options: &AnalyzeOptions) -> AnalyzeReport {
    let report = factory::analyze(&FactoryDir::load(work.join("image-factory")), options).unwrap();
    assert!(report.is_success(), "{report:?}");
    report
}

fn commits(repo: &Path, rev: &str) -> usize {
    git(repo, &["rev-list", "--count", rev]).parse().unwrap()
}

#[test]
fn one_commit_per_run_and_none_without_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    let with_commit = options(Some(("node-base", "1.0.1", "11")), false);
    let report = analyze(&work, &with_commit);
    assert_eq!(commits(&work, "HEAD"), 2);
    assert_eq!(
        report.commit.as_deref(),
        Some(git(&work, &["rev-parse", "HEAD"]).as_str())
    );
    let log = git(&work, &["log", "-1", "--format=%an <%ae>%n%B"]);
    assert!(
        log.starts_with("Factory Bot <bot@example.invalid>"),
        "{log}"
    );
    // The build, and its cascade to orders-api (built FROM node-base).
    assert!(log.contains("image-factory: analyze 2 image(s)"), "{log}");
    assert!(
        log.contains("Images: node-base, orders-api")
            && log.contains("recorded build node-base 1.0.1")
            && log.contains("orders-api: rebuild pending on node-base"),
        "{log}"
    );
    // Nothing changed: no commit.
    let report = analyze(&work, &with_commit);
    assert_eq!(commits(&work, "HEAD"), 2);
    assert_eq!(report.commit, None);
}

#[test]
fn two_analyzers_pushing_at_once_both_land() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let a = clone(&bare, &tmp.path().join("a"));
    let b = clone(&bare, &tmp.path().join("b"));
    let late = clone(&bare, &tmp.path().join("late"));
    std::thread::scope(|scope| {
        for (work, image, byte) in [(&a, "node-base", "aa"), (&b, "backstage", "bb")] {
            scope.spawn(move || analyze(work, &options(Some((image, "2.0.0", byte)), true)));
        }
    });
    // A third analyzer whose clone is now stale: its push is rejected, it rebases and lands.
    let report = analyze(&late, &options(Some(("reports", "2.0.0", "cc")), true));
    assert!(report.pushed);
    let check = clone(&bare, &tmp.path().join("check"));
    assert_eq!(commits(&check, "HEAD"), 4, "seed + exactly one commit each");
    for image in ["node-base", "backstage", "reports"] {
        let text =
            fs::read_to_string(check.join(format!("image-factory/state/images/{image}.yaml")))
                .unwrap();
        assert!(
            text.contains("currentVersion: \"2.0.0\""),
            "{image}: {text}"
        );
    }
}

#[test]
fn conflicting_changes_are_reapplied_on_the_fresh_state() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let a = clone(&bare, &tmp.path().join("a"));
    let b = clone(&bare, &tmp.path().join("b"));
    // A pushes first; B (cloned before) changes the same file and must re-apply its change.
    analyze(&a, &options(Some(("uv", "1.0.0", "01")), true));
    let mut later = options(Some(("uv", "1.0.1", "02")), true);
    later.now = Timestamp::parse("2026-01-03T00:00:00Z").unwrap();
    let report = analyze(&b, &later);
    assert!(report.pushed && report.git_error.is_none(), "{report:?}");
    let check = clone(&bare, &tmp.path().join("check"));
    assert_eq!(commits(&check, "HEAD"), 3);
    assert_eq!(
        report.commit.as_deref(),
        Some(git(&check, &["rev-parse", "HEAD"]).as_str())
    );
    let uv = fs::read_to_string(check.join("image-factory/state/images/uv.yaml")).unwrap();
    assert!(uv.contains("currentVersion: \"1.0.1\""), "{uv}");
    assert!(
        uv.contains("version: \"1.0.0\""),
        "both builds in the history: {uv}"
    );
    let log = git(&check, &["log", "-1", "--format=%B"]);
    assert!(
        log.contains("recorded build uv 1.0.1"),
        "the re-applied commit: {log}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// #9: every analyzer run with a commit makes exactly one commit when it changed state files
    /// and none otherwise.
    #[test]
    fn p9_one_commit_per_analyzer_run(steps in prop::collection::vec((0usize..4, any::<bool>()), 1..5)) {
        let tmp = tempfile::tempdir().unwrap();
        let bare = remote(tmp.path());
        let work = clone(&bare, &tmp.path().join("work"));
        let images = ["node-base", "backstage", "uv", "reports"];
        for (n, (which, build)) in steps.into_iter().enumerate() {
            let before = commits(&work, "HEAD");
            let tag = format!("1.{}.0", n % 2);
            let byte = format!("{which:02x}");
            let mut options = options(build.then_some((images[which], tag.as_str(), byte.as_str())), false);
            if !build {
                options.now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
            }
            let report = analyze(&work, &options);
            let changed = report.bytes_written > 0 || !report.files_removed.is_empty();
            prop_assert_eq!(commits(&work, "HEAD"), before + usize::from(changed));
            prop_assert_eq!(report.commit.is_some(), changed);
            prop_assert_eq!(git(&work, &["status", "--porcelain"]), "");
        }
    }
}
