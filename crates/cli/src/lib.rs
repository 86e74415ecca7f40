//! The command-line surface of image-factory's two binaries, `analyzer` and `synth` (SPEC §10):
//! what the user types and sees, kept apart from what the jobs do (the `factory` crate).
//!
//! - [`analyzer`] and [`synth`]: each binary's clap definition (arguments, help texts, the
//!   `command()` that `cargo xtask dist` turns into shell completions and man pages) and the
//!   mapping of the parsed arguments to the options of the `factory` jobs.
//! - The shared options (output format, verbosity, log format: [`Global`]), logging, colours,
//!   progress bars, exit [`Outcome`]s, writing to stdout and stderr, and [`finish`], how a job's
//!   report or error is rendered.
//!
//! One place for these so that both binaries behave alike (SPEC §10): colours only on a terminal
//! and never with `NO_COLOR`, progress bars only on a terminal, JSON log lines for Jobs. The
//! binaries keep only the wiring: parse, call a job, render, exit.

use std::io::{IsTerminal, Write as _};
use std::sync::OnceLock;

use clap::{Args, ValueEnum};
use factory::JobError;

pub mod analyzer;
pub mod synth;

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
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Output format of the result on stdout.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub format: Format,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log line format on stderr (`json`: one object per line, for Jobs).
    #[arg(long, global = true, value_enum, default_value_t)]
    pub log_format: Format,
}

/// How a command ended; the discriminant is the exit status: 1 the command ran but found errors
/// (bad Dockerfile, invalid reference, ...), 2 usage or configuration error (nothing written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success = 0,
    /// Exit 1: the command ran but found errors.
    Findings = 1,
    /// Exit 2: usage or configuration error, nothing written.
    ConfigError = 2,
}

impl Outcome {
    /// `Findings` when the command found errors, else `Success`.
    pub fn findings_if(found: bool) -> Self {
        if found { Self::Findings } else { Self::Success }
    }
}

/// The log format chosen by [`init_logging`]: how [`write_stderr`] and [`error`] write.
static LOG_FORMAT: OnceLock<Format> = OnceLock::new();

/// Sets up `tracing` on stderr according to the global options. `default_level` is the level
/// without `-v`/`-q` (`warn` for the analyzer; `info` for synth, whose summary lines are info
/// events); `IMAGE_FACTORY_LOG` (an `EnvFilter`) overrides both.
pub fn init_logging(global: &Global, default_level: &str) {
    let _ = LOG_FORMAT.set(global.log_format);
    let louder = ["info", "debug", "trace"];
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => default_level,
        (false, v) => louder[usize::from(v.min(3) - 1)],
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMAGE_FACTORY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match global.log_format {
        Format::Json => builder.json().with_ansi(false).try_init(),
        Format::Text => builder
            .with_ansi(colour(std::io::stderr().is_terminal()))
            .compact()
            .try_init(),
    };
}

/// Whether to write ANSI colours on a stream: never when `NO_COLOR` is set and not empty
/// (<https://no-color.org>), always when `CLICOLOR_FORCE` is (so the colours can be tested and
/// piped into `less -R`), else only on a terminal. clap applies the same rules to its help and
/// errors.
pub fn colour(is_terminal: bool) -> bool {
    colour_from(|key| std::env::var_os(key), is_terminal)
}

