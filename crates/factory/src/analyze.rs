//! The analyze job (SPEC §7, §10): enrolment + Dockerfiles → state files, optionally committed and
//! pushed, with the analysis redone on the fresh state when a rebase conflicts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use model::enrollment::EffectiveImage;
use model::time::Timestamp;
use serde::Serialize;
use state::discover::Outcome as Discovery;
use state::format::LoadError;
use state::git::{Access, Askpass, Author, Credentials};
use state::store::Plan;
use state::update::{self, BuildRecord, Event, Input};

use crate::commit::{self, Changes, Publish};
use crate::dir::{Config, FactoryDir};
use crate::error::{JobError, UsageError};
use crate::sources;

/// Where the Dockerfiles are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sources {
    /// A directory holding the source repositories as `<owner>/<name>/` (GitLab:
    /// `<group>/.../<name>/`).
    Root(PathBuf),
    /// One shallow clone per (repository, branch) with `git`; `url_base` replaces
    /// `https://github.com` / `https://gitlab.com` (mirrors, tests).
    Clone {
        /// The replacement base URL.
        url_base: Option<String>,
    },
}

/// A new build of a managed image to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    /// The tag built.
    pub tag: String,
    /// The digest built (`sha256:<64 hex>`).
    pub digest: String,
}

/// Pushing the commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushOptions {
    /// The remote.
    pub remote: String,
    /// Attempts before giving up.
    pub attempts: u32,
    /// Wait before the first retry (doubled each time, bounded).
    pub backoff: Duration,
}

/// What the process environment contributes to a job. Binaries read it once
/// ([`Environment::from_process`]); tests and other tools state it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// Token for GitHub clones and workflow dispatches (`GITHUB_TOKEN`, or the file named by
    /// `GITHUB_TOKEN_FILE`, e.g. a mounted Secret).
    pub github_token: Option<String>,
    /// Token for GitLab clones (`GITLAB_TOKEN`).
    pub gitlab_token: Option<String>,
    /// GitLab pipeline trigger token of `analyzer trigger` (`GITLAB_TRIGGER_TOKEN`, or the file
    /// named by `GITLAB_TRIGGER_TOKEN_FILE`).
    pub gitlab_trigger_token: Option<String>,
    /// The notification webhook of `analyzer emergency` (`IMAGE_FACTORY_WEBHOOK_URL`, or the file
    /// named by `IMAGE_FACTORY_WEBHOOK_URL_FILE`): a secret, as chat webhooks carry their token.
    pub webhook_url: Option<String>,
    /// The author that wins over every other (`IMAGE_FACTORY_GIT_AUTHOR`, `Name <email>`).
    pub author_override: Option<String>,
    /// The author git would use (`GIT_AUTHOR_NAME` and `GIT_AUTHOR_EMAIL`, both non-empty).
    pub git_author: Option<Author>,
    /// The clock of reproducible builds (`SOURCE_DATE_EPOCH`, seconds since 1970).
    pub source_date_epoch: Option<String>,
    /// Credentials for every git remote (`GIT_USERNAME`, default `x-access-token`, and
    /// `GIT_PASSWORD`; the analysis Job sets them from the `git-credentials` Secret), handed to
    /// git through an askpass helper. `None` when `GIT_ASKPASS` is already set: the caller's own
    /// helper wins.
    pub git_credentials: Option<Credentials>,
    /// Transports git may use besides https and ssh (`IMAGE_FACTORY_GIT_ALLOW_PROTOCOL`,
    /// colon-separated, e.g. `file` for local repositories in tests); `ext` is never allowed.
    pub git_protocols: Vec<String>,
    /// The Docker config holding registry credentials (`$DOCKER_CONFIG/config.json`, else
    /// `$HOME/.docker/config.json`; a missing file means anonymous access).
    pub docker_config: Option<PathBuf>,
}

