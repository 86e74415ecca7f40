//! `analyzer analyze`: enrolment + Dockerfiles → state files (SPEC §7, §10), optionally committed
//! and pushed.
//!
//! Exit status: 0 everything analysed; 1 the run finished but some image failed (missing
//! Dockerfile, parse errors, clone failure), some state file could not be loaded, or the commit or
//! push failed (the state files are written); 2 usage or configuration error (nothing written).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use model::config::validate_factory;
use model::diagnostic::has_errors;
use model::enrollment::{EffectiveImage, Provider};
use model::time::Timestamp;
use serde::Serialize;
use state::discover::{self, Outcome as Discovery};
use state::format::LoadError;
use state::git::{self, Author, Repo, RetryPolicy};
use state::store::{Loaded, Lock, Plan, Store, StoreError};
use state::update::{self, BuildRecord, Event, Input};

use crate::output::{Format, Global, Outcome};

/// Arguments of `analyzer analyze`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    analyzer analyze --factory-dir image-factory --source-root fixtures/sources --now 2026-01-01T00:00:00Z\n  \
    analyzer analyze --factory-dir image-factory --clone --image backstage --commit --push\n  \
    analyzer analyze --image backstage --built-tag 1.4.2 --built-digest sha256:... --clone --commit --push")]
pub struct Args {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
    /// Directory holding the source repositories as `<owner>/<name>/` (GitLab: `<group>/.../<name>/`).
    #[arg(long, value_name = "DIR", required_unless_present = "clone")]
    pub source_root: Option<PathBuf>,
    /// Shallow-clone each needed source repository with git (token from GITHUB_TOKEN/GITLAB_TOKEN).
    #[arg(long, conflicts_with = "source_root")]
    pub clone: bool,
    /// Base URL replacing `https://github.com` / `https://gitlab.com` for `--clone` (mirrors, tests;
    /// also `IMAGE_FACTORY_CLONE_URL_BASE`).
    #[arg(long, value_name = "URL", hide = true)]
    pub clone_url_base: Option<String>,
    /// Only these images (repeatable); the others' files are untouched.
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// Record a new build of the (single) `--image`: its tag.
    #[arg(long, value_name = "TAG", requires = "built_digest")]
    pub built_tag: Option<String>,
    /// Record a new build of the (single) `--image`: its digest.
    #[arg(long, value_name = "DIGEST", requires = "built_tag")]
    pub built_digest: Option<String>,
    /// The time of this run (RFC 3339); default SOURCE_DATE_EPOCH, else the system clock.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Commit the changed state files (one commit; none when nothing changed).
    #[arg(long)]
    pub commit: bool,
    /// Push the commit (fetch, rebase and retry when rejected).
    #[arg(long, requires = "commit")]
    pub push: bool,
    /// Remote to push to.
    #[arg(long, default_value = "origin")]
    pub remote: String,
    /// Push attempts before giving up.
    #[arg(long, default_value_t = 5)]
    pub push_attempts: u32,
    /// Milliseconds to wait before the first push retry (doubled each time, at most 8 s).
    #[arg(long, default_value_t = 500, hide = true)]
    pub push_backoff_ms: u64,
    /// Seconds to wait for another analyzer holding the factory dir's lock.
    #[arg(long, default_value_t = 120)]
    pub lock_timeout: u64,
}

/// The configuration of the factory dir, validated.
struct Config {
    images: Vec<EffectiveImage>,
    settings: model::settings::Settings,
}

/// The report of a run.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    now: String,
    analyzed: Vec<String>,
    failed: Vec<Failure>,
    load_errors: Vec<FileError>,
    events: Vec<Event>,
    files_written: Vec<String>,
    files_removed: Vec<String>,
    bytes_written: usize,
    commit: Option<String>,
    pushed: bool,
    git_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Failure {
    image: String,
    error: String,
}

