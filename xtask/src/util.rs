//! Helpers shared by the tasks: the workspace root and running commands.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace root) when set, else
/// `target/` of the workspace root.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// Runs a command in the workspace root, failing when it exits non-zero.
#[allow(clippy::print_stderr)] // xtask reports progress to its user
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

/// `cargo` as the one running xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the `analyzer` and `synth` binaries (`profile`: `release` or `debug`) and returns the
/// directory holding them (`CARGO_TARGET_DIR` honoured).
pub fn build_binaries(profile: &str) -> anyhow::Result<PathBuf> {
    let mut cargo = cargo();
    cargo.args(["build", "--locked", "--quiet"]);
    if profile == "release" {
        cargo.arg("--release");
    }
    run(cargo.args(["-p", "analyzer", "-p", "synth-cli"]))?;
    Ok(target_dir().join(profile))
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}
