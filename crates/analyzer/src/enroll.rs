//! `analyzer enroll`: flags → [`factory::enroll`] → the entry and the next steps. Exit 0 enrolled
//! (or shown, with `--dry-run`); 2 a duplicate, an invalid value, a configuration error or a file
//! that cannot be spliced (nothing written); 1 the file could not be written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use factory::{EnrollOptions, FactoryDir, JobError};
use model::enrollment::{Draft, DraftSource};

use crate::output::{self, Format, Global, Outcome};

/// Arguments of `analyzer enroll` (SPEC §6.1's keys of a managed image).
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Values equal to their defaults (factory.yaml's `defaults`, SPEC §6.1) are \
    left out of the entry. Every value is checked by the same rules as `analyzer validate`; \
    nothing is written unless the whole file validates.\n\nExamples:\n  \
    analyzer enroll --factory-dir image-factory --name web --repo acme/web\n  \
    analyzer enroll --name backstage --repo acme/portal --repository acme/backstage \
    --dockerfile packages/backend/Dockerfile --workflow build.yml --delay 3d \
    --comment 'Developer portal.'\n  \
    analyzer enroll --name billing --repo acme/payments/billing --provider gitlab \
    --registry registry.gitlab.com --input DEPLOY=no --pin-input BASE_IMAGES --dry-run"
)]
pub struct Args {
    /// The factory dir holding images.yaml and factory.yaml.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    factory_dir: PathBuf,
    /// The image's name: a DNS-1123 label of at most 40 characters.
    #[arg(long)]
    name: String,
    /// The source repository: OWNER/NAME (GitLab: GROUP/.../NAME).
    #[arg(long, value_name = "OWNER/REPO")]
    repo: String,
    /// Git hosting: github or gitlab [default: github].
    #[arg(long)]
    provider: Option<String>,
    /// Self-hosted GitLab host (with --provider gitlab).
    #[arg(long)]
    host: Option<String>,
    /// Branch to build and watch [default: main].
    #[arg(long)]
    branch: Option<String>,
    /// Path of the Dockerfile in the repository [default: Dockerfile].
    #[arg(long, value_name = "PATH")]
    dockerfile: Option<String>,
    /// Build context directory [default: the Dockerfile's directory].
    #[arg(long, value_name = "DIR")]
    context: Option<String>,
    /// GitHub Actions workflow file to dispatch [default: NAME.yml].
    #[arg(long, value_name = "FILE")]
    workflow: Option<String>,
    /// An extra workflow input / pipeline variable (repeatable).
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = key_value)]
    inputs: Vec<(String, String)>,
    /// A build arg for resolving FROM lines (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE", value_parser = key_value)]
    build_args: Vec<(String, String)>,
    /// Platform for resolving FROM lines [default: linux/amd64].
    #[arg(long, value_name = "OS/ARCH")]
    platform: Option<String>,
    /// The input / variable that receives the soaked base digests as build-context lines.
    #[arg(long, value_name = "NAME")]
    pin_input: Option<String>,
    /// Registry host of the built image [default: factory.yaml's defaults.registry].
    #[arg(long, value_name = "HOST")]
    registry: Option<String>,
    /// Repository of the built image [default: OWNER/NAME; GitLab: the project's path].
    #[arg(long, value_name = "PATH")]
    repository: Option<String>,
    /// Rebuild delay, e.g. 7d, 36h, 0 [default: factory.yaml's defaults.rebuildDelay].
    #[arg(long, value_name = "DURATION")]
    delay: Option<String>,
    /// Rebuild priority: critical, high, normal or low [default: factory.yaml's].
    #[arg(long)]
    priority: Option<String>,
    /// Rebuild only by hand (autoRebuild: false).
    #[arg(long)]
    no_auto_rebuild: bool,
    /// A comment written above the entry.
    #[arg(long, value_name = "TEXT")]
    comment: Option<String>,
    /// Check and show the entry; write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `KEY=VALUE`.
fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let dir = FactoryDir::load(&args.factory_dir);
    if dir.has_errors() {
        let end = "error: configuration is invalid; fix it before enrolling; nothing was written\n";
        output::write_stderr(&(dir.render_all(false) + end), output::Level::Error);
        return Ok(Outcome::ConfigError);
    }
    let options = EnrollOptions {
        draft: Draft {
            name: args.name,
            registry: args.registry,
            repository: args.repository,
            source: DraftSource {
                provider: args.provider,
                repo: args.repo,
                branch: args.branch,
                dockerfile: args.dockerfile,
                context: args.context,
                workflow: args.workflow,
                inputs: args.inputs.into_iter().collect::<BTreeMap<_, _>>(),
                build_args: args.build_args.into_iter().collect(),
                platform: args.platform,
                pin_input: args.pin_input,
                host: args.host,
            },
            rebuild_delay: args.delay,
            auto_rebuild: args.no_auto_rebuild.then_some(false),
            priority: args.priority,
        },
        comment: args.comment,
        dry_run: args.dry_run,
    };
    match factory::enroll(&dir, &options) {
        Ok(report) => {
            match global.format {
                Format::Json => output::write_json(&report)?,
                Format::Text if global.quiet => {}
                Format::Text => output::write_stdout(&report.to_string())?,
            }
            Ok(Outcome::Success)
        }
        Err(JobError::Enroll(err)) => {
            output::write_stderr(
                &format!("{}error: {err}\n", err.render()),
                output::Level::Error,
            );
            if global.format == Format::Json {
                output::write_json(&serde_json::json!({
                    "error": err.to_string(),
                    "diagnostics": err.diagnostics(),
                }))?;
            }
            Ok(Outcome::ConfigError)
        }
        Err(err) => Err(err.into()),
    }
}