#[derive(Debug, Serialize)]
struct FileError {
    file: String,
    line: usize,
    column: usize,
    message: String,
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

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let now = state::clock::resolve(
        args.now.as_deref(),
        epoch.as_deref(),
        state::clock::system_now(),
    );
    // The state is locked and loaded on other threads while the configuration is read: the two
    // are independent, and reading images.yaml alone leaves a core idle (~0.1 s of a 10,000-image
    // no-op run). Errors keep their order: configuration first, then lock and load.
    let store = Store::new(&args.factory_dir);
    let preload = now.as_ref().ok().copied().map(|now| {
        let store = store.clone();
        let wait = Duration::from_secs(args.lock_timeout);
        std::thread::spawn(move || -> Result<(Lock, Loaded), StoreError> {
            let lock = store.lock(wait)?;
            let loaded = store.load(now)?;
            Ok((lock, loaded))
        })
    });
    let Some(config) = read_config(&args.factory_dir, global)? else {
        return Ok(Outcome::ConfigError);
    };
    tracing::info!(elapsed = ?started.elapsed(), images = config.images.len(), "configuration read");
    let enrolled: BTreeSet<&str> = config.images.iter().map(|i| i.name.as_str()).collect();
    for name in &args.images {
        if !enrolled.contains(name.as_str()) {
            return usage(&format!("--image {name}: no such image in images.yaml"));
        }
    }
    let build = match (&args.built_tag, &args.built_digest) {
        (Some(tag), Some(digest)) => {
            let [image] = args.images.as_slice() else {
                return usage("--built-tag/--built-digest need exactly one --image");
            };
            if !config
                .images
                .iter()
                .any(|i| i.name == *image && i.is_managed())
            {
                return usage(&format!("--built-tag: `{image}` is not a managed image"));
            }
            if !state::legacy::is_digest(digest) {
                return usage(&format!(
                    "--built-digest `{digest}` is not sha256:<64 hex characters>"
                ));
            }
            Some(BuildRecord {
                image: image.clone(),
                tag: tag.clone(),
                digest: digest.clone(),
            })
        }
        _ => None,
    };
    let now = now?;
    let (_lock, loaded) = match preload {
        Some(handle) => handle
            .join()
            .map_err(|_| anyhow::anyhow!("the state loading thread failed"))??,
        None => {
            let lock = store.lock(Duration::from_secs(args.lock_timeout))?;
            (lock, store.load(now)?)
        }
    };
    let mut report = Report {
        now: now.to_string(),
        ..Report::default()
    };
    let plan = analyze_and_write(
        &args,
        &config,
        build.as_ref(),
        now,
        &store,
        Some(loaded),
        &mut report,
    )?;
    tracing::info!(elapsed = ?started.elapsed(), "analysis done");

    if args.commit && !plan.is_empty() {
        // The state is written: a git failure is reported (exit 1), not a configuration error.
        if let Err(err) = commit_and_push(&args, &config, build.as_ref(), now, &store, &mut report)
        {
            tracing::error!("{err:#}");
            report.git_error = Some(format!("{err:#}"));
        }
    }
    emit(&report, global)?;
    Ok(
        if report.failed.is_empty() && report.load_errors.is_empty() && report.git_error.is_none() {
            Outcome::Success
        } else {
            Outcome::Findings
        },
    )
}

#[allow(clippy::print_stderr)] // a binary reports to its user
fn usage(message: &str) -> anyhow::Result<Outcome> {
    eprintln!("error: {message}");
    Ok(Outcome::ConfigError)
}

/// Reads and validates images.yaml and factory.yaml; `None` (after reporting) when invalid.
#[allow(clippy::print_stderr)] // a binary reports to its user
fn read_config(dir: &Path, global: &Global) -> anyhow::Result<Option<Config>> {
    let images_path = dir.join("images.yaml");
    let factory_path = dir.join("factory.yaml");
    let images_name = images_path.to_string_lossy().into_owned();
    let factory_name = factory_path.to_string_lossy().into_owned();
    let images_text = std::fs::read_to_string(&images_path)
        .with_context(|| format!("cannot read {images_name}"))?;
    let factory_text = match std::fs::read_to_string(&factory_path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot read {factory_name}")),
    };
    let checked = validate_factory(
        &images_text,
        &images_name,
        factory_text.as_deref().map(|t| (t, factory_name.as_str())),
    );
    if has_errors(&checked.diagnostics) {
        let mut text = String::new();
        for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
            let source = if d.file == images_name {
                images_text.as_str()
            } else {
                factory_text.as_deref().unwrap_or("")
            };
            text.push_str(&d.render(source));
            text.push('\n');
        }
        text.push_str("error: configuration is invalid; nothing was written\n");
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
        return Ok(None);
    }
    if !global.quiet {
        for d in &checked.diagnostics {
            tracing::warn!("{}:{}:{}: {}", d.file, d.line, d.column, d.message);
        }
    }
    let (Some(images), Some(settings)) = (checked.resolved(), checked.settings) else {
        eprintln!("error: configuration is invalid; nothing was written");
        return Ok(None);
    };
    Ok(Some(Config { images, settings }))
}

