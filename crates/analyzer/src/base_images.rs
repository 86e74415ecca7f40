//! `analyzer base-images`: the base images of one Dockerfile as `docker buildx build` would resolve
//! them (SPEC §5, contract in SPEC §10).

use std::path::PathBuf;

use factory::BaseImagesReport;

use crate::output::{self, Format, Global, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    analyzer base-images Dockerfile\n  \
    analyzer base-images --format json --build-arg NODE_VERSION=22 app/Dockerfile\n  \
    analyzer base-images --platform linux/arm64 - < Dockerfile\n\n\
    Exit status: 0 resolved, 1 the Dockerfile has errors (listed), 2 usage or I/O error.")]
pub struct Args {
    /// A build arg, as `docker build --build-arg`: `K=V`, or `K` to take the value from the
    /// environment. Overrides the default of a declared ARG only. Repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    build_args: Vec<String>,
    /// The target platform, `OS/ARCH[/VARIANT]`.
    #[arg(long, value_name = "OS/ARCH", default_value = "linux/amd64")]
    platform: String,
    /// The Dockerfile, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let options =
        factory::dockerfile_options(&args.build_args, &args.platform, |k| std::env::var(k).ok())?;
    let limits = factory::limits::from_process()?;
    let (file, bytes) = factory::read_dockerfile_input(&args.file, limits)?;
    let analysis = dockerfile::analyze(&bytes, &options);
    let report = BaseImagesReport::new(&file, &analysis);
    match global.format {
        Format::Json => output::write_json(&report)?,
        Format::Text => output::write_stdout(&report.to_string())?,
    }
    Ok(Outcome::findings_if(report.has_errors()))
}
