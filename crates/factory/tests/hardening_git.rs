//! Issue 9's git classes, against real bare repositories in temporary directories (and, for
//! credentials, a real HTTP git server on 127.0.0.1 that requires Basic auth):
//! - #5 lost work: a dirty tree outside `state/` refuses `--commit` before anything is written;
//!   earlier unpushed local commits survive a conflicting rebase, or the run stops with an error
//!   and everything as it was; uncommitted changes at retry time stop the retry;
//! - #6 big commits: 10,000 images committed in one run, a message far over the argument limit,
//!   and state left uncommitted by an earlier run committed by the next;
//! - #7 option injection: hostile branches, remotes and URLs reach git without running anything;
//!   transports outside https/ssh need an opt-in, `ext::` never runs;
//! - #8 the report after a re-application describes what was committed and pushed;
//! - #10 credentials in a clone URL never reach the state files or the report;
//! - #11 `GIT_USERNAME`/`GIT_PASSWORD` reach a push through the askpass helper.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use factory::{
    AnalyzeOptions, AnalyzeReport, Build, Environment, FactoryDir, JobError, PushOptions, Sources,
};
use model::time::Timestamp;
use state::git::{Access, GitError, Repo, RetryPolicy};
use testkit::git::{base64, clone, git, remote};

fn root() -> PathBuf {
    testkit::workspace_root()
}

/// A run recording a build of `image` (`byte` makes the digest), committed, pushed when asked.
fn options(image: &str, tag: &str, byte: &str, push: bool) -> AnalyzeOptions {
    AnalyzeOptions {
        sources: Sources::Root(root().join("fixtures/sources")),
        images: vec![image.to_owned()],
        build: Some(Build {
            tag: tag.to_owned(),
            digest: format!("sha256:{}", byte.repeat(32)),
        }),
        now: Timestamp::parse("2026-01-02T00:00:00Z").unwrap(),
        commit: true,
        push: push.then(|| PushOptions {
            remote: "origin".to_owned(),
            attempts: 3,
            backoff: Duration::from_millis(10),
        }),
        lock_timeout: Duration::from_secs(60),
        environment: Environment {
            author_override: Some("Factory Bot <bot@example.invalid>".to_owned()),
            git_protocols: vec!["file".to_owned()],
            ..Environment::default()
        },
    }
}

fn run(work: &Path, options: &AnalyzeOptions) -> Result<AnalyzeReport, JobError> {
    factory::analyze(&FactoryDir::load(work.join("image-factory")), options)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

const UV: &str = "image-factory/state/images/uv.yaml";

// ---------------------------------------------------------------------------------------------
// #5 lost work

#[test]
fn a_dirty_tree_outside_state_refuses_commit_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    // An operator's uncommitted edit, an unrelated staged file and an untracked one.
    fs::write(work.join("notes.txt"), "half-written edit\n").unwrap();
    fs::write(work.join("staged.txt"), "staged\n").unwrap();
    git(&work, &["add", "staged.txt"]);
    fs::write(work.join("image-factory/scratch.txt"), "untracked\n").unwrap();
    let head = git(&work, &["rev-parse", "HEAD"]);
    let uv = read(&work.join(UV));

    let err = run(&work, &options("uv", "1.0.0", "01", true)).unwrap_err();
    assert!(matches!(err, JobError::DirtyWorkTree { .. }), "{err}");
    assert!(err.is_usage_error());
    let message = err.to_string();
    for path in ["notes.txt", "staged.txt", "image-factory/scratch.txt"] {
        assert!(message.contains(path), "{message}");
    }
    assert!(message.contains("nothing written"), "{message}");
    // Nothing written, nothing committed, the operator's work untouched.
    assert_eq!(read(&work.join(UV)), uv);
    assert_eq!(git(&work, &["rev-parse", "HEAD"]), head);
    assert_eq!(read(&work.join("notes.txt")), "half-written edit\n");
    assert_eq!(
        git(&work, &["diff", "--cached", "--name-only"]),
        "staged.txt"
    );

    // Uncommitted changes inside state/ are the analyzer's own: they are committed.
    fs::write(work.join("notes.txt"), "operator notes\n").unwrap();
    git(&work, &["rm", "--quiet", "--cached", "staged.txt"]);
    fs::remove_file(work.join("staged.txt")).unwrap();
    fs::remove_file(work.join("image-factory/scratch.txt")).unwrap();
    let node = work.join("image-factory/state/images/node-base.yaml");
    fs::write(&node, format!("# reviewed\n{}", read(&node))).unwrap();
    let report = run(&work, &options("uv", "1.0.0", "01", false)).unwrap();
    assert!(report.commit.is_some(), "{report:?}");
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    let files = git(&work, &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        files.contains("node-base.yaml") && files.contains("uv.yaml"),
        "{files}"
    );
}