/// Loads the state, analyses the selected images, computes and writes the new state.
fn analyze_and_write(
    args: &Args,
    config: &Config,
    build: Option<&BuildRecord>,
    now: Timestamp,
    store: &Store,
    preloaded: Option<Loaded>,
    report: &mut Report,
) -> anyhow::Result<Plan> {
    let started = std::time::Instant::now();
    let loaded = match preloaded {
        Some(loaded) => loaded,
        None => store.load(now)?,
    };
    tracing::info!(elapsed = ?started.elapsed(), files = loaded.files_loaded(), "state loaded");
    for err in &loaded.errors {
        tracing::error!("{err}");
    }
    report.load_errors = loaded.errors.iter().map(FileError::from).collect();
    let only: Option<BTreeSet<String>> =
        (!args.images.is_empty()).then(|| args.images.iter().cloned().collect());
    let targets: Vec<&EffectiveImage> = config
        .images
        .iter()
        .filter(|i| i.is_managed())
        .filter(|i| only.as_ref().is_none_or(|o| o.contains(&i.name)))
        .filter(|i| !loaded.frozen_images.contains(&i.name))
        .collect();
    let outcomes = discover_all(args, &targets)?;
    tracing::info!(elapsed = ?started.elapsed(), images = outcomes.len(), "dockerfiles analysed");
    report.analyzed = outcomes.keys().cloned().collect();
    report.failed = outcomes
        .iter()
        .filter_map(|(name, o)| match o {
            Discovery::Failed { error, .. } => Some(Failure {
                image: name.clone(),
                error: error.to_string(),
            }),
            Discovery::Success(_) => None,
        })
        .collect();
    let update = update::update(
        &loaded.state,
        &Input {
            enrollment: &config.images,
            outcomes: &outcomes,
            only: only.as_ref(),
            build,
            frozen_images: &loaded.frozen_images,
            frozen_bases: &loaded.frozen_bases,
            now,
        },
    );
    for event in &update.events {
        tracing::info!(?event, "state change");
    }
    report.events = update.events;
    tracing::info!(elapsed = ?started.elapsed(), "state updated");
    let plan = store.plan_scoped(&loaded, &update.state, only.as_ref())?;
    tracing::info!(elapsed = ?started.elapsed(), writes = plan.writes.len(), "plan made");
    write(store, &plan, report)?;
    tracing::info!(elapsed = ?started.elapsed(), "written");
    // Freeing a fleet's worth of state takes a noticeable time: let it happen off the main path.
    std::thread::spawn(move || drop((loaded, update.state, outcomes)));
    Ok(plan)
}

fn write(store: &Store, plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    report.bytes_written = store.apply(plan)?;
    report.files_written = plan
        .writes
        .iter()
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect();
    report.files_removed = plan
        .deletes
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    Ok(())
}