impl Environment {
    /// Reads the variables of the current process.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        // A token in a file (a mounted Secret): its content, trimmed; unreadable means unset.
        let file = |name: &str| {
            let path = var(name)?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| tracing::warn!("{name}={path}: {e}"))
                .ok()?;
            Some(text.trim().to_owned()).filter(|t| !t.is_empty())
        };
        Self {
            github_token: var("GITHUB_TOKEN").or_else(|| file("GITHUB_TOKEN_FILE")),
            gitlab_trigger_token: var("GITLAB_TRIGGER_TOKEN")
                .or_else(|| file("GITLAB_TRIGGER_TOKEN_FILE")),
            gitlab_token: var("GITLAB_TOKEN"),
            webhook_url: var("IMAGE_FACTORY_WEBHOOK_URL")
                .or_else(|| file("IMAGE_FACTORY_WEBHOOK_URL_FILE")),
            author_override: var("IMAGE_FACTORY_GIT_AUTHOR"),
            git_author: var("GIT_AUTHOR_NAME")
                .zip(var("GIT_AUTHOR_EMAIL"))
                .map(|(name, email)| Author { name, email }),
            source_date_epoch: var("SOURCE_DATE_EPOCH"),
            git_credentials: var("GIT_PASSWORD")
                .filter(|_| var("GIT_ASKPASS").is_none())
                .map(|password| Credentials {
                    username: var("GIT_USERNAME").unwrap_or_else(|| "x-access-token".to_owned()),
                    password,
                }),
            git_protocols: var("IMAGE_FACTORY_GIT_ALLOW_PROTOCOL")
                .map(|v| v.split(':').map(str::to_owned).collect())
                .unwrap_or_default(),
            docker_config: registry::docker_config_path(
                var("DOCKER_CONFIG").as_deref().map(Path::new),
                var("HOME").as_deref().map(Path::new),
            ),
        }
    }

    /// How git reaches remotes in this environment: the allowed transports and, when there are
    /// credentials or tokens, the askpass helper (removed when the returned guard is dropped).
    pub(crate) fn git_access(&self) -> Result<(Access, Option<Askpass>), JobError> {
        let needs_askpass = self.git_credentials.is_some()
            || self.github_token.is_some()
            || self.gitlab_token.is_some();
        let askpass = if needs_askpass {
            Some(Askpass::create(&std::env::temp_dir())?)
        } else {
            None
        };
        let access = Access {
            extra_protocols: self.git_protocols.clone(),
            credentials: self
                .git_credentials
                .clone()
                .zip(askpass.as_ref().map(|a| a.path().to_path_buf())),
        };
        Ok((access, askpass))
    }

    /// The time of a run: `now` (RFC 3339) when given, else [`Environment::source_date_epoch`],
    /// else the system clock.
    ///
    /// # Errors
    /// When `now` or the epoch does not parse.
    pub fn clock(&self, now: Option<&str>) -> Result<Timestamp, state::clock::ClockError> {
        let epoch = self.source_date_epoch.as_deref();
        state::clock::resolve(now, epoch, state::clock::system_now())
    }
}

/// Options of [`analyze`].
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// Where the Dockerfiles are.
    pub sources: Sources,
    /// Only these images (empty: all); the others' files are untouched.
    pub images: Vec<String>,
    /// A build of the single selected image to record.
    pub build: Option<Build>,
    /// The time of this run.
    pub now: Timestamp,
    /// Commit the changed state files (one commit; none when nothing changed).
    pub commit: bool,
    /// Push the commit (with `commit`).
    pub push: Option<PushOptions>,
    /// How long to wait for another process holding the factory dir's lock.
    pub lock_timeout: Duration,
    /// Tokens and commit authors.
    pub environment: Environment,
}

/// The report of a run (`analyzer analyze --format json`, field order as documented).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AnalyzeReport {
    /// The time of the run (RFC 3339).
    pub now: String,
    /// Images analysed, by name.
    pub analyzed: Vec<String>,
    /// Images whose discovery failed (their previous data is kept).
    pub failed: Vec<ImageFailure>,
    /// State files that could not be loaded (left untouched).
    pub load_errors: Vec<FileError>,
    /// What changed in the state.
    pub events: Vec<Event>,
    /// Files written, relative to the factory dir.
    pub files_written: Vec<String>,
    /// Files removed, relative to the factory dir.
    pub files_removed: Vec<String>,
    /// Bytes written.
    pub bytes_written: usize,
    /// The commit made (after a push: the pushed head).
    pub commit: Option<String>,
    /// Whether the commit was pushed.
    pub pushed: bool,
    /// Why committing or pushing failed (the state files are written).
    pub git_error: Option<String>,
}

impl AnalyzeReport {
    /// Whether everything was analysed, loaded, committed and pushed as asked.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.load_errors.is_empty() && self.git_error.is_none()
    }

    /// Bases that appeared (new or restored from the archive).
    pub fn bases_added(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::BaseAdded { .. } | Event::BaseRestored { .. }))
            .count()
    }

    /// Bases archived.
    pub fn bases_archived(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::BaseArchived { .. }))
            .count()
    }
}

/// An image whose analysis failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageFailure {
    /// The image.
    pub image: String,
    /// Why.
    pub error: String,
}

/// A state file that could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileError {
    /// The file, relative to the factory dir.
    pub file: String,
    /// Line (1-based; 0: the whole file).
    pub line: usize,
    /// Column (1-based; 0: the whole line).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl From<&LoadError> for FileError {
    fn from(e: &LoadError) -> Self {
        Self {
            file: e.file.clone(),
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        }
    }
}

