//! What every `analyzer` command shares (SPEC §10): `--version` with the git revision,
//! `--format json` on every subcommand, `NO_COLOR`, `--log-format json` on stderr, no progress
//! bar when stderr is not a terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2026-01-01T00:00:00Z";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn analyzer(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_analyzer"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("IMAGE_FACTORY_LOG")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("analyzer runs")
}

/// A copy of the example factory dir with its committed state.
fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    testkit::copy_tree(&root().join("image-factory"), dir.path());
    dir
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = analyzer(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let version = String::from_utf8(out.stdout).unwrap();
    // crates/cli/build.rs: `GIT_REVISION` when set at build time, else `git log`, else `unknown`.
    let revision = match option_env!("GIT_REVISION") {
        Some(revision) if !revision.trim().is_empty() => revision.trim().to_owned(),
        _ => Command::new("git")
            .args(["log", "-1", "--format=%h %cs", "--abbrev=7"])
            .current_dir(root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map_or("unknown".to_owned(), |o| {
                String::from_utf8(o.stdout).unwrap().trim().to_owned()
            }),
    };
    let expected = format!("analyzer {} ({revision})\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(version, expected);
    // Subcommands print the same, under their own name.
    let out = analyzer(&["plan", "--version"], &[]);
    let plan = expected.replacen("analyzer", "analyzer-plan", 1);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), plan);
}

/// Each subcommand that can run offline prints JSON on stdout with `--format json`; `check` and
/// `versions` (a registry) are covered by `tests/check.rs` and `tests/versions.rs`, `trigger` and
/// `emergency` by `tests/month.rs`. Every subcommand accepts the flag.
#[test]
fn every_subcommand_prints_json_with_format_json() {
    let dir = example();
    let d = dir.path().to_str().unwrap();
    let dockerfile = root().join("fixtures/sources/acme/orders/Dockerfile");
    let src = root().join("fixtures/sources");
    let src = src.to_str().unwrap();
    let base = std::fs::read_dir(dir.path().join("state/base-images"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .min()
        .unwrap();
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("parse-ref", vec!["parse-ref", "node:22"]),
        ("validate", vec!["validate", "--factory-dir", d]),
        (
            "base-images",
            vec!["base-images", dockerfile.to_str().unwrap()],
        ),
        (
            "analyze",
            vec![
                "analyze",
                "--factory-dir",
                d,
                "--source-root",
                src,
                "--now",
                NOW,
            ],
        ),
        (
            "observe",
            vec![
                "observe",
                "--factory-dir",
                d,
                "--base",
                &base,
                "--digest",
                DIGEST,
                "--now",
                NOW,
            ],
        ),
        ("plan", vec!["plan", "--factory-dir", d, "--now", NOW]),
        (
            "plan --what-if",
            vec!["plan", "--factory-dir", d, "--now", NOW, "--what-if", &base],
        ),
    ];
    for (name, mut args) in runs {
        args.extend(["--format", "json"]);
        let out = analyzer(&args, &[]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {stdout}{:?}",
            out.stderr
        );
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(&stdout);
        assert!(parsed.is_ok(), "{name} printed no JSON: {stdout}");
    }
    let mut command = cli::analyzer::command();
    command.build();
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = sub.get_name();
        assert!(
            sub.get_arguments().any(|a| a.get_long() == Some("format")),
            "{name} has no --format"
        );
    }
}

#[test]
fn no_color_turns_every_colour_off() {
    // CLICOLOR_FORCE asks for colours without a terminal, so the test sees them when NO_COLOR
    // does not win: a usage error (clap) and log lines (tracing).
    let dir = example();
    let d = dir.path().to_str().unwrap();
    let src = root().join("fixtures/sources");
    let args = [
        "-v",
        "analyze",
        "--factory-dir",
        d,
        "--source-root",
        src.to_str().unwrap(),
        "--now",
        NOW,
    ];
    let force = [("CLICOLOR_FORCE", "1")];
    let both = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")];
    let stderr = |args: &[&str], envs: &[(&str, &str)]| {
        String::from_utf8(analyzer(args, envs).stderr).unwrap()
    };
    let logs = stderr(&args, &force);
    assert!(logs.contains("\x1b["), "forced colours: {logs}");
    let usage = stderr(&["plan", "--no-such-flag"], &force);
    assert!(usage.contains("\x1b["), "forced colours: {usage}");

    for text in [
        stderr(&args, &both),
        stderr(&["plan", "--no-such-flag"], &both),
    ] {
        assert!(!text.contains("\x1b["), "NO_COLOR: {text:?}");
        assert!(!text.is_empty());
    }
    // Without a terminal and without CLICOLOR_FORCE: no colours either.
    assert!(!stderr(&args, &[]).contains("\x1b["));
}

#[test]
fn log_format_json_writes_one_json_object_per_stderr_line() {
    let dir = example();
    let d = dir.path().to_str().unwrap();
    let src = root().join("fixtures/sources");
    let runs: [(&[&str], i32); 3] = [
        // info events of a run
        (
            &[
                "-v",
                "analyze",
                "--factory-dir",
                d,
                "--source-root",
                src.to_str().unwrap(),
                "--now",
                NOW,
            ],
            0,
        ),
        // a job's error
        (
            &[
                "observe",
                "--factory-dir",
                d,
                "--base",
                "no-such-base",
                "--digest",
                DIGEST,
            ],
            2,
        ),
        // a configuration error: the diagnostics, then the verdict
        (&["plan", "--factory-dir", "/nonexistent/factory"], 2),
    ];
    for (args, code) in runs {
        let mut args = args.to_vec();
        args.extend(["--log-format", "json"]);
        let out = analyzer(&args, &[("CLICOLOR_FORCE", "1")]);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.is_empty(), "{args:?}");
        for line in stderr.lines() {
            let event: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line}"));
            assert!(event["level"].is_string() && event["fields"]["message"].is_string());
        }
        if code != 0 {
            assert!(stderr.contains(r#""level":"ERROR""#), "{stderr}");
        }
    }
}