/// Makes the remote's `uv.yaml` differ from every clone's: a build pushed from another clone.
fn concurrent_build_of_uv(bare: &Path, tmp: &Path) {
    let other = clone(bare, &tmp.join("other"));
    let report = run(&other, &options("uv", "1.0.0", "01", true)).unwrap();
    assert!(report.pushed, "{report:?}");
}

#[test]
fn an_earlier_unpushed_local_commit_survives_a_conflicting_rebase() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    // The operator's earlier commit, not pushed yet, touching nothing the remote touches.
    fs::write(work.join("notes.txt"), "operator notes\nmore\n").unwrap();
    git(&work, &["commit", "--quiet", "-am", "operator: notes"]);
    concurrent_build_of_uv(&bare, tmp.path());

    let mut later = options("uv", "1.0.1", "02", true);
    later.now = Timestamp::parse("2026-01-03T00:00:00Z").unwrap();
    let report = run(&work, &later).unwrap();
    assert!(report.is_success() && report.pushed, "{report:?}");
    // Remote: seed, the other build, the operator's commit (rebased), our re-made commit.
    let check = clone(&bare, &tmp.path().join("check"));
    assert_eq!(git(&check, &["rev-list", "--count", "HEAD"]), "4");
    assert_eq!(read(&check.join("notes.txt")), "operator notes\nmore\n");
    assert_eq!(
        git(&check, &["log", "-1", "--format=%s", "HEAD^"]),
        "operator: notes"
    );
    assert_eq!(
        report.commit.as_deref(),
        Some(git(&check, &["rev-parse", "HEAD"]).as_str())
    );
    let uv = read(&check.join(UV));
    assert!(uv.contains("version: \"1.0.0\"") && uv.contains("currentVersion: \"1.0.1\""));
}

#[test]
fn conflicting_local_commits_stop_with_everything_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    // The operator's unpushed commit conflicts with one pushed meanwhile to the remote.
    fs::write(work.join("notes.txt"), "mine\n").unwrap();
    git(&work, &["commit", "--quiet", "-am", "operator: mine"]);
    let theirs = clone(&bare, &tmp.path().join("theirs"));
    fs::write(theirs.join("notes.txt"), "theirs\n").unwrap();
    git(&theirs, &["commit", "--quiet", "-am", "someone: theirs"]);
    git(&theirs, &["push", "--quiet", "origin", "main"]);
    let remote_head = git(&bare, &["rev-parse", "main"]);

    let report = run(&work, &options("uv", "1.0.1", "02", true)).unwrap();
    let error = report.git_error.clone().expect("the push must fail");
    assert!(!report.is_success() && !report.pushed);
    assert!(
        error.contains("local commits not made by this run conflict"),
        "{error}"
    );
    // Nothing discarded: our commit on top of the operator's, the tree clean, the remote as is.
    let head = git(&work, &["rev-parse", "HEAD"]);
    assert_eq!(report.commit.as_deref(), Some(head.as_str()));
    assert_eq!(
        git(&work, &["log", "-1", "--format=%s", "HEAD^"]),
        "operator: mine"
    );
    assert_eq!(read(&work.join("notes.txt")), "mine\n");
    assert!(read(&work.join(UV)).contains("currentVersion: \"1.0.1\""));
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    assert_eq!(git(&bare, &["rev-parse", "main"]), remote_head);
}

