//! Options and helpers shared by every subcommand: output format, verbosity, logging, exit codes.

use std::io::{IsTerminal, Write as _};

use clap::{Args, ValueEnum};

/// How a command's result (stdout) or its log lines (stderr) are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text (compact log lines).
    #[default]
    Text,
    /// JSON: the contracts of SPEC §10; logs as one object per line, for Jobs.
    Json,
}

/// Options every subcommand accepts.
#[derive(Args, Debug)]
pub struct Global {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub format: Format,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub log_format: Format,
}

/// How a command ended; the discriminant is the exit status: 1 the command ran but found errors
/// (bad Dockerfile, invalid reference, ...), 2 usage or configuration error (nothing written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success = 0,
    Findings = 1,
    ConfigError = 2,
}

impl Outcome {
    /// `Findings` when the command found errors, else `Success`.
    pub fn findings_if(found: bool) -> Self {
        if found { Self::Findings } else { Self::Success }
    }
}

/// Sets up `tracing` on stderr according to the global options.
pub fn init_logging(global: &Global) {
    let levels = ["warn", "info", "debug", "trace"];
    let level = if global.quiet {
        "error"
    } else {
        levels[usize::from(global.verbose.min(3))]
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMAGE_FACTORY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match global.log_format {
        Format::Json => builder.json().try_init(),
        Format::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .compact()
            .try_init(),
    };
}

/// Writes to stdout, control characters escaped (they may come from a Dockerfile); a reader that
/// went away (`| head`) is not our failure.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let text = model::printable::escape(text);
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes pretty JSON and a newline to stdout.
pub fn write_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    Ok(write_stdout(
        &(serde_json::to_string_pretty(value)? + "\n"),
    )?)
}

/// Writes to stderr, control characters escaped (nothing better to do when that fails).
pub fn write_stderr(text: &str) {
    let text = model::printable::escape(text);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
