//! `analyzer plan`: flags → [`factory::plan`] → the plan (a table, or JSON). Writes nothing.
//! Exit 0; 1 when some state file cannot be loaded; 2 configuration error.

use std::path::PathBuf;

use factory::FactoryDir;

use crate::output::{Global, Outcome};
use crate::state_job;

/// Arguments of `analyzer plan`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer plan --factory-dir image-factory\n  \
    analyzer plan --now 2026-03-09T00:00:00Z --format json\n  \
    analyzer plan --what-if node:22-bookworm-slim --at 2026-03-10T09:00:00Z")]
pub struct Args {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    factory_dir: PathBuf,
    /// The time to plan for (RFC 3339); default SOURCE_DATE_EPOCH, else the system clock.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Show instead the rebuilds, across the fleet, if this base (id or reference) or managed
    /// image moved, and when each becomes due.
    #[arg(long, value_name = "REF")]
    what_if: Option<String>,
    /// With --what-if: when it moves (RFC 3339); default --now.
    #[arg(long, value_name = "RFC3339", requires = "what_if")]
    at: Option<String>,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let now = factory::Environment::from_process().clock(args.now.as_deref())?;
    let dir = FactoryDir::load(&args.factory_dir);
    if dir.has_errors() {
        crate::output::write_stderr(&dir.render_all(false), crate::output::Level::Error);
        return Ok(Outcome::ConfigError);
    }
    if let Some(reference) = &args.what_if {
        let at = match &args.at {
            Some(at) => factory::Environment::from_process().clock(Some(at))?,
            None => now,
        };
        return state_job::finish(
            factory::what_if(&dir, reference, at),
            global,
            factory::WhatIfReport::is_success,
        );
    }
    state_job::finish(
        factory::plan(&dir, now),
        global,
        factory::PlanReport::is_success,
    )
}
