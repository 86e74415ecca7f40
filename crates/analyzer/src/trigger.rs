//! `analyzer trigger`: flags → [`factory::trigger`] → the dispatches. Exit 0 every dispatch
//! accepted; 1 some CI failed or refused (recorded), or committing/pushing failed; 2 usage or
//! configuration error (a missing token: nothing sent, nothing written).

use factory::TriggerOptions;

use crate::output::{Global, Outcome};
use crate::state_job::{self, StateArgs};

/// Arguments of `analyzer trigger`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Tokens come from the environment only: GITHUB_TOKEN, GITLAB_TRIGGER_TOKEN \
    (or *_FILE naming a file).\n\nExamples:\n  \
    analyzer trigger --factory-dir image-factory --dry-run\n  \
    analyzer trigger --commit --push   # from a CI schedule or the Kargo CronJob"
)]
pub struct Args {
    #[command(flatten)]
    state: StateArgs,
    /// Show the requests that would be sent; send nothing, write nothing.
    #[arg(long, conflicts_with = "commit")]
    dry_run: bool,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let (dir, watch) = match args.state.load(false)? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let options = TriggerOptions {
        dry_run: args.dry_run,
        limits: rebuild::dispatch::Limits::default(),
        watch,
    };
    state_job::finish(
        factory::trigger(&dir, &options),
        global,
        factory::TriggerReport::is_success,
    )
}
