//! Sets `IMAGE_FACTORY_VERSION` for `--version`: `0.1.0 (abc1234 2026-12-01)`, the commit and
//! its date, for the clap definitions of both binaries (`cli::analyzer`, `cli::synth`): one
//! version rule.
//!
//! `GIT_REVISION` wins when set (a container build has no `.git`: pass the revision as a build
//! arg), else `git log`, else `unknown`. Cargo reruns this only when `GIT_REVISION`, `HEAD`, the
//! branch it points at or `packed-refs` change, so an unchanged build stays a no-op.
#![allow(clippy::print_stdout)] // cargo reads a build script's instructions on its stdout

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GIT_REVISION");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let revision = match std::env::var("GIT_REVISION") {
        Ok(revision) if !revision.trim().is_empty() => revision.trim().to_owned(),
        _ => {
            watch_git(&dir);
            git(&dir, &["log", "-1", "--format=%h %cs", "--abbrev=7"])
                .unwrap_or_else(|| "unknown".to_owned())
        }
    };
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=IMAGE_FACTORY_VERSION={version} ({revision})");
}

/// `git ARGS` in `dir`: its trimmed output, or `None` (no git, not a repository, no commit).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// Asks cargo to rerun this script when the commit changes: `HEAD` (a checkout), the branch it
/// points at (a commit) and `packed-refs` (a branch packed by `git gc`). Only files that exist:
/// cargo reruns a script whose watched file is missing on every build.
fn watch_git(dir: &Path) {
    let mut files = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    files.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    for file in files {
        // `--git-path` resolves worktrees (HEAD is per worktree, refs are shared).
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &file]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
