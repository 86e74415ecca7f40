//! Issue 9's hostile inputs (`fixtures/hostile/`) through the whole analyzer, each run bounded by
//! the test in time (a hang fails, it does not wait) and in memory (`ulimit -v`: a blow-up fails,
//! it does not take the machine): no crash, a clear error for the hostile image or file, and the
//! other images analysed as usual. The git classes are in `hardening_git.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::copy_tree;

/// Address space allowed to one analyzer process.
const MEMORY_KIB: u64 = 1 << 20;
/// Time allowed to one analyzer process (debug build, loaded 2-core CI machine).
const TIMEOUT: Duration = Duration::from_secs(60);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hostile")
}

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("no JSON ({e}): {}", self.stderr))
    }
}

/// Runs the analyzer under `ulimit -v` and a deadline; output goes to files, so a chatty child
/// never blocks on a full pipe.
fn bounded(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("out"), out.path().join("err"));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .env_remove("IMAGE_FACTORY_LOG")
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("analyzer {args:?} still running after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = fs::read_to_string(&stderr).unwrap();
    assert!(
        status.code().is_some(),
        "analyzer {args:?} was killed ({status}): {stderr}"
    );
    Run {
        code: status.code(),
        stdout: fs::read(&stdout).unwrap(),
        stderr,
    }
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A file that claims `len` bytes without using the disk.
fn sparse(path: &Path, len: u64) {
    fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// The hostile fleet: the committed fixtures plus what git cannot hold (a FIFO, a 4 GiB sparse
/// Dockerfile, symlinks out of the source root) and hostile state files.
fn fleet() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let sources = tmp.path().join("sources");
    let factory = tmp.path().join("factory");
    copy_tree(&fixtures().join("sources"), &sources);
    copy_tree(&fixtures().join("factory"), &factory);
    let acme = sources.join("acme");
    fs::create_dir_all(acme.join("fifo")).unwrap();
    mkfifo(&acme.join("fifo/Dockerfile"));
    fs::create_dir_all(acme.join("huge")).unwrap();
    sparse(&acme.join("huge/Dockerfile"), 4 << 30);
    let outside = tmp.path().join("outside");
    fs::create_dir_all(outside.join("evil")).unwrap();
    fs::write(
        outside.join("evil/Dockerfile"),
        "FROM evil.example/secret\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("evil"), acme.join("linked-repo")).unwrap();
    std::os::unix::fs::symlink(&outside, sources.join("linked-owner")).unwrap();
    let state = factory.join("state/images");
    fs::create_dir_all(&state).unwrap();
    mkfifo(&state.join("fifo-state.yaml"));
    std::os::unix::fs::symlink("/dev/zero", state.join("zero.yaml")).unwrap();
    // A current-format file whose `version` line was lost: an error, never a legacy import.
    fs::write(
        state.join("unversioned.yaml"),
        "name: unversioned\nkind: managed\nhistory: []\n",
    )
    .unwrap();
    (tmp, sources, factory)
}

#[test]
fn hostile_images_fail_alone_and_the_others_are_analysed() {
    let (_tmp, sources, factory) = fleet();
    let run = bounded(
        &[
            "analyze",
            "--format",
            "json",
            "--now",
            "2026-01-01T00:00:00Z",
            "--factory-dir",
            factory.to_str().unwrap(),
            "--source-root",
            sources.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.json();
    let failed: Vec<(String, String)> = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let image = f["image"].as_str().unwrap().to_owned();
            (image, f["error"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected = [
        ("bad-bytes", "invalid reference format"),
        ("doubling", "more than 16 MiB"),
        ("escape-codes", "must be lowercase"),
        ("fifo", "not a regular file (it is a FIFO)"),
        ("huge", "larger than the limit of 1048576 bytes"),
        ("linked-owner", "symlink leading outside the source root"),
        ("linked-repo", "symlink leading outside the source root"),
        ("nest-alternative", "nested deeper than 64 levels"),
        ("nest-default", "nested deeper than 64 levels"),
        ("nest-quoted", "nested deeper than 64 levels"),
        ("nest-replace", "nested deeper than 64 levels"),
        ("replace-bomb", "more than 16 MiB"),
    ];
    assert_eq!(
        failed.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(),
        expected.map(|(i, _)| i),
        "{failed:#?}"
    );
    for ((image, error), (_, want)) in failed.iter().zip(expected) {
        assert!(error.contains(want), "{image}: {error}");
        assert!(
            error.len() < 2000,
            "{image}: a {} byte message",
            error.len()
        );
    }
    for good in ["good", "good-too"] {
        let text = fs::read_to_string(factory.join(format!("state/images/{good}.yaml"))).unwrap();
        assert!(text.contains("alpine"), "{good}: {text}");
    }
    // Hostile state files are reported and left exactly as they were.
    let mut load_errors: Vec<&str> = report["loadErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    load_errors.sort_unstable();
    assert_eq!(
        load_errors,
        [
            "state/images/fifo-state.yaml",
            "state/images/unversioned.yaml",
            "state/images/zero.yaml"
        ]
    );
    let state = factory.join("state/images");
    assert_eq!(
        fs::read_to_string(state.join("unversioned.yaml")).unwrap(),
        "name: unversioned\nkind: managed\nhistory: []\n"
    );
    assert!(
        fs::symlink_metadata(state.join("zero.yaml"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn hostile_configuration_files_exit_2_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| {
        let d = tmp.path().join(name);
        fs::create_dir_all(&d).unwrap();
        d
    };
    let fifo = dir("fifo");
    mkfifo(&fifo.join("images.yaml"));
    let zero = dir("zero");
    std::os::unix::fs::symlink("/dev/zero", zero.join("images.yaml")).unwrap();
    let huge = dir("huge");
    sparse(&huge.join("images.yaml"), 1 << 30);
    let factory_fifo = dir("factory-fifo");
    fs::write(factory_fifo.join("images.yaml"), "[]\n").unwrap();
    mkfifo(&factory_fifo.join("factory.yaml"));
    let cases = [
        (
            fifo,
            "cannot read images.yaml: not a regular file (it is a FIFO)",
        ),
        (
            zero,
            "cannot read images.yaml: not a regular file (it is a device)",
        ),
        (
            huge,
            "cannot read images.yaml: larger than the limit of 67108864 bytes",
        ),
        (
            factory_fifo,
            "cannot read factory.yaml: not a regular file (it is a FIFO)",
        ),
        (fixtures().join("config/non-utf8"), "images.yaml:3:21"),
    ];
    for (dir, want) in cases {
        let root = tmp.path().to_str().unwrap();
        for args in [&["validate"][..], &["analyze", "--source-root", root]] {
            let command = args[0];
            let mut args = args.to_vec();
            args.extend(["--factory-dir", dir.to_str().unwrap()]);
            let run = bounded(&args, &[]);
            assert_eq!(
                run.code,
                Some(2),
                "{command} {}: {}",
                dir.display(),
                run.stderr
            );
            assert!(run.stderr.contains(want), "{command}: {}", run.stderr);
            assert!(!dir.join("state").exists(), "{command} wrote state");
        }
    }
    // The caps are configurable, and a malformed one is a configuration error.
    let small = dir("small");
    fs::write(small.join("images.yaml"), "[]\n").unwrap();
    let limit = [("IMAGE_FACTORY_MAX_CONFIG_SIZE", "2")];
    let run = bounded(
        &["validate", "--factory-dir", small.to_str().unwrap()],
        &limit,
    );
    assert!(
        run.stderr.contains("larger than the limit of 2 bytes"),
        "{}",
        run.stderr
    );
    let bad = [("IMAGE_FACTORY_MAX_CONFIG_SIZE", "lots")];
    let run = bounded(
        &["validate", "--factory-dir", small.to_str().unwrap()],
        &bad,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("IMAGE_FACTORY_MAX_CONFIG_SIZE=\"lots\" is not a size")
    );
}

#[test]
fn terminal_escapes_from_a_dockerfile_are_never_printed_raw() {
    let file = fixtures().join("sources/acme/escape-codes/Dockerfile");
    let run = bounded(&["base-images", file.to_str().unwrap()], &[]);
    assert_eq!(run.code, Some(1));
    let text = String::from_utf8(run.stdout).unwrap() + &run.stderr;
    assert!(text.contains("\\u{1b}]0;pwned\\u{7}"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    let (_tmp, sources, factory) = fleet();
    let run = bounded(
        &[
            "analyze",
            "--image",
            "escape-codes",
            "--factory-dir",
            factory.to_str().unwrap(),
            "--source-root",
            sources.to_str().unwrap(),
        ],
        &[],
    );
    let text = String::from_utf8(run.stdout).unwrap() + &run.stderr;
    assert!(text.contains("escape-codes"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
}
