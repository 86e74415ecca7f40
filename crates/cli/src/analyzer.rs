//! The command line of `analyzer` (SPEC §10): its clap [`Cli`], each subcommand's arguments and
//! their mapping to the options of the `factory` jobs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory as _, Parser, Subcommand};
use factory::{
    AnalyzeOptions, Build, CheckOptions, EmergencyOptions, EmergencyTarget, EnrollOptions,
    FactoryDir, ObserveOptions, PushOptions, Sources, TriggerOptions, VersionsOptions,
    WatchOptions,
};
use model::enrollment::{Draft, DraftSource};

use crate::{Global, Outcome};

/// Discover base images, validate enrolment and keep image-factory's state.
#[derive(Parser)]
#[command(
    name = "analyzer",
    version = env!("IMAGE_FACTORY_VERSION"),
    about = "image-factory analyzer: discovers base images, keeps state, watches registries",
    propagate_version = true
)]
pub struct Cli {
    /// The options every subcommand accepts.
    #[command(flatten)]
    pub global: Global,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `analyzer`.
#[derive(Subcommand)]
pub enum Command {
    /// Parse image references like distribution/reference's ParseNormalizedNamed.
    ParseRef(ParseRefArgs),
    /// Validate images.yaml and factory.yaml of a factory dir, reporting every problem.
    Validate(ValidateArgs),
    /// List the base images of a Dockerfile as `docker buildx build` would resolve them.
    BaseImages(BaseImagesArgs),
    /// Analyse enrolled images' Dockerfiles and update the state files (optionally commit and push).
    Analyze(AnalyzeArgs),
    /// Ask the registries for the digest of every watched base tag (one HEAD each) and record
    /// what moved.
    Check(CheckArgs),
    /// Record a digest of a base that a Kargo Warehouse saw, exactly as `check` would.
    Observe(ObserveArgs),
    /// Show which images the rebuild engine would dispatch now, and why the others wait.
    Plan(PlanArgs),
    /// Dispatch the CI of every image due for a rebuild, and record the outcome.
    Trigger(TriggerArgs),
    /// Bypass the rebuild delay of an image, or of every dependent of a base, with a reason.
    Emergency(EmergencyArgs),
    /// List an image's tags from its registry, newest version first.
    Versions(VersionsArgs),
    /// Append a managed image's entry to images.yaml (comments and layout kept), validated.
    Enroll(Box<EnrollArgs>),
}

/// The clap definition of `analyzer`, its subcommands and options (for `cargo xtask dist`).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Arguments of `analyzer parse-ref`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  analyzer parse-ref node:22 ghcr.io/org/app@sha256:...\n  \
                        analyzer parse-ref --format json mcr.microsoft.com/playwright:v1.40.0-focal"
)]
pub struct ParseRefArgs {
    /// The references to parse.
    #[arg(required = true, value_name = "REF")]
    pub refs: Vec<String>,
}

/// Arguments of `analyzer validate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  analyzer validate --factory-dir image-factory\n  \
                        analyzer validate --factory-dir image-factory --format json"
)]
pub struct ValidateArgs {
    /// The factory dir holding images.yaml (required) and factory.yaml (optional).
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
}

/// Arguments of `analyzer base-images`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    analyzer base-images Dockerfile\n  \
    analyzer base-images --format json --build-arg NODE_VERSION=22 app/Dockerfile\n  \
    analyzer base-images --platform linux/arm64 - < Dockerfile\n\n\
    Exit status: 0 resolved, 1 the Dockerfile has errors (listed), 2 usage or I/O error.")]
