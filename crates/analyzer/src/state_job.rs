//! What `analyze`, `check` and `observe` share: the factory dir, the clock, the lock, committing
//! and pushing, and how their reports and errors are rendered.

use std::path::PathBuf;
use std::time::Duration;

use factory::{FactoryDir, JobError, PushOptions, WatchOptions};

use crate::output::{self, Format, Global, Outcome};

/// Options of every job that writes state files.
#[derive(clap::Args, Debug, Clone)]
pub struct StateArgs {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
    /// The time of this run (RFC 3339); default SOURCE_DATE_EPOCH, else the system clock.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Commit the changed state files (one commit; none when nothing changed).
    #[arg(long)]
    pub commit: bool,
    /// Push the commit (fetch, rebase and retry when rejected).
    #[arg(long, requires = "commit")]
    push: bool,
    /// Remote to push to.
    #[arg(long, default_value = "origin")]
    remote: String,
    /// Push attempts before giving up.
    #[arg(long, default_value_t = 5)]
    push_attempts: u32,
    /// Milliseconds to wait before the first push retry (doubled each time, at most 8 s).
    #[arg(long, default_value_t = 500, hide = true)]
    push_backoff_ms: u64,
    /// Seconds to wait for another analyzer holding the factory dir's lock.
    #[arg(long, default_value_t = 120)]
    lock_timeout: u64,
}

impl StateArgs {
    /// The factory dir (with its state preloaded when `preload`) and the run's options, or the
    /// exit status after the configuration's errors were printed.
    pub fn load(
        &self,
        preload: bool,
    ) -> anyhow::Result<Result<(FactoryDir, WatchOptions), Outcome>> {
        let environment = factory::Environment::from_process();
        let now = environment.clock(self.now.as_deref());
        let lock_timeout = Duration::from_secs(self.lock_timeout);
        let dir = match &now {
            Ok(now) if preload => {
                FactoryDir::load_preloading_state(&self.factory_dir, *now, lock_timeout)
            }
            _ => FactoryDir::load(&self.factory_dir),
        };
        if dir.has_errors() {
            output::write_stderr(&dir.render_all(false), output::Level::Error);
            output::error("configuration is invalid; nothing was written");
            return Ok(Err(Outcome::ConfigError));
        }
        let options = WatchOptions {
            now: now?,
            commit: self.commit,
            push: self.push.then(|| PushOptions {
                remote: self.remote.clone(),
                attempts: self.push_attempts,
                backoff: Duration::from_millis(self.push_backoff_ms),
            }),
            lock_timeout,
            environment,
        };
        Ok(Ok((dir, options)))
    }
}

/// Renders a job's result: its report (JSON or text) and exit status, or the error: 2 for usage
/// and configuration errors (nothing written), else 1.
pub fn finish<R: serde::Serialize + std::fmt::Display>(
    result: Result<R, JobError>,
    global: &Global,
    success: impl Fn(&R) -> bool,
) -> anyhow::Result<Outcome> {
    let report = match result {
        Ok(report) => report,
        // The message is complete on its own (no cause chain: it would repeat).
        Err(err) => {
            output::error(&err.to_string());
            return Ok(if err.is_usage_error() {
                Outcome::ConfigError
            } else {
                Outcome::Findings
            });
        }
    };
    match global.format {
        Format::Json => output::write_json(&report)?,
        Format::Text if global.quiet => {}
        Format::Text => output::write_stdout(&report.to_string())?,
    }
    Ok(Outcome::findings_if(!success(&report)))
}
