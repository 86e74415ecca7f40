//! `synth`: turns `images.yaml`, `factory.yaml` and state into Kargo manifests (SPEC §8, §10).
//!
//! Manifest synthesis is issue #5; until then this binary only explains that.

use std::process::ExitCode;

use clap::Parser;

/// Generate Kargo manifests from an image-factory dir.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, default_value = "image-factory")]
    factory_dir: std::path::PathBuf,
}

#[allow(clippy::print_stderr)] // a binary reports to its user
fn main() -> ExitCode {
    let cli = Cli::parse();
    eprintln!(
        "synth: manifest synthesis is not built yet (issue #5); nothing written for {}",
        cli.factory_dir.display()
    );
    ExitCode::from(2)
}
