//! Not built yet.

use crate::output::Outcome;

use crate::output::Global;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args, _global: &Global) -> anyhow::Result<Outcome> {
    anyhow::bail!("not built yet")
}