#[test]
fn uncommitted_changes_at_retry_time_stop_the_retry_without_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    concurrent_build_of_uv(&bare, tmp.path());
    // Our commit, then an edit made while the push is being retried.
    fs::write(work.join(UV), format!("{}# ours\n", read(&work.join(UV)))).unwrap();
    git(&work, &["commit", "--quiet", "-am", "ours"]);
    let ours = git(&work, &["rev-parse", "HEAD"]);
    fs::write(work.join("notes.txt"), "edited during the push\n").unwrap();
    let repo = Repo::discover(&work).unwrap().with_access(Access {
        extra_protocols: vec!["file".to_owned()],
        credentials: None,
    });
    let policy = RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
    };
    let mut reapplied = false;
    let err = state::git::push_with_retry(
        &repo,
        "origin",
        "main",
        policy,
        Some(ours.clone()),
        &mut |_| {
            reapplied = true;
            Ok(None)
        },
    )
    .unwrap_err();
    assert!(matches!(err, GitError::DirtyWorkTree { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert!(!reapplied);
    assert_eq!(git(&work, &["rev-parse", "HEAD"]), ours);
    assert_eq!(read(&work.join("notes.txt")), "edited during the push\n");
}

// ---------------------------------------------------------------------------------------------
// #6 big commits

/// A factory dir in a fresh repository: `n` managed images sharing one source Dockerfile.
fn fleet(tmp: &Path, n: usize) -> (PathBuf, PathBuf) {
    let work = tmp.join("fleet");
    let dir = work.join("image-factory");
    fs::create_dir_all(&dir).unwrap();
    let mut yaml = String::with_capacity(n * 80);
    for i in 0..n {
        yaml.push_str(&format!(
            "- name: svc-{i:05}\n  repository: acme/svc-{i:05}\n  source: {{repo: acme/mono}}\n"
        ));
    }
    fs::write(dir.join("images.yaml"), yaml).unwrap();
    let sources = tmp.join("sources");
    fs::create_dir_all(sources.join("acme/mono")).unwrap();
    fs::write(
        sources.join("acme/mono/Dockerfile"),
        "FROM alpine:3.20\nRUN true\n",
    )
    .unwrap();
    git(&work, &["init", "--quiet", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "enrol"]);
    (work, sources)
}

#[test]
fn ten_thousand_images_are_committed_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, sources) = fleet(tmp.path(), 10_000);
    let mut options = options("svc-00000", "1", "00", false);
    options.images.clear();
    options.build = None;
    options.sources = Sources::Root(sources);
    let started = Instant::now();
    let report = run(&work, &options).unwrap();
    let elapsed = started.elapsed();
    assert!(report.is_success(), "{:?}", report.git_error);
    assert_eq!(
        report.files_written.len(),
        10_001,
        "10,000 images and a base"
    );
    assert_eq!(
        report.commit.as_deref(),
        Some(git(&work, &["rev-parse", "HEAD"]).as_str())
    );
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"]), "2");
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    let files = git(&work, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.lines().count(), 10_001);
    let message = git(&work, &["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("image-factory: analyze 10000 image(s), bases +1 -0"),
        "{message}"
    );
    assert!(message.contains("svc-00019 … and 9980 more"), "{message}");
    assert!(message.contains("- … and 9950 more"), "{message}");
    assert!(
        message.len() < 10_000,
        "summarised: {} bytes",
        message.len()
    );
    // Timing of the whole run (analysis, 10,001 files written, staged and committed).
    let _ = writeln!(
        std::io::stderr(),
        "10,000-image run with commit: {elapsed:?}"
    );
}

#[test]
fn a_message_far_over_the_argument_limit_is_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    fs::create_dir_all(work.join("state")).unwrap();
    git(&work, &["init", "--quiet", "-b", "main"]);
    fs::write(work.join("state/a.yaml"), "a: 1\n").unwrap();
    // 4 MB: over Linux's 2 MB argument limit (and 128 KB per argument) many times.
    let message: String = (0..100_000)
        .map(|i| format!("line {i:06} of a long message\n"))
        .collect();
    let repo = Repo::discover(&work).unwrap();
    let commit = repo
        .commit_all(
            &work.join("state"),
            &message,
            &state::git::Author::default(),
        )
        .unwrap();
    assert!(commit.is_some());
    assert_eq!(git(&work, &["log", "-1", "--format=%B"]), message.trim());
}

#[test]
fn state_an_earlier_run_left_uncommitted_is_committed_by_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    // The earlier run wrote its files but did not commit them (its commit failed).
    let mut first = options("uv", "1.0.0", "01", false);
    first.commit = false;
    run(&work, &first).unwrap();
    assert!(!git(&work, &["status", "--porcelain"]).is_empty());
    // This run changes nothing itself, and still commits and pushes what is there.
    let mut again = options("uv", "1.0.0", "01", true);
    again.build = None;
    let report = run(&work, &again).unwrap();
    assert!(report.files_written.is_empty(), "{report:?}");
    assert!(report.commit.is_some() && report.pushed, "{report:?}");
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    let message = git(&bare, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains("Also commits 1 state file(s) an earlier run left uncommitted."),
        "{message}"
    );
    let uv = git(&bare, &["show", &format!("main:{UV}")]);
    assert!(uv.contains("currentVersion: \"1.0.0\""), "{uv}");
}

// ---------------------------------------------------------------------------------------------
// #7 option injection and transports

