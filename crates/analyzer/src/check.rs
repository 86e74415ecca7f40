//! `analyzer check` and `analyzer observe`: flags → [`factory::check`] / [`factory::observe`] →
//! report. Exit 0 all recorded; 1 some base, state file, commit or push failed (the others are
//! recorded); 2 usage or configuration error (nothing written).

use factory::{CheckOptions, ObserveOptions};

use crate::output::{self, Global, Outcome};
use crate::state_job::{self, StateArgs};

/// Arguments of `analyzer check`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer check --factory-dir image-factory\n  \
    analyzer check --base node-22-bookworm-slim --format json\n  \
    analyzer check --commit --push   # cluster-less mode, from a CI schedule")]
pub struct CheckArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Only this base (its id, the file name under state/base-images/; repeatable).
    #[arg(long = "base", value_name = "ID")]
    bases: Vec<String>,
}

/// Arguments of `analyzer observe`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Example (what the Kargo observe-<id> Stage's Job runs):\n  \
    analyzer observe --base node-22 --digest sha256:... --commit --push"
)]
pub struct ObserveArgs {
    #[command(flatten)]
    state: StateArgs,
    /// The base (its id, the file name under state/base-images/).
    #[arg(long, value_name = "ID")]
    base: String,
    /// The digest the Warehouse saw (`sha256:<64 hex>`).
    #[arg(long, value_name = "DIGEST")]
    digest: String,
}

/// Runs `analyzer check`, with a progress bar on a TTY.
pub fn check(args: CheckArgs, global: &Global) -> anyhow::Result<Outcome> {
    let (dir, watch) = match args.state.load(false)? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let options = CheckOptions {
        bases: args.bases,
        limits: registry::Limits::default(),
        watch,
    };
    let bar = output::progress_bar(global);
    let result = factory::check(&dir, &options, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    state_job::finish(result, global, factory::CheckReport::is_success)
}

/// Runs `analyzer observe`.
pub fn observe(args: ObserveArgs, global: &Global) -> anyhow::Result<Outcome> {
    let (dir, watch) = match args.state.load(false)? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let options = ObserveOptions {
        base: args.base,
        digest: args.digest,
        watch,
    };
    let result = factory::observe(&dir, &options);
    state_job::finish(result, global, factory::ObserveReport::is_success)
}