pub struct BaseImagesArgs {
    /// A build arg, as `docker build --build-arg`: `K=V`, or `K` to take the value from the
    /// environment. Overrides the default of a declared ARG only. Repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// The target platform, `OS/ARCH[/VARIANT]`.
    #[arg(long, value_name = "OS/ARCH", default_value = "linux/amd64")]
    pub platform: String,
    /// The Dockerfile, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Options of every job that writes state files: the factory dir, the clock, the lock,
/// committing and pushing.
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
    /// exit status after the configuration's errors were written to stderr.
    ///
    /// # Errors
    /// `--now` is not a time (and the configuration has no errors).
    pub fn load(
        &self,
        preload: bool,
    ) -> Result<Result<(FactoryDir, WatchOptions), Outcome>, crate::Error> {
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
            crate::write_stderr(&dir.render_all(false), crate::Level::Error);
            crate::error("configuration is invalid; nothing was written");
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

/// Arguments of `analyzer analyze`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer analyze --factory-dir image-factory --source-root fixtures/sources --now 2026-01-01T00:00:00Z\n  \
    analyzer analyze --factory-dir image-factory --clone --image backstage --commit --push\n  \
    analyzer analyze --image backstage --built-tag 1.4.2 --built-digest sha256:... --clone --commit --push")]
pub struct AnalyzeArgs {
    /// The factory dir, the clock, the lock, committing and pushing.
    #[command(flatten)]
    pub state: StateArgs,
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

impl AnalyzeArgs {
    /// The options of [`factory::analyze`], with the run's options from [`StateArgs::load`].
    pub fn options(self, run: WatchOptions) -> AnalyzeOptions {
        AnalyzeOptions {
            sources: match self.source_root {
                Some(root) => Sources::Root(root),
                None => Sources::Clone {
                    url_base: self.clone_url_base,
                },
            },
            build: self
                .built_tag
                .zip(self.built_digest)
                .map(|(tag, digest)| Build { tag, digest }),
            images: self.images,
            now: run.now,
            commit: run.commit,
            push: run.push,
            lock_timeout: run.lock_timeout,
            environment: run.environment,
        }
    }
}

/// Arguments of `analyzer check`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer check --factory-dir image-factory\n  \
    analyzer check --base node-22-bookworm-slim --format json\n  \
    analyzer check --commit --push   # cluster-less mode, from a CI schedule")]
pub struct CheckArgs {
    /// The factory dir, the clock, the lock, committing and pushing.
    #[command(flatten)]
    pub state: StateArgs,
    /// Only this base (its id, the file name under state/base-images/; repeatable).
    #[arg(long = "base", value_name = "ID")]
    bases: Vec<String>,
}

impl CheckArgs {
    /// The options of [`factory::check`], with the run's options from [`StateArgs::load`].
    pub fn options(self, watch: WatchOptions) -> CheckOptions {
        CheckOptions {
            bases: self.bases,
            limits: Default::default(),
            watch,
        }
    }
}

/// Arguments of `analyzer observe`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Example (what the Kargo observe-<id> Stage's Job runs):\n  \
    analyzer observe --base node-22 --digest sha256:... --commit --push"
)]
pub struct ObserveArgs {
    /// The factory dir, the clock, the lock, committing and pushing.
    #[command(flatten)]
    pub state: StateArgs,
    /// The base (its id, the file name under state/base-images/).
    #[arg(long, value_name = "ID")]
    base: String,
    /// The digest the Warehouse saw (`sha256:<64 hex>`).
    #[arg(long, value_name = "DIGEST")]
    digest: String,
}

impl ObserveArgs {
    /// The options of [`factory::observe`], with the run's options from [`StateArgs::load`].
    pub fn options(self, watch: WatchOptions) -> ObserveOptions {
        ObserveOptions {
            base: self.base,
            digest: self.digest,
            watch,
        }
    }
}

/// Arguments of `analyzer plan`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer plan --factory-dir image-factory\n  \
    analyzer plan --now 2026-03-09T00:00:00Z --format json\n  \
    analyzer plan --what-if node:22-bookworm-slim --at 2026-03-10T09:00:00Z")]
pub struct PlanArgs {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
    /// The time to plan for (RFC 3339); default SOURCE_DATE_EPOCH, else the system clock.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Show instead the rebuilds, across the fleet, if this base (id or reference) or managed
    /// image moved, and when each becomes due.
    #[arg(long, value_name = "REF")]
    pub what_if: Option<String>,
    /// With --what-if: when it moves (RFC 3339); default --now.
    #[arg(long, value_name = "RFC3339", requires = "what_if")]
    pub at: Option<String>,
}

/// Arguments of `analyzer trigger`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Tokens come from the environment only: GITHUB_TOKEN, GITLAB_TRIGGER_TOKEN \
    (or *_FILE naming a file).\n\nExamples:\n  \
    analyzer trigger --factory-dir image-factory --dry-run\n  \
    analyzer trigger --commit --push   # from a CI schedule or the Kargo CronJob"
)]
pub struct TriggerArgs {
    /// The factory dir, the clock, the lock, committing and pushing.
    #[command(flatten)]
    pub state: StateArgs,
    /// Show the requests that would be sent; send nothing, write nothing.
    #[arg(long, conflicts_with = "commit")]
    dry_run: bool,
}

impl TriggerArgs {
    /// The options of [`factory::trigger`], with the run's options from [`StateArgs::load`].
    pub fn options(self, watch: WatchOptions) -> TriggerOptions {
        TriggerOptions {
            dry_run: self.dry_run,
            limits: Default::default(),
            watch,
        }
    }
}