#[test]
fn hostile_branches_remotes_and_urls_never_run_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    let marker = tmp.path().join("marker");
    let payload = |option: &str| format!("--{option}=touch {};git-{option}", marker.display());
    // The payload is live: passed the way the old code passed a branch, git runs it.
    Command::new("git")
        .arg("-C")
        .arg(&work)
        .args(["fetch", "--quiet", "origin", &payload("upload-pack")])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(marker.exists(), "the control payload must run");
    fs::remove_file(&marker).unwrap();

    let access = Access {
        extra_protocols: vec!["file".to_owned(), "ext".to_owned()],
        credentials: None,
    };
    let repo = Repo::discover(&work).unwrap().with_access(access.clone());
    let branch = payload("upload-pack");
    assert!(matches!(
        repo.fetch("origin", &branch),
        Err(GitError::InvalidBranch { .. })
    ));
    assert!(matches!(
        repo.push("origin", &payload("receive-pack")),
        Err(GitError::InvalidBranch { .. })
    ));
    // A hostile remote is a positional after `--`: a repository that does not exist.
    assert!(repo.fetch(&payload("upload-pack"), "main").is_err());
    assert!(repo.push(&payload("receive-pack"), "main").is_err());
    let dest = tmp.path().join("clone");
    for url in [
        payload("upload-pack"),
        format!("ext::sh -c touch% {}", marker.display()),
    ] {
        assert!(state::git::shallow_clone(&url, "main", &dest, &access).is_err());
    }
    assert!(state::git::shallow_clone(bare.to_str().unwrap(), &branch, &dest, &access).is_err());
    assert!(!marker.exists(), "nothing ran");
}

#[test]
fn local_transports_need_an_opt_in() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let url = format!("file://{}", bare.display());
    let dest = tmp.path().join("a");
    let err = state::git::shallow_clone(&url, "main", &dest, &Access::default()).unwrap_err();
    assert!(
        err.to_string().contains("transport 'file' not allowed"),
        "{err}"
    );
    let err = state::git::shallow_clone(bare.to_str().unwrap(), "main", &dest, &Access::default())
        .unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    let opt_in = Access {
        extra_protocols: vec!["file".to_owned()],
        credentials: None,
    };
    state::git::shallow_clone(&url, "main", &dest, &opt_in).unwrap();
    assert!(dest.join("notes.txt").exists());
}

// ---------------------------------------------------------------------------------------------
// #8 the report after a re-application

#[test]
fn the_report_after_a_reapplication_describes_what_was_pushed() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let work = clone(&bare, &tmp.path().join("work"));
    concurrent_build_of_uv(&bare, tmp.path());
    let mut later = options("uv", "1.0.1", "02", true);
    later.now = Timestamp::parse("2026-01-03T00:00:00Z").unwrap();
    // What the discarded attempt would write: the same build on the stale state.
    let stale = clone(&bare, &tmp.path().join("stale"));
    git(&stale, &["reset", "--quiet", "--hard", "HEAD^"]);
    let mut alone = later.clone();
    alone.push = None;
    let discarded = run(&stale, &alone).unwrap();

    let report = run(&work, &later).unwrap();
    assert!(report.pushed && report.is_success(), "{report:?}");
    let check = clone(&bare, &tmp.path().join("check"));
    let pushed = git(&check, &["rev-parse", "HEAD"]);
    assert_eq!(report.commit.as_deref(), Some(pushed.as_str()));
    // The files and bytes reported are those of the pushed commit.
    let changed = git(
        &check,
        &["diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD"],
    );
    let mut reported: Vec<String> = report
        .files_written
        .iter()
        .map(|f| format!("image-factory/{f}"))
        .collect();
    reported.sort();
    assert_eq!(changed.lines().collect::<Vec<_>>(), reported);
    let uv = read(&check.join(UV));
    assert_eq!(report.bytes_written, uv.len());
    assert_ne!(
        report.bytes_written, discarded.bytes_written,
        "the discarded attempt's file lacked the other build"
    );
}

// ---------------------------------------------------------------------------------------------
// #10 credentials in URLs

#[test]
fn credentials_in_a_clone_url_never_reach_state_or_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("factory");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("images.yaml"),
        "- name: web\n  repository: acme/web\n  source: {repo: acme/web}\n",
    )
    .unwrap();
    // A port nobody listens on: the clone fails and git echoes the URL in its error.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = options("web", "1", "00", false);
    options.commit = false;
    options.build = None;
    options.images.clear();
    options.sources = Sources::Clone {
        url_base: Some(format!("https://user:secret@127.0.0.1:{port}")),
    };
    let report = factory::analyze(&FactoryDir::load(&dir), &options).unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let error = &report.failed[0].error;
    assert!(error.contains("***@127.0.0.1"), "{error}");
    let state = read(&dir.join("state/images/web.yaml"));
    assert!(state.contains("***@127.0.0.1"), "{state}");
    let everything = format!("{report:?}{state}");
    assert!(!everything.contains("secret"), "{everything}");
}

