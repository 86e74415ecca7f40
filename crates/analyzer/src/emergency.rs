//! `analyzer emergency`: flags → [`factory::emergency`] → what was bypassed. Exit 0 recorded (and
//! announced, and dispatched with `--trigger`); 1 the webhook, a dispatch or git failed (the
//! emergency is recorded); 2 no reason, nothing known or nothing pending (nothing written).

use factory::{EmergencyOptions, EmergencyTarget};

use crate::output::{Global, Outcome};
use crate::state_job::{self, StateArgs};

/// Arguments of `analyzer emergency`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "The notification webhook's URL comes from the environment only: \
    IMAGE_FACTORY_WEBHOOK_URL (or IMAGE_FACTORY_WEBHOOK_URL_FILE naming a file).\n\nExamples:\n  \
    analyzer emergency --base node:22-bookworm-slim --reason 'CVE-2026-1234 in openssl' \
    --actor alice --commit --push\n  \
    analyzer emergency --image billing-worker --reason 'approved rebuild' --actor bob --trigger"
)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["image", "base"])))]
pub struct Args {
    #[command(flatten)]
    state: StateArgs,
    /// A managed image whose pending updates are rebuilt now (its children follow).
    #[arg(long, value_name = "NAME")]
    image: Option<String>,
    /// A base (id or reference) whose new digest every dependent is rebuilt on now, cascade
    /// included.
    #[arg(long, value_name = "ID|REF")]
    base: Option<String>,
    /// Why (required; recorded in the state and the audit log).
    #[arg(long, required = true)]
    reason: String,
    /// Who declares it.
    #[arg(long, env = "IMAGE_FACTORY_ACTOR", required = true)]
    actor: String,
    /// Dispatch at once (`analyzer trigger`) instead of at the next tick.
    #[arg(long)]
    trigger: bool,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let (dir, watch) = match args.state.load(false)? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let target = match (args.image, args.base) {
        (Some(image), _) => EmergencyTarget::Image(image),
        (None, Some(base)) => EmergencyTarget::Base(base),
        // clap's group requires one of them.
        (None, None) => return Ok(Outcome::ConfigError),
    };
    let options = EmergencyOptions {
        target,
        reason: args.reason,
        actor: args.actor,
        trigger: args.trigger,
        limits: rebuild::dispatch::Limits::default(),
        watch,
    };
    state_job::finish(
        factory::emergency(&dir, &options),
        global,
        factory::EmergencyReport::is_success,
    )
}
