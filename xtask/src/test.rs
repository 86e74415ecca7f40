//! `cargo xtask test`: the whole test suite, as the README and CI run it.
//!
//! Installs or starts what the tests need (nothing beyond the Rust toolchain yet; the registry tests of
//! SPEC §9 will add Debian's `docker-registry` here), then runs every test of the workspace and the
//! drift checks of generated files.

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Extra arguments passed to `cargo test` (e.g. a test name filter).
    #[arg(trailing_var_arg = true)]
    cargo_args: Vec<String>,
}

/// Runs the suite.
pub fn run(args: Args) -> anyhow::Result<()> {
    let shared = util::root().join("../shared");
    if std::env::var_os("CI").is_some() && !shared.is_dir() {
        anyhow::bail!(
            "shared test data missing at {} (CI needs ../shared beside the repository)",
            shared.display()
        );
    }
    util::run(
        util::cargo()
            .args(["test", "--workspace", "--locked"])
            .args(&args.cargo_args),
    )?;
    util::run(util::cargo().args(["xtask", "pipeline"]))?;
    Ok(())
}