// ---------------------------------------------------------------------------------------------
// #11 credentials from GIT_USERNAME / GIT_PASSWORD through askpass

#[test]
fn git_username_and_password_reach_a_push_through_askpass() {
    assert_eq!(base64(b"bot:pw"), "Ym90OnB3");
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    git(&bare, &["config", "http.receivepack", "true"]);
    let port = testkit::git::http_server(tmp.path(), "bot", "s3cret-pw");
    let url = format!("http://127.0.0.1:{port}/remote.git");
    let with = |name: &str, password: &str, byte: &str| {
        let work = clone(&bare, &tmp.path().join(name));
        git(&work, &["remote", "set-url", "origin", &url]);
        let mut options = options("uv", "1.0.0", byte, true);
        options.environment.git_protocols = vec!["http".to_owned()];
        options.environment.git_credentials = Some(state::git::Credentials {
            username: "bot".to_owned(),
            password: password.to_owned(),
        });
        run(&work, &options).unwrap()
    };

    let wrong = with("wrong", "wrong-pw", "01");
    let error = wrong.git_error.clone().expect("wrong credentials fail");
    assert!(!wrong.pushed);
    assert!(error.contains("Authentication failed"), "{error}");
    assert!(!format!("{wrong:?}").contains("wrong-pw"), "{error}");
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "1");

    let right = with("right", "s3cret-pw", "02");
    assert!(right.pushed && right.is_success(), "{right:?}");
    assert_eq!(
        right.commit.as_deref(),
        Some(git(&bare, &["rev-parse", "main"]).as_str())
    );
    assert!(!format!("{right:?}").contains("s3cret-pw"));
}

/// The `clone-state` init container of the generated analysis Job, run as the cluster would run
/// it (its command, arguments and environment, the Secret's values filled in) against a state
/// repository behind Basic auth: git reads no `GIT_USERNAME`/`GIT_PASSWORD` itself, so the Job
/// hands them over through the credential helper it configures.
#[test]
fn the_generated_clone_state_container_clones_with_the_secrets_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = remote(tmp.path());
    let port = testkit::git::http_server(tmp.path(), "bot", "s3cret-pw");
    let dir = FactoryDir::load(root().join("image-factory"));
    let synthesis = factory::synthesize(&dir, &factory::SynthOptions::default()).unwrap();
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&synthesis.manifest.yaml).unwrap();
    let container = docs
        .iter()
        .filter_map(|d| {
            d.pointer("/spec/metrics/0/provider/job/spec/template/spec/initContainers/0")
        })
        .find(|c| c["name"] == "clone-state")
        .expect("a clone-state init container")
        .clone();
    let clone_with = |password: &str, dest: &str| {
        let mut cmd = Command::new(container["command"][0].as_str().unwrap());
        for arg in container["args"].as_array().unwrap() {
            let arg = arg.as_str().unwrap();
            // The state repository and the mount point of this test, instead of the cluster's.
            let arg = if arg.starts_with("https://") {
                format!(
                    "http://127.0.0.1:{port}/{}",
                    bare.file_name().unwrap().to_str().unwrap()
                )
            } else if arg == "/work/state" {
                tmp.path().join(dest).to_string_lossy().into_owned()
            } else {
                arg.to_owned()
            };
            cmd.arg(arg);
        }
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .env("HOME", tmp.path())
            .env("GIT_TERMINAL_PROMPT", "0");
        for var in container["env"].as_array().unwrap() {
            let name = var["name"].as_str().unwrap();
            let value = match (&var["value"], name) {
                (serde_json::Value::String(v), _) => v.clone(),
                (_, "GIT_USERNAME") => "bot".to_owned(),
                (_, "GIT_PASSWORD") => password.to_owned(),
                other => panic!("unexpected variable {other:?}"),
            };
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    };
    let wrong = clone_with("wrong-pw", "wrong");
    assert!(!wrong.status.success(), "{wrong:?}");
    let right = clone_with("s3cret-pw", "right");
    assert!(right.status.success(), "{right:?}");
    assert!(tmp.path().join("right/.git").is_dir());
}
