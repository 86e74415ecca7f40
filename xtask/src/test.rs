//! `cargo xtask test`: the whole test suite, as the README and CI run it.
//!
//! Installs or starts what the tests need (nothing beyond the Rust toolchain and `git` yet; the
//! registry tests of SPEC §9 will add Debian's `docker-registry` here), runs every test of the
//! workspace, then the main job on the bundled example, which must leave the committed example
//! state and manifests unchanged.

use std::process::Command;

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

/// Runs the suite.
pub fn run(args: Args) -> anyhow::Result<()> {
    let shared = util::root().join("../shared");
    if std::env::var_os("CI").is_some() && !shared.is_dir() {
        bail!(
            "shared test data missing at {} (CI needs ../shared beside the repository)",
            shared.display()
        );
    }
    util::run(
        util::cargo()
            .args(["test", "--workspace", "--locked"])
            .args(&args.cargo_args),
    )?;
    util::run(util::cargo().args(["xtask", "pipeline"]))?;
    // The committed example state and manifests are the expected output: a run must not change
    // them, nor add files beside them.
    let status = Command::new("git")
        .args(["status", "--porcelain", "--"])
        .args(GENERATED)
        .current_dir(util::root())
        .output()
        .context("cannot run git status")?;
    let changed = String::from_utf8_lossy(&status.stdout);
    if !status.status.success() || !changed.trim().is_empty() {
        bail!(
            "the example run changed committed files (run `cargo xtask pipeline` and commit):\n{changed}"
        );
    }
    Ok(())
}
