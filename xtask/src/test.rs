//! `cargo xtask test`: the whole test suite, as the README and CI run it.
//!
//! The tests install or start what they need themselves (`testkit::registry` installs Debian's
//! `docker-registry` and `skopeo` with `apt-get` when missing), so this task runs every test of the
//! workspace, then the main job on the bundled example, which must leave the committed example
//! state and manifests unchanged, then the documentation's shell blocks (`cargo xtask docs`). Closes with `tests: N passed, N failed, N skipped`: tests that
//! skip (shared data missing) record it through testkit in a file this task names
//! (`IMAGE_FACTORY_SKIP_LOG`); they do not count as passed, and under `CI` any skip fails the run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Extra arguments passed to `cargo test` (e.g. a test name filter).
    #[arg(trailing_var_arg = true)]
    cargo_args: Vec<String>,
}

/// What the example run must not change.
const GENERATED: &[&str] = &["image-factory", "dist", "docs/schema"];

/// `git status` and `git diff` of the generated paths: equal before and after a run iff the run
/// changed nothing there.
fn generated_status() -> anyhow::Result<String> {
    let mut text = String::new();
    for args in [&["status", "--porcelain", "--"][..], &["diff", "--"][..]] {
        let out = Command::new("git")
            .args(args)
            .args(GENERATED)
            .current_dir(util::root())
            .output()
            .context("cannot run git")?;
        if !out.status.success() {
            bail!("git {} failed", args.join(" "));
        }
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    Ok(text)
}

/// Runs the suite.
#[allow(clippy::print_stdout, clippy::print_stderr)] // xtask reports to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    let shared = util::root().join("../shared");
    if std::env::var_os("CI").is_some() && !shared.is_dir() {
        bail!(
            "shared test data missing at {} (CI needs ../shared beside the repository)",
            shared.display()
        );
    }
    crate::tidy::run(crate::tidy::Args {})?;
    // Tests record skips here (testkit): libtest hides the output of passing tests.
    let skip_log = util::root().join("target/xtask-test-skips.log");
    if let Err(err) = std::fs::remove_file(&skip_log)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        return Err(err).with_context(|| format!("cannot remove {}", skip_log.display()));
    }
    let (passed, failed) = cargo_test(&args.cargo_args, &skip_log)?;
    let skipped = skips(&skip_log)?;
    // The committed example state and manifests are the expected output: the run must not change
    // them, nor add files beside them.
    let before = generated_status()?;
    util::run(util::cargo().args(["xtask", "pipeline"]))?;
    let after = generated_status()?;
    if before != after {
        bail!(
            "the example run changed generated files under {} (commit them if intended)",
            GENERATED.join(", ")
        );
    }
    crate::schema::run(crate::schema::Args { check: true })?;
    // The documentation's commands, run on a sandbox copy of the example.
    crate::docs::run(crate::docs::Args::default())?;
    for (test, reason) in &skipped {
        println!("SKIPPED: {test} ({reason})");
    }
    // One closing line for the whole suite (cargo's last line is some crate's doc-tests). A
    // skipped test returned early and libtest counted it as passed: it is not.
    let skipped_count = u64::try_from(skipped.len()).unwrap_or(u64::MAX);
    println!(
        "tests: {} passed, {failed} failed, {skipped_count} skipped",
        passed.saturating_sub(skipped_count)
    );
    if skipped_count > 0 && std::env::var_os("CI").is_some() {
        bail!("{skipped_count} test(s) skipped under CI; every test must run in CI");
    }
    Ok(())
}

/// Runs `cargo test` on the workspace, echoing its output, and adds up its `test result:` lines.
#[allow(clippy::print_stdout, clippy::print_stderr)] // echoing the test output is the point
fn cargo_test(extra: &[String], skip_log: &Path) -> anyhow::Result<(u64, u64)> {
    let mut cmd = util::cargo();
    cmd.args(["test", "--workspace", "--locked"])
        .args(extra)
        .env(SKIP_LOG_VAR, skip_log)
        .current_dir(util::root())
        .stdout(Stdio::piped());
    eprintln!("$ cargo test --workspace --locked {}", extra.join(" "));
    let mut child = cmd.spawn().context("cannot start cargo test")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count(rest, "passed");
            failed += count(rest, "failed");
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo test failed ({status}): {passed} passed, {failed} failed");
    }
    Ok((passed, failed))
}

/// The skips recorded in `log` (`<test>\t<reason>` lines), sorted; none when it does not exist.
fn skips(log: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = match std::fs::read_to_string(log) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", log.display())),
    };
    let mut skips: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let (test, reason) = l.split_once('\t').unwrap_or((l, ""));
            (test.to_owned(), reason.to_owned())
        })
        .collect();
    skips.sort();
    Ok(skips)
}

/// The variable testkit reads (`testkit::SKIP_LOG_VAR`; xtask does not depend on testkit).
const SKIP_LOG_VAR: &str = "IMAGE_FACTORY_SKIP_LOG";

/// The number before `label` in `ok. 5 passed; 0 failed; ...`.
fn count(summary: &str, label: &str) -> u64 {
    let words: Vec<&str> = summary.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1].trim_end_matches(';') == label)
        .and_then(|w| w[0].parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counts_and_skips_are_read_back() {
        assert_eq!(count("ok. 5 passed; 2 failed; 0 ignored", "passed"), 5);
        assert_eq!(count("ok. 5 passed; 2 failed; 0 ignored", "failed"), 2);
        let log = std::env::temp_dir().join(format!("xtask-skips-{}", std::process::id()));
        assert!(skips(&log).unwrap().is_empty(), "no log: no skips");
        std::fs::write(&log, "b::t\twhy\na::t\tbecause\n").unwrap();
        let found = skips(&log).unwrap();
        std::fs::remove_file(&log).unwrap();
        assert_eq!(
            found,
            vec![
                ("a::t".to_owned(), "because".to_owned()),
                ("b::t".to_owned(), "why".to_owned())
            ]
        );
    }
}
