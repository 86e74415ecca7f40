//! `analyzer analyze`: flags → [`factory::analyze`] → report. Exit 0 everything analysed; 1 some
//! image, state file, commit or push failed (the state files are written); 2 usage or
//! configuration error (nothing written).

use std::path::PathBuf;
use std::time::Duration;

use factory::{AnalyzeOptions, Build, FactoryDir, PushOptions, Sources};

use crate::output::{self, Format, Global, Outcome};

/// Arguments of `analyzer analyze`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer analyze --factory-dir image-factory --source-root fixtures/sources --now 2026-01-01T00:00:00Z\n  \
    analyzer analyze --factory-dir image-factory --clone --image backstage --commit --push\n  \
    analyzer analyze --image backstage --built-tag 1.4.2 --built-digest sha256:... --clone --commit --push")]
pub struct Args {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    factory_dir: PathBuf,
    /// Directory holding the source repositories as `<owner>/<name>/` (GitLab: `<group>/.../<name>/`).
    #[arg(long, value_name = "DIR", required_unless_present = "clone")]
    source_root: Option<PathBuf>,
    /// Shallow-clone each needed source repository with git (token from GITHUB_TOKEN/GITLAB_TOKEN).
    #[arg(long, conflicts_with = "source_root")]
    clone: bool,
    /// Base URL replacing `https://github.com` / `https://gitlab.com` for `--clone` (mirrors, tests).
    #[arg(
        long,
        value_name = "URL",
        hide = true,
        env = "IMAGE_FACTORY_CLONE_URL_BASE"
    )]
    clone_url_base: Option<String>,
    /// Only these images (repeatable); the others' files are untouched.
    #[arg(long = "image", value_name = "NAME")]
    images: Vec<String>,
    /// Record a new build of the (single) `--image`: its tag.
    #[arg(long, value_name = "TAG", requires = "built_digest")]
    built_tag: Option<String>,
    /// Record a new build of the (single) `--image`: its digest.
    #[arg(long, value_name = "DIGEST", requires = "built_tag")]
    built_digest: Option<String>,
    /// The time of this run (RFC 3339); default SOURCE_DATE_EPOCH, else the system clock.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Commit the changed state files (one commit; none when nothing changed).
    #[arg(long)]
    commit: bool,
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

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let environment = factory::Environment::from_process();
    let now = environment.clock(args.now.as_deref());
    let lock_timeout = Duration::from_secs(args.lock_timeout);
    let dir = match &now {
        Ok(now) => FactoryDir::load_preloading_state(&args.factory_dir, *now, lock_timeout),
        Err(_) => FactoryDir::load(&args.factory_dir),
    };
    if dir.has_errors() {
        let end = "error: configuration is invalid; nothing was written\n";
        output::write_stderr(&(dir.render_all(false) + end));
        return Ok(Outcome::ConfigError);
    }
    let options = AnalyzeOptions {
        sources: match args.source_root {
            Some(root) => Sources::Root(root),
            None => Sources::Clone {
                url_base: args.clone_url_base,
            },
        },
        build: args
            .built_tag
            .zip(args.built_digest)
            .map(|(tag, digest)| Build { tag, digest }),
        images: args.images,
        now: now?,
        commit: args.commit,
        push: args.push.then(|| PushOptions {
            remote: args.remote,
            attempts: args.push_attempts,
            backoff: Duration::from_millis(args.push_backoff_ms),
        }),
        lock_timeout,
        environment,
    };
    let report = match factory::analyze(&dir, &options) {
        // Options that do not fit, or `--commit` on someone else's uncommitted work.
        Err(err @ (factory::JobError::Usage(_) | factory::JobError::DirtyWorkTree { .. })) => {
            output::write_stderr(&format!("error: {err}\n"));
            return Ok(Outcome::ConfigError);
        }
        // The message is complete on its own: no cause chain (it would repeat).
        other => other.map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    match global.format {
        Format::Json => output::write_json(&report)?,
        Format::Text if global.quiet => {}
        Format::Text => output::write_stdout(&report.to_string())?,
    }
    Ok(Outcome::findings_if(!report.is_success()))
}
