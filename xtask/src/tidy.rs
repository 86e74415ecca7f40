//! `cargo xtask tidy`: the repository's own conventions, checked (also at the start of `cargo xtask
//! test`, so CI enforces them). Today: every internal dependency in the root
//! `[workspace.dependencies]` carries a `version` next to its `path`, so the crates can be published
//! (`cargo publish` refuses path-only dependencies); crates with `publish = false` (test support)
//! are exempt, since a path-only dev-dependency is stripped on publish.

use anyhow::{Context, bail};

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs every check.
#[allow(clippy::print_stderr)] // xtask reports to its user
pub fn run(_args: Args) -> anyhow::Result<()> {
    let root = util::root();
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).context("cannot read Cargo.toml")?;
    let problems = unversioned_path_dependencies(&manifest, |path| {
        std::fs::read_to_string(root.join(path).join("Cargo.toml"))
            .is_ok_and(|text| text.lines().any(|l| l.trim() == "publish = false"))
    });
    if !problems.is_empty() {
        bail!(
            "tidy: internal dependencies without a version in Cargo.toml (add `version = \"0.1.0\"` next to `path`): {}",
            problems.join(", ")
        );
    }
    eprintln!("tidy: ok");
    Ok(())
}

/// The names of `[workspace.dependencies]` entries of `manifest` that have a `path` but no
/// `version`, except those whose crate is unpublished (`unpublished(path)`).
fn unversioned_path_dependencies(
    manifest: &str,
    unpublished: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut in_deps = false;
    let mut problems = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[workspace.dependencies]";
            continue;
        }
        let Some((name, value)) = line.split_once('=').filter(|_| in_deps) else {
            continue;
        };
        let Some(path) = value
            .split_once("path = \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(path, _)| path)
        else {
            continue;
        };
        if !value.contains("version = ") && !unpublished(path) {
            problems.push(name.trim().to_owned());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_path_dependencies_without_a_version() {
        let manifest = "[workspace]\nmembers = []\n\n[workspace.dependencies]\n\
            a = { package = \"x-a\", path = \"crates/a\", version = \"0.1.0\" }\n\
            b = { package = \"x-b\", path = \"crates/b\" }\n\
            kit = { package = \"x-kit\", path = \"crates/kit\" }\n\
            serde = \"1\"\n\n[profile.release]\nc = { path = \"crates/c\" }\n";
        let found = unversioned_path_dependencies(manifest, |p| p == "crates/kit");
        assert_eq!(found, vec!["b".to_owned()]);
    }

    #[test]
    fn the_workspace_is_tidy() {
        let root = util::root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
        assert!(manifest.contains("[workspace.dependencies]"));
        let found = unversioned_path_dependencies(&manifest, |path| {
            std::fs::read_to_string(root.join(path).join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "publish = false"))
        });
        assert_eq!(found, Vec::<String>::new());
    }
}