/// Discovers the dependencies of `targets`, from the source root or from shallow clones.
fn discover_all(
    args: &Args,
    targets: &[&EffectiveImage],
) -> anyhow::Result<BTreeMap<String, Discovery>> {
    let mut outcomes = BTreeMap::new();
    if let Some(root) = &args.source_root {
        if !root.is_dir() {
            bail!("--source-root {}: not a directory", root.display());
        }
        let root = &root
            .canonicalize()
            .with_context(|| format!("--source-root {}", root.display()))?;
        let (names, sources): (Vec<&String>, Vec<_>) = targets
            .iter()
            .filter_map(|image| image.source.as_ref().map(|source| (&image.name, source)))
            .unzip();
        let found = discover::discover_all_in_root(root, &sources);
        for (name, outcome) in names.into_iter().zip(found) {
            outcomes.insert(name.clone(), outcome);
        }
        return Ok(outcomes);
    }
    // --clone: one shallow clone per (provider, repository, branch).
    let scratch = std::env::temp_dir().join(format!(
        "image-factory-clone-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let mut clones: BTreeMap<(String, String), Result<PathBuf, String>> = BTreeMap::new();
    for image in targets {
        let Some(source) = &image.source else {
            continue;
        };
        let base = args
            .clone_url_base
            .clone()
            .or_else(|| std::env::var("IMAGE_FACTORY_CLONE_URL_BASE").ok());
        let url = match &base {
            Some(base) => format!("{}/{}.git", base.trim_end_matches('/'), source.repo),
            None => source.repo_url(),
        };
        let key = (url.clone(), source.branch.clone());
        let index = clones.len();
        let checkout = clones.entry(key).or_insert_with(|| {
            let dest = scratch.join(format!("repo-{index}"));
            let token = match source.provider {
                Provider::Github => std::env::var("GITHUB_TOKEN").ok(),
                Provider::Gitlab => std::env::var("GITLAB_TOKEN").ok(),
            }
            .filter(|t| !t.is_empty());
            tracing::info!(repo = %source.repo, branch = %source.branch, "cloning");
            git::shallow_clone(
                &url,
                &source.branch,
                &dest,
                token.as_deref(),
                &scratch.join("askpass"),
            )
            .map(|()| dest)
            .map_err(|e| e.to_string())
        });
        let outcome = match checkout {
            Ok(dir) => discover::discover(dir, source),
            Err(err) => Discovery::failed(discover::DiscoveryError::Clone {
                repo: source.repo.clone(),
                message: err.clone(),
            }),
        };
        outcomes.insert(image.name.clone(), outcome);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(outcomes)
}

/// The commit message: a title and the images and base changes.
fn commit_message(report: &Report) -> String {
    let mut images = BTreeSet::new();
    let mut bases_changed = BTreeSet::new();
    for path in report
        .files_written
        .iter()
        .chain(report.files_removed.iter())
    {
        let p = Path::new(path);
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.contains("base-images") {
            bases_changed.insert(stem);
        } else {
            images.insert(stem);
        }
    }
    let added: Vec<&str> = report
        .events
        .iter()
        .filter_map(|e| match e {
            Event::BaseAdded { id } | Event::BaseRestored { id } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let removed: Vec<&str> = report
        .events
        .iter()
        .filter_map(|e| match e {
            Event::BaseArchived { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let mut title = format!("image-factory: analyze {} image(s)", images.len());
    if !added.is_empty() || !removed.is_empty() {
        title.push_str(&format!(", bases +{} -{}", added.len(), removed.len()));
    }
    let mut body = String::new();
    let list = |set: &mut String, label: &str, items: Vec<&str>| {
        if !items.is_empty() {
            set.push_str(&format!("{label}: {}\n", items.join(", ")));
        }
    };
    list(
        &mut body,
        "Images",
        images.iter().map(String::as_str).collect(),
    );
    list(&mut body, "Bases added", added);
    list(&mut body, "Bases archived", removed);
    list(
        &mut body,
        "Base files changed",
        bases_changed.iter().map(String::as_str).collect(),
    );
    for event in &report.events {
        let line = match event {
            Event::Enrolled { name } => format!("enrolled {name}"),
            Event::Restored { name } => format!("restored {name} from the archive"),
            Event::RestoreRefused { name, reason } => {
                format!("{name}: archive not restored ({reason})")
            }
            Event::Promoted { name, base } => format!("promoted base {base} to managed {name}"),
            Event::Demoted { name } => format!("demoted {name} to a base image"),
            Event::Archived { name } => format!("archived {name}"),
            Event::Replaced { name } => format!("{name}: new repository, old record archived"),
            Event::DiscoveryFailed { name, .. } => format!("discovery failed: {name}"),
            Event::Built { name, version } => format!("recorded build {name} {version}"),
            _ => continue,
        };
        body.push_str(&format!("- {line}\n"));
    }
    body.push_str(&format!("\nAnalyzed at {}.\n", report.now));
    format!("{title}\n\n{body}")
}

/// The commit author: `IMAGE_FACTORY_GIT_AUTHOR` (an override, e.g. per Job), else `stateRepo.author`
/// of factory.yaml, else `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, else a built-in default.
fn author(settings: &model::settings::Settings) -> Author {
    if let Some(author) = std::env::var("IMAGE_FACTORY_GIT_AUTHOR")
        .ok()
        .or_else(|| settings.state_repo.author.clone())
        .and_then(|a| Author::parse(&a))
    {
        return author;
    }
    match (
        std::env::var("GIT_AUTHOR_NAME"),
        std::env::var("GIT_AUTHOR_EMAIL"),
    ) {
        (Ok(name), Ok(email)) if !name.is_empty() && !email.is_empty() => Author { name, email },
        _ => Author::default(),
    }
}

fn commit_and_push(
    args: &Args,
    config: &Config,
    build: Option<&BuildRecord>,
    now: Timestamp,
    store: &Store,
    report: &mut Report,
) -> anyhow::Result<()> {
    let repo = Repo::discover(&args.factory_dir)?;
    let state_dir = args
        .factory_dir
        .join("state")
        .canonicalize()
        .context("cannot resolve the state dir")?;
    let author = author(&config.settings);
    let message = commit_message(report);
    report.commit = repo.commit_all(&state_dir, &message, &author)?;
    if !args.push || report.commit.is_none() {
        return Ok(());
    }
    let branch = repo.branch()?;
    let branch = if branch == "HEAD" {
        config.settings.state_repo.branch.clone()
    } else {
        branch
    };
    let policy = RetryPolicy {
        attempts: args.push_attempts,
        backoff: Duration::from_millis(args.push_backoff_ms),
        ..RetryPolicy::default()
    };
    let mut reapply = |repo: &Repo| -> Result<(), git::GitError> {
        // The rebase conflicted: redo the analysis on the fresh state and commit again.
        let mut again = Report {
            now: report.now.clone(),
            ..Report::default()
        };
        analyze_and_write(args, config, build, now, store, None, &mut again)
            .map_err(|e| git::GitError::Io(std::io::Error::other(e.to_string())))?;
        let message = commit_message(&again);
        repo.commit_all(&state_dir, &message, &author)?;
        Ok(())
    };
    git::push_with_retry(&repo, &args.remote, &branch, policy, &mut reapply)?;
    report.commit = Some(repo.git(&["rev-parse", "HEAD"])?);
    report.pushed = true;
    Ok(())
}

fn emit(report: &Report, global: &Global) -> anyhow::Result<()> {
    let text = match global.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(report)?;
            text.push('\n');
            text
        }
        Format::Text if global.quiet => return Ok(()),
        Format::Text => {
            let mut text = String::new();
            let added = report
                .events
                .iter()
                .filter(|e| matches!(e, Event::BaseAdded { .. } | Event::BaseRestored { .. }))
                .count();
            let archived = report
                .events
                .iter()
                .filter(|e| matches!(e, Event::BaseArchived { .. }))
                .count();
            text.push_str(&format!(
                "analyzed {} image(s), {} failed; bases +{added} -{archived}; {} file(s) written, \
                 {} removed, {} bytes\n",
                report.analyzed.len(),
                report.failed.len(),
                report.files_written.len(),
                report.files_removed.len(),
                report.bytes_written
            ));
            for f in &report.failed {
                text.push_str(&format!("failed: {}: {}\n", f.image, f.error));
            }
            for e in &report.load_errors {
                text.push_str(&format!(
                    "state file failed: {}:{}:{}: {}\n",
                    e.file, e.line, e.column, e.message
                ));
            }
            for path in &report.files_written {
                text.push_str(&format!("wrote {path}\n"));
            }
            for path in &report.files_removed {
                text.push_str(&format!("removed {path}\n"));
            }
            if let Some(err) = &report.git_error {
                text.push_str(&format!("error: {err}\n"));
            }
            if let Some(commit) = &report.commit {
                text.push_str(&format!(
                    "committed {commit}{}\n",
                    if report.pushed { " and pushed" } else { "" }
                ));
            }
            text
        }
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