/// Arguments of `analyzer emergency`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "The notification webhook's URL comes from the environment only: \
    IMAGE_FACTORY_WEBHOOK_URL (or IMAGE_FACTORY_WEBHOOK_URL_FILE naming a file).\n\nExamples:\n  \
    analyzer emergency --base node:22-bookworm-slim --reason 'CVE-2026-1234 in openssl' \
    --actor alice --commit --push\n  \
    analyzer emergency --image billing-worker --reason 'approved rebuild' --actor bob --trigger"
)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["image", "base"])))]
pub struct EmergencyArgs {
    /// The factory dir, the clock, the lock, committing and pushing.
    #[command(flatten)]
    pub state: StateArgs,
    /// A managed image whose pending updates are rebuilt now (its children follow).
    #[arg(long, value_name = "NAME")]
    image: Option<String>,
    /// A base (id or reference) whose new digest every dependent is rebuilt on now, cascade
    /// included.
    #[arg(long, value_name = "ID|REF")]
    base: Option<String>,
    /// Why (required; recorded in the state and the audit log).
    #[arg(long, required = true)]
    reason: String,
    /// Who declares it.
    #[arg(long, env = "IMAGE_FACTORY_ACTOR", required = true)]
    actor: String,
    /// Dispatch at once (`analyzer trigger`) instead of at the next tick.
    #[arg(long)]
    trigger: bool,
}

impl EmergencyArgs {
    /// The options of [`factory::emergency`], with the run's options from [`StateArgs::load`];
    /// `None` without `--image` and `--base` (clap requires one of them).
    pub fn options(self, watch: WatchOptions) -> Option<EmergencyOptions> {
        let target = match (self.image, self.base) {
            (Some(image), _) => EmergencyTarget::Image(image),
            (None, Some(base)) => EmergencyTarget::Base(base),
            (None, None) => return None,
        };
        Some(EmergencyOptions {
            target,
            reason: self.reason,
            actor: self.actor,
            trigger: self.trigger,
            limits: Default::default(),
            watch,
        })
    }
}

/// Arguments of `analyzer versions`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "A reference's tag or digest is ignored: every tag of its repository is listed.\n\n\
    Examples:\n  analyzer versions backstage --factory-dir image-factory\n  \
    analyzer versions node --digests\n  analyzer versions ghcr.io/org/app --all --format json"
)]
pub struct VersionsArgs {
    /// An image enrolled in the factory dir's images.yaml, else an image reference.
    #[arg(value_name = "NAME|REF")]
    pub image: String,
    /// Also list the tags that are not versions (latest, branches, commit hashes).
    #[arg(long)]
    all: bool,
    /// Show the digest of each listed tag (one manifest HEAD per tag).
    #[arg(long)]
    digests: bool,
    /// The factory dir: enrolled names and factory.yaml's registries settings (optional).
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
    /// Tags asked for per page of the registry's tag list.
    #[arg(long, hide = true, default_value_t = VersionsOptions::DEFAULT_PAGE_SIZE)]
    page_size: u32,
}

impl VersionsArgs {
    /// The options of [`factory::versions`].
    pub fn options(&self) -> VersionsOptions {
        VersionsOptions {
            all: self.all,
            digests: self.digests,
            page_size: self.page_size,
            environment: factory::Environment::from_process(),
        }
    }
}

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
pub struct EnrollArgs {
    /// The factory dir holding images.yaml and factory.yaml.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
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

impl EnrollArgs {
    /// The options of [`factory::enroll`]: the entry as typed (a [`Draft`]), the comment and
    /// `--dry-run`.
    pub fn options(self) -> EnrollOptions {
        EnrollOptions {
            draft: Draft {
                name: self.name,
                registry: self.registry,
                repository: self.repository,
                source: DraftSource {
                    provider: self.provider,
                    repo: self.repo,
                    branch: self.branch,
                    dockerfile: self.dockerfile,
                    context: self.context,
                    workflow: self.workflow,
                    inputs: self.inputs.into_iter().collect::<BTreeMap<_, _>>(),
                    build_args: self.build_args.into_iter().collect(),
                    platform: self.platform,
                    pin_input: self.pin_input,
                    host: self.host,
                },
                rebuild_delay: self.delay,
                auto_rebuild: self.no_auto_rebuild.then_some(false),
                priority: self.priority,
            },
            comment: self.comment,
            dry_run: self.dry_run,
        }
    }
}
