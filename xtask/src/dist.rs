//! `cargo xtask dist`: shell completions (bash, zsh, fish, PowerShell, elvish) and man pages (one
//! per binary and one per subcommand) of `analyzer` and `synth`, generated from their clap
//! commands into `target/dist/` (`completions/`, `man/man1/`; `$CARGO_TARGET_DIR/dist/` when set). Not committed: like the binaries
//! they are built from the sources, and a package or container build runs this task.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum as _;
use clap_complete::Shell;

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory (default: `dist/` in cargo's target directory, `target/dist/`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Writes the files and lists them.
#[allow(clippy::print_stderr)] // xtask reports to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    let out = args.out.unwrap_or_else(|| util::target_dir().join("dist"));
    let files = write(&out)?;
    for file in &files {
        eprintln!("dist: {}", file.display());
    }
    eprintln!("dist: {} files in {}", files.len(), out.display());
    Ok(())
}

/// Writes the completions and man pages of both binaries under `out`; returns the files written.
pub fn write(out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for command in [cli::analyzer::command(), cli::synth::command()] {
        files.extend(completions(&command, &out.join("completions"))?);
        files.extend(man_pages(command, &out.join("man").join("man1"))?);
    }
    Ok(files)
}

/// One completion script per shell (`analyzer.bash`, `_analyzer`, `analyzer.fish`, ...).
fn completions(command: &clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = command.get_name().to_owned();
    Shell::value_variants()
        .iter()
        .map(|shell| {
            clap_complete::generate_to(*shell, &mut command.clone(), &name, dir)
                .with_context(|| format!("cannot write the {shell} completions of {name}"))
        })
        .collect()
}

/// `NAME.1` and `NAME-SUBCOMMAND.1` for every subcommand (clap_mangen walks them).
fn man_pages(command: clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = command.get_name().to_owned();
    clap_mangen::generate_to(command, dir)
        .with_context(|| format!("cannot write the man pages of {name}"))?;
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let (page, prefix) = (format!("{name}.1"), format!("{name}-"));
    let mut written: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .map(|f| f.to_string_lossy())
                .is_some_and(|f| f == page || f.starts_with(&prefix))
        })
        .collect();
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Every shell gets a completion script per binary that knows every subcommand, and every
    /// subcommand of `analyzer` its own man page.
    #[test]
    fn a_completion_per_shell_and_a_man_page_per_subcommand() {
        let tmp = tempfile::tempdir().unwrap();
        let files = write(tmp.path()).unwrap();
        let analyzer = cli::analyzer::command();
        let subcommands: Vec<String> = analyzer
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        assert!(subcommands.len() >= 10 && subcommands.contains(&"check".to_owned()));
        let completions = tmp.path().join("completions");
        for (file, shell) in [
            ("analyzer.bash", "bash"),
            ("_analyzer", "zsh"),
            ("analyzer.fish", "fish"),
            ("_analyzer.ps1", "powershell"),
            ("analyzer.elv", "elvish"),
        ] {
            let text = std::fs::read_to_string(completions.join(file)).unwrap();
            for sub in &subcommands {
                assert!(text.contains(sub.as_str()), "{shell}: no {sub}");
            }
            let synth = file.replace("analyzer", "synth");
            let text = std::fs::read_to_string(completions.join(&synth)).unwrap();
            assert!(
                text.contains("factory-dir") && text.contains("validate"),
                "{synth}"
            );
        }
        let man = tmp.path().join("man/man1");
        for sub in &subcommands {
            let page = std::fs::read_to_string(man.join(format!("analyzer-{sub}.1"))).unwrap();
            assert!(page.contains(".TH analyzer-"), "{sub}: {page}");
        }
        let synth = std::fs::read_to_string(man.join("synth.1")).unwrap();
        assert!(synth.contains("\\-\\-validate") && synth.contains("Examples"));
        assert!(files.contains(&man.join("analyzer.1")) && files.len() >= 10 + 2 * 5 + 2);
    }
}
