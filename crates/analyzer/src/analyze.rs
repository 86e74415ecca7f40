//! `analyzer analyze`: flags → [`factory::analyze`] → report. Exit 0 everything analysed; 1 some
//! image, state file, commit or push failed (the state files are written); 2 usage or
//! configuration error (nothing written).

use std::path::PathBuf;

use factory::{AnalyzeOptions, Build, Sources};

use crate::output::{Global, Outcome};
use crate::state_job::{self, StateArgs};

/// Arguments of `analyzer analyze`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer analyze --factory-dir image-factory --source-root fixtures/sources --now 2026-01-01T00:00:00Z\n  \
    analyzer analyze --factory-dir image-factory --clone --image backstage --commit --push\n  \
    analyzer analyze --image backstage --built-tag 1.4.2 --built-digest sha256:... --clone --commit --push")]
pub struct Args {
    #[command(flatten)]
    state: StateArgs,
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
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let (dir, run) = match args.state.load(true)? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
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
        now: run.now,
        commit: run.commit,
        push: run.push,
        lock_timeout: run.lock_timeout,
        environment: run.environment,
    };
    let result = factory::analyze(&dir, &options);
    state_job::finish(result, global, factory::AnalyzeReport::is_success)
}
