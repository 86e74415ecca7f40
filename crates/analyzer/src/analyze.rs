//! `analyzer analyze`: not built yet (issue #4).

use crate::output::{Global, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args, _global: &Global) -> anyhow::Result<Outcome> {
    anyhow::bail!("not built yet")
}
