//! `analyzer`: the command-line face of image-factory's libraries (SPEC §10).
//!
//! Wiring only: each subcommand parses its arguments, calls a library and renders the result.
//! Exit status: 0 success, 1 the command ran but found errors, 2 usage or configuration error.
//!
//! A library target so that `cargo xtask dist` can generate shell completions and man pages from
//! [`command`]; the binary (`src/bin/analyzer.rs`) only calls [`main`].

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};
// The options, logging and output the two binaries share.
use cli as output;

mod analyze;
mod base_images;
mod check;
mod emergency;
mod enroll;
mod parse_ref;
mod plan;
mod state_job;
mod trigger;
mod validate;
mod versions;

/// Discover base images, validate enrolment and keep image-factory's state.
#[derive(Parser)]
#[command(version = env!("IMAGE_FACTORY_VERSION"), about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: output::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse image references like distribution/reference's ParseNormalizedNamed.
    ParseRef(parse_ref::Args),
    /// Validate images.yaml and factory.yaml of a factory dir, reporting every problem.
    Validate(validate::Args),
    /// List the base images of a Dockerfile as `docker buildx build` would resolve them.
    BaseImages(base_images::Args),
    /// Analyse enrolled images' Dockerfiles and update the state files (optionally commit and push).
    Analyze(analyze::Args),
    /// Ask the registries for the digest of every watched base tag (one HEAD each) and record
    /// what moved.
    Check(check::CheckArgs),
    /// Record a digest of a base that a Kargo Warehouse saw, exactly as `check` would.
    Observe(check::ObserveArgs),
    /// Show which images the rebuild engine would dispatch now, and why the others wait.
    Plan(plan::Args),
    /// Dispatch the CI of every image due for a rebuild, and record the outcome.
    Trigger(trigger::Args),
    /// Bypass the rebuild delay of an image, or of every dependent of a base, with a reason.
    Emergency(emergency::Args),
    /// List an image's tags from its registry, newest version first.
    Versions(versions::Args),
    /// Append a managed image's entry to images.yaml (comments and layout kept), validated.
    Enroll(Box<enroll::Args>),
}

/// The clap definition of `analyzer`, its subcommands and options.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs `analyzer` with the process's arguments and returns its exit status.
pub fn main() -> ExitCode {
    // clap exits itself: 0 after --help/--version, 2 on a usage error.
    let cli = Cli::parse();
    output::init_logging(&cli.global, "warn");
    let result = match cli.command {
        Command::ParseRef(args) => parse_ref::run(args, &cli.global),
        Command::Validate(args) => validate::run(args, &cli.global),
        Command::BaseImages(args) => base_images::run(args, &cli.global),
        Command::Analyze(args) => analyze::run(args, &cli.global),
        Command::Check(args) => check::check(args, &cli.global),
        Command::Observe(args) => check::observe(args, &cli.global),
        Command::Plan(args) => plan::run(args, &cli.global),
        Command::Trigger(args) => trigger::run(args, &cli.global),
        Command::Emergency(args) => emergency::run(args, &cli.global),
        Command::Versions(args) => versions::run(args, &cli.global),
        Command::Enroll(args) => enroll::run(*args, &cli.global),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(err) => {
            output::error(&format!("{err:#}"));
            let job = err.downcast_ref::<factory::JobError>();
            ExitCode::from(if job.is_some_and(|e| !e.is_usage_error()) {
                1
            } else {
                2
            })
        }
    }
}
