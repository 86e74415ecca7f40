//! `cargo xtask`: the project's development tasks (SPEC §10).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod dist;
mod docs;
mod fuzz;
mod gen_corpus;
mod pipeline;
mod reference;
mod schema;
mod synth;
mod test;
mod tidy;
mod util;

/// image-factory development tasks.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole job on a factory dir (default: the bundled example).
    Pipeline(pipeline::Args),
    /// Write the JSON Schemas of images.yaml and factory.yaml to docs/schema/ (`--check`: fail on drift).
    Schema(schema::Args),
    /// Run the benchmarks and print the SPEC §12 table.
    Bench(bench::Args),
    /// Run the shell blocks of docs/*.md in a sandbox of the example (what CI runs).
    Docs(docs::Args),
    /// Shell completions and man pages of both binaries, into target/dist/ (not committed).
    Dist(dist::Args),
    /// Short smoke run of the fuzz targets (not part of CI).
    Fuzz(fuzz::Args),
    /// The whole test suite (what the README and CI run).
    Test(test::Args),
    /// Regenerate the example's manifests and fail on drift (what CI runs).
    Synth(synth::Args),
    /// Check the repository's conventions (versions on internal dependencies, ...).
    Tidy(tidy::Args),
    /// Generate a realistic fleet of N images (factory dir + sources) for benchmarks.
    GenCorpus(gen_corpus::Args),
}

#[allow(clippy::print_stderr)] // a binary reports to its user
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pipeline(args) => pipeline::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Docs(args) => docs::run(args),
        Command::Dist(args) => dist::run(args),
        Command::Fuzz(args) => fuzz::run(args),
        Command::Test(args) => test::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Tidy(args) => tidy::run(args),
        Command::GenCorpus(args) => gen_corpus::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}
