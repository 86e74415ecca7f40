//! Not built yet.

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the task.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
