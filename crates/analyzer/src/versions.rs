//! `analyzer versions`: flags → [`factory::versions`] → the tags, newest version first. Exit 0
//! listed; 1 the registry failed; 2 usage or configuration error.

use std::path::PathBuf;

use factory::{FactoryDir, VersionsOptions};

use crate::output::{self, Format, Global, Outcome};

/// Arguments of `analyzer versions`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "A reference's tag or digest is ignored: every tag of its repository is listed.\n\n\
    Examples:\n  analyzer versions backstage --factory-dir image-factory\n  \
    analyzer versions node --digests\n  analyzer versions ghcr.io/org/app --all --format json"
)]
pub struct Args {
    /// An image enrolled in the factory dir's images.yaml, else an image reference.
    #[arg(value_name = "NAME|REF")]
    image: String,
    /// Also list the tags that are not versions (latest, branches, commit hashes).
    #[arg(long)]
    all: bool,
    /// Show the digest of each listed tag (one manifest HEAD per tag).
    #[arg(long)]
    digests: bool,
    /// The factory dir: enrolled names and factory.yaml's registries settings (optional).
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    factory_dir: PathBuf,
    /// Tags asked for per page of the registry's tag list.
    #[arg(long, hide = true, default_value_t = VersionsOptions::DEFAULT_PAGE_SIZE)]
    page_size: u32,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let dir = FactoryDir::load_if_present(&args.factory_dir);
    if let Some(dir) = dir.as_ref().filter(|d| d.has_errors()) {
        output::write_stderr(&dir.render_all(false), output::Level::Error);
        output::error("configuration is invalid");
        return Ok(Outcome::ConfigError);
    }
    let options = VersionsOptions {
        all: args.all,
        digests: args.digests,
        page_size: args.page_size,
        environment: factory::Environment::from_process(),
    };
    let report = factory::versions(dir.as_ref(), &args.image, &options)?;
    match global.format {
        Format::Json => output::write_json(&report)?,
        Format::Text => output::write_stdout(&report.to_string())?,
    }
    Ok(Outcome::Success)
}
