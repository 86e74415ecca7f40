//! `cargo xtask pipeline`: the main job on a factory dir, end to end.

use std::path::PathBuf;

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The factory dir.
    #[arg(long, default_value = "image-factory")]
    factory_dir: PathBuf,
}

/// Runs validate (later stages: analyze, synth, validate manifests — issues #4, #5).
#[allow(clippy::print_stderr)] // xtask reports progress to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    util::run(
        util::cargo()
            .args([
                "run",
                "--quiet",
                "--bin",
                "analyzer",
                "--",
                "validate",
                "--factory-dir",
            ])
            .arg(&args.factory_dir),
    )?;
    eprintln!(
        "pipeline: validate passed; analyze (issue #4) and synth (issue #5) are not built yet"
    );
    Ok(())
}
