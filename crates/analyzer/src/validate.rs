//! `analyzer validate`: every problem of `images.yaml` and `factory.yaml`, like a compiler (text on
//! stderr) or as a JSON list on stdout. Exit 0 without errors (warnings allowed), else 2.

use std::path::PathBuf;

use factory::{FactoryDir, Validation};

use crate::output::{self, Format, Global, Outcome};

/// Arguments of `analyzer validate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  analyzer validate --factory-dir image-factory\n  \
                        analyzer validate --factory-dir image-factory --format json"
)]
pub struct Args {
    /// The factory dir holding images.yaml (required) and factory.yaml (optional).
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    factory_dir: PathBuf,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let dir = FactoryDir::load(&args.factory_dir);
    let v = factory::validate(&dir);
    let shown = v
        .diagnostics
        .iter()
        .filter(|d| d.is_error() || !global.quiet);
    match global.format {
        Format::Json => output::write_json(&shown.collect::<Vec<_>>())?,
        Format::Text => {
            // Quiet: errors only, and warnings are not counted either.
            let warnings = if global.quiet { 0 } else { v.warnings };
            let mut text = dir.render_all(!global.quiet);
            if !v.is_valid() || !global.quiet {
                text += &format!("{}\n", Validation { warnings, ..v });
            }
            let level = [output::Level::Error, output::Level::Warn][usize::from(v.is_valid())];
            output::write_stderr(&text, level);
        }
    }
    Ok([Outcome::ConfigError, Outcome::Success][usize::from(v.is_valid())])
}