fn colour_from(env: impl Fn(&str) -> Option<std::ffi::OsString>, is_terminal: bool) -> bool {
    let set = |key| env(key).is_some_and(|v| !v.is_empty() && v != "0");
    if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        false
    } else {
        set("CLICOLOR_FORCE") || is_terminal
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal and neither `-q` nor
/// `--log-format json` asks for quiet or machine-readable stderr; hidden (a no-op) otherwise.
pub fn progress_bar(global: &Global) -> indicatif::ProgressBar {
    if progress_visible(std::io::stderr().is_terminal(), global) {
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
    } else {
        indicatif::ProgressBar::hidden()
    }
}

fn progress_visible(stderr_is_terminal: bool, global: &Global) -> bool {
    stderr_is_terminal && !global.quiet && global.log_format == Format::Text
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
pub fn write_json(value: &impl serde::Serialize) -> Result<(), Error> {
    Ok(write_stdout(
        &(serde_json::to_string_pretty(value)? + "\n"),
    )?)
}

/// Why a command could not start or could not write its result. The binaries show the message
/// and exit 2 (usage) or 1.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--now` (or `SOURCE_DATE_EPOCH`) is not a time.
    #[error(transparent)]
    Clock(#[from] state::clock::ClockError),
    /// The report could not be serialised.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// stdout could not be written.
    #[error(transparent)]
    Write(#[from] std::io::Error),
}

/// The weight of a text written to stderr, for `--log-format json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// A failure (configuration errors, a failed job).
    Error,
    /// A report that may hold warnings (`validate`'s diagnostics).
    Warn,
    /// A summary or a note (`synth: 41 objects written to ...`).
    Info,
}

/// Writes a report or message to stderr, control characters escaped: as is with text logs, as
/// one log event (a JSON object on one line) with `--log-format json`, so that a Job's log stays
/// machine-readable.
pub fn write_stderr(text: &str, level: Level) {
    if text.is_empty() {
        return;
    }
    if LOG_FORMAT.get() == Some(&Format::Json) {
        let message = text.trim_end();
        match level {
            Level::Error => tracing::error!("{message}"),
            Level::Warn => tracing::warn!("{message}"),
            Level::Info => tracing::info!("{message}"),
        }
        return;
    }
    let text = model::printable::escape(text);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Reports a failure on stderr: `error: MESSAGE` (an ERROR event with `--log-format json`).
pub fn error(message: &str) {
    write_stderr(&format!("error: {message}\n"), Level::Error);
}

/// Renders a job's result: its report (JSON, or text unless `-q`) and exit status (`success`
/// tells whether the report is a success), or the error: 2 for usage and configuration errors
/// (nothing written), else 1.
///
/// # Errors
/// The report cannot be serialised or written.
pub fn finish<R: serde::Serialize + std::fmt::Display>(
    result: Result<R, JobError>,
    global: &Global,
    success: impl Fn(&R) -> bool,
) -> Result<Outcome, Error> {
    let report = match result {
        Ok(report) => report,
        // The message is complete on its own (no cause chain: it would repeat).
        Err(err) => {
            error(&err.to_string());
            return Ok(if err.is_usage_error() {
                Outcome::ConfigError
            } else {
                Outcome::Findings
            });
        }
    };
    match global.format {
        Format::Json => write_json(&report)?,
        Format::Text if global.quiet => {}
        Format::Text => write_stdout(&report.to_string())?,
    }
    Ok(Outcome::findings_if(!success(&report)))
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn colours_only_on_a_terminal_and_never_with_no_color() {
        assert!(colour_from(env(&[]), true));
        assert!(!colour_from(env(&[]), false));
        assert!(!colour_from(env(&[("NO_COLOR", "1")]), true));
        // no-color.org: an empty NO_COLOR does not count.
        assert!(colour_from(env(&[("NO_COLOR", "")]), true));
        assert!(colour_from(env(&[("CLICOLOR_FORCE", "1")]), false));
        assert!(!colour_from(env(&[("CLICOLOR_FORCE", "0")]), false));
        let both = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "yes")];
        assert!(!colour_from(env(&both), true));
    }

    #[test]
    fn progress_only_on_a_terminal_with_text_logs_and_not_quiet() {
        let global = |quiet, log_format| Global {
            format: Format::Text,
            verbose: 0,
            quiet,
            log_format,
        };
        assert!(progress_visible(true, &global(false, Format::Text)));
        assert!(!progress_visible(false, &global(false, Format::Text)));
        assert!(!progress_visible(true, &global(true, Format::Text)));
        assert!(!progress_visible(true, &global(false, Format::Json)));
    }
}