/// Runs the analyze job on `dir`: checks the options against the configuration, then (under the
/// factory dir's lock) loads the state, analyses the selected images, writes the changed files and,
/// when asked, commits and pushes them.
///
/// # Errors
/// Configuration or usage errors (nothing written), the lock, reading or writing the state. A failed
/// commit or push is not an error: the files are written and [`AnalyzeReport::git_error`] says why.
pub fn analyze(dir: &FactoryDir, options: &AnalyzeOptions) -> Result<AnalyzeReport, JobError> {
    let config = dir.config()?;
    for d in dir.diagnostics() {
        tracing::warn!("{}:{}:{}: {}", d.file, d.line, d.column, d.message);
    }
    let only = selection(config, options)?;
    let build = build_record(config, options)?;
    let _lock = dir.lock(options.lock_timeout)?;
    let (access, askpass) = options.environment.git_access()?;
    // Before anything is written: `--commit` never starts on someone else's uncommitted work.
    let repo = if options.commit {
        Some(commit::prepare(dir, access.clone())?)
    } else {
        None
    };
    let run = Run {
        dir,
        config,
        options,
        only: only.as_ref(),
        build: build.as_ref(),
        access: &access,
        askpass: askpass.as_ref().map(Askpass::path),
    };
    let mut report = AnalyzeReport {
        now: options.now.to_string(),
        ..AnalyzeReport::default()
    };
    let (plan, changes) = run.analyze_and_write(&mut report)?;
    // Even when this run changed nothing: an earlier run may have left state files uncommitted
    // (its commit failed), and they must not stay so forever.
    if let Some(repo) = repo {
        let publish = Publish {
            dir,
            settings: &config.settings,
            environment: &options.environment,
            push: options.push.as_ref(),
        };
        let message = commit::commit_message(&changes, &report.events, &report.now);
        // After a rebase conflict the report describes the re-application, not the discarded
        // attempt.
        let mut reapplied: Option<AnalyzeReport> = None;
        let published =
            commit::commit_and_push(&publish, &repo, message, plan.paths().len(), &mut || {
                let mut again = AnalyzeReport {
                    now: report.now.clone(),
                    ..AnalyzeReport::default()
                };
                let (_, changes) = run.analyze_and_write(&mut again)?;
                let message = commit::commit_message(&changes, &again.events, &again.now);
                reapplied = Some(again);
                Ok(message)
            });
        if let Some(again) = reapplied {
            report = again;
        }
        report.commit = published.commit;
        report.pushed = published.pushed;
        report.git_error = published.error.map(|e| e.to_string());
    }
    Ok(report)
}

/// `options.images` as a set (`None`: every image), each enrolled.
fn selection(
    config: &Config,
    options: &AnalyzeOptions,
) -> Result<Option<BTreeSet<String>>, UsageError> {
    let enrolled: BTreeSet<&str> = config.images.iter().map(|i| i.name.as_str()).collect();
    if let Some(unknown) = options
        .images
        .iter()
        .find(|name| !enrolled.contains(name.as_str()))
    {
        return Err(UsageError::UnknownImage(unknown.clone()));
    }
    Ok((!options.images.is_empty()).then(|| options.images.iter().cloned().collect()))
}

/// The build record of `options.build`: exactly one selected image, managed, with a real digest.
fn build_record(
    config: &Config,
    options: &AnalyzeOptions,
) -> Result<Option<BuildRecord>, UsageError> {
    let Some(build) = &options.build else {
        return Ok(None);
    };
    let [image] = options.images.as_slice() else {
        return Err(UsageError::BuildNeedsOneImage);
    };
    if !config
        .images
        .iter()
        .any(|i| i.name == *image && i.is_managed())
    {
        return Err(UsageError::NotManaged(image.clone()));
    }
    if !state::legacy::is_digest(&build.digest) {
        return Err(UsageError::BadDigest(build.digest.clone()));
    }
    if !model::reference::is_tag(&build.tag) {
        return Err(UsageError::BadTag(build.tag.clone()));
    }
    Ok(Some(BuildRecord {
        image: image.clone(),
        tag: build.tag.clone(),
        digest: build.digest.clone(),
    }))
}

/// One run of the job, held so a rebase conflict can redo the analysis.
pub(crate) struct Run<'a> {
    pub(crate) dir: &'a FactoryDir,
    pub(crate) config: &'a Config,
    pub(crate) options: &'a AnalyzeOptions,
    only: Option<&'a BTreeSet<String>>,
    build: Option<&'a BuildRecord>,
    /// Transports and credentials of every git command.
    pub(crate) access: &'a Access,
    /// The askpass helper, when there are credentials or tokens.
    askpass: Option<&'a Path>,
}

impl Run<'_> {
    /// Loads the state, analyses the selected images, computes and writes the new state; returns
    /// the plan applied and which entities' files it touched.
    pub(crate) fn analyze_and_write(
        &self,
        report: &mut AnalyzeReport,
    ) -> Result<(Plan, Changes), JobError> {
        let started = Instant::now();
        let loaded = self.dir.load_state(self.options.now)?;
        tracing::info!(elapsed = ?started.elapsed(), files = loaded.files_loaded(), "state loaded");
        for err in &loaded.errors {
            tracing::error!("{err}");
        }
        report.load_errors = loaded.errors.iter().map(FileError::from).collect();
        let targets: Vec<&EffectiveImage> = self
            .config
            .images
            .iter()
            .filter(|i| i.is_managed())
            .filter(|i| self.only.is_none_or(|o| o.contains(&i.name)))
            .filter(|i| !loaded.frozen_images.contains(&i.name))
            .collect();
        let outcomes = sources::discover_all(
            self.dir.path(),
            &self.options.sources,
            &targets,
            &self.options.environment,
            self.access,
            self.askpass,
            self.dir.limits().dockerfile,
        )?;
        tracing::info!(elapsed = ?started.elapsed(), images = outcomes.len(), "dockerfiles analysed");
        report.analyzed = outcomes.keys().cloned().collect();
        report.failed = failures(&outcomes);
        let update = update::update(
            &loaded.state,
            &Input {
                enrollment: &self.config.images,
                outcomes: &outcomes,
                only: self.only,
                build: self.build,
                frozen_images: &loaded.frozen_images,
                frozen_bases: &loaded.frozen_bases,
                now: self.options.now,
                cascade_delay: self.config.settings.coordination.cascade_delay,
            },
        );
        for event in &update.events {
            tracing::info!(?event, "state change");
        }
        report.events = update.events;
        let store = self.dir.store();
        // A recorded build's children got a pending rebuild (the cascade): their files are written
        // too, whatever `--image` selected.
        let scope = self.only.map(|only| {
            let mut scope = only.clone();
            scope.extend(report.events.iter().filter_map(|e| match e {
                Event::Cascaded { name, .. } => Some(name.clone()),
                _ => None,
            }));
            scope
        });
        let plan = store.plan_scoped(&loaded, &update.state, scope.as_ref())?;
        tracing::info!(elapsed = ?started.elapsed(), writes = plan.writes.len(), "plan made");
        report.bytes_written = store.apply(&plan)?;
        report.files_written = plan.writes.iter().map(|(p, _)| display(p)).collect();
        report.files_removed = plan.deletes.iter().map(|p| display(p)).collect();
        tracing::info!(elapsed = ?started.elapsed(), "written");
        let changes = if self.options.commit {
            Changes::of(&plan, &loaded.state, &update.state)
        } else {
            Changes::default()
        };
        // Freeing a fleet's worth of state takes a noticeable time: let it happen off the main path.
        std::thread::spawn(move || drop((loaded, update.state, outcomes)));
        Ok((plan, changes))
    }
}

fn failures(outcomes: &BTreeMap<String, Discovery>) -> Vec<ImageFailure> {
    outcomes
        .iter()
        .filter_map(|(name, o)| match o {
            Discovery::Failed { error, .. } => Some(ImageFailure {
                image: name.clone(),
                error: error.to_string(),
            }),
            Discovery::Success(_) => None,
        })
        .collect()
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The text summary of `analyzer analyze`: a line of counts, then a line per failure, file and
/// commit.
impl fmt::Display for AnalyzeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "analyzed {} image(s), {} failed; bases +{} -{}; {} file(s) written, {} removed, {} bytes",
            self.analyzed.len(),
            self.failed.len(),
            self.bases_added(),
            self.bases_archived(),
            self.files_written.len(),
            self.files_removed.len(),
            self.bytes_written
        )?;
        for failure in &self.failed {
            writeln!(f, "failed: {}: {}", failure.image, failure.error)?;
        }
        for e in &self.load_errors {
            writeln!(f, "state file failed: {e}")?;
        }
        for path in &self.files_written {
            writeln!(f, "wrote {path}")?;
        }
        for path in &self.files_removed {
            writeln!(f, "removed {path}")?;
        }
        write_git_outcome(
            f,
            self.git_error.as_deref(),
            self.commit.as_deref(),
            self.pushed,
        )
    }
}

/// The last lines of a job's text report: why git failed, or the commit made.
pub(crate) fn write_git_outcome(
    f: &mut fmt::Formatter<'_>,
    error: Option<&str>,
    commit: Option<&str>,
    pushed: bool,
) -> fmt::Result {
    if let Some(err) = error {
        writeln!(f, "error: {err}")?;
    }
    if let Some(commit) = commit {
        let pushed = if pushed { " and pushed" } else { "" };
        writeln!(f, "committed {commit}{pushed}")?;
    }
    Ok(())
}

/// `file:line:column: message`.
impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, line, column, message) = (&self.file, self.line, self.column, &self.message);
        write!(f, "{file}:{line}:{column}: {message}")
    }
}
