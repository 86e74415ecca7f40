//! The watch jobs (SPEC §9.1, §9.3): [`check`] asks the registries for the digest of every
//! distinct watched tag, [`observe`] records one digest a Kargo Warehouse saw. Both record
//! through the one code path [`state::watch::record`], then write, commit and push the same way,
//! so the two drivers give the same state for the same digest, in either order.
//!
//! The registry is asked without holding the factory dir's lock (a slow registry must not block an
//! analysis for minutes); the answers are then recorded on the state as it is under the lock. The
//! same recording redoes the job on the fresh state when a push's rebase conflicts: the registry
//! is not asked twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use model::reference::ImageRef;
use model::time::Timestamp;
use registry::{Client, Counts, DockerConfig, RegistrySettings};
use serde::Serialize;
use state::watch::{self, Seen};

use crate::analyze::{Environment, FileError, PushOptions};
use crate::commit::{self, Publish};
use crate::dir::{Config, FactoryDir};
use crate::error::{JobError, UsageError};

/// Options shared by [`check`] and [`observe`].
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// The time of this run: `seenAt` of every new digest.
    pub now: Timestamp,
    /// Commit the changed state files (one commit; none when nothing changed).
    pub commit: bool,
    /// Push the commit (with `commit`).
    pub push: Option<PushOptions>,
    /// How long to wait for another process holding the factory dir's lock.
    pub lock_timeout: Duration,
    /// Commit authors, git credentials and the Docker config's location.
    pub environment: Environment,
}

/// Options of [`check`].
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Only these bases, by id (empty: every watched base).
    pub bases: Vec<String>,
    /// Time-outs and retry bounds of registry requests.
    pub limits: registry::Limits,
    /// Writing and publishing.
    pub watch: WatchOptions,
}

/// A base whose digest changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Updated {
    /// The base id.
    pub base: String,
    /// The digest it replaced (`null` never happens for an update, kept for the contract).
    pub previous_digest: Option<String>,
    /// The new digest.
    pub current_digest: String,
    /// When it was first seen (RFC 3339).
    pub seen_at: String,
    /// The managed images that got a pending rebuild for it.
    pub dependents: Vec<String>,
}

/// A base seen for the first time: its digest is the baseline, never a reason to rebuild.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Baseline {
    /// The base id.
    pub base: String,
    /// The digest recorded.
    pub digest: String,
}

/// A base that could not be checked or recorded (the others are).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BaseError {
    /// The base id.
    pub base: String,
    /// Why.
    pub message: String,
}

/// What writing and publishing a watch job did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Written {
    /// State files that could not be loaded (left untouched).
    pub load_errors: Vec<FileError>,
    /// Files written, relative to the factory dir.
    pub files_written: Vec<String>,
    /// Bytes written.
    pub bytes_written: usize,
    /// The commit made (after a push: the pushed head).
    pub commit: Option<String>,
    /// Whether the commit was pushed.
    pub pushed: bool,
    /// Why committing or pushing failed (the state files are written).
    pub git_error: Option<String>,
}

/// The report of [`check`] (`analyzer check --format json`: the SPEC §9.3 fields first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CheckReport {
    /// How many bases were checked (failed ones included).
    pub checked: usize,
    /// Bases whose digest moved, by id.
    pub updated: Vec<Updated>,
    /// Requests sent, per registry.
    pub requests: BTreeMap<String, Counts>,
    /// Bases that failed, by id.
    pub errors: Vec<BaseError>,
    /// The time of the run (RFC 3339).
    pub now: String,
    /// How many distinct tags were asked for (one request each).
    pub tags: usize,
    /// Bases seen for the first time.
    pub baselines: Vec<Baseline>,
    /// Files, commit and push.
    #[serde(flatten)]
    pub written: Written,
}

impl CheckReport {
    /// Whether every base was checked and recorded, and committed and pushed as asked.
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.written.is_success()
    }
}

impl Written {
    fn is_success(&self) -> bool {
        self.load_errors.is_empty() && self.git_error.is_none()
    }

    /// Takes in what committing and pushing did.
    pub(crate) fn published(&mut self, published: commit::Published) {
        self.commit = published.commit;
        self.pushed = published.pushed;
        self.git_error = published.error.map(|e| e.to_string());
    }

    /// Writes `state` (the `loaded` one changed by a rebuild driver) and appends `audit_lines` to
    /// the audit log: what `trigger` and `emergency` record.
    pub(crate) fn state_and_audit(
        dir: &FactoryDir,
        loaded: &state::store::Loaded,
        state: &model::state::State,
        audit_lines: &[state::audit::Entry],
    ) -> Result<Self, JobError> {
        let store = dir.store();
        let plan = store.plan(loaded, state)?;
        let mut written = Written {
            load_errors: loaded.errors.iter().map(FileError::from).collect(),
            bytes_written: store.apply(&plan)?,
            files_written: plan
                .writes
                .iter()
                .map(|(p, _)| p.to_string_lossy().into_owned())
                .collect(),
            ..Written::default()
        };
        state::audit::append(dir.path(), audit_lines)
            .map_err(|e| JobError::Recording(e.to_string()))?;
        if !audit_lines.is_empty() {
            written
                .files_written
                .push(state::audit::AUDIT_PATH.to_owned());
        }
        Ok(written)
    }
}

/// The report of [`observe`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObserveReport {
    /// The time of the run (RFC 3339).
    pub now: String,
    /// The base id.
    pub base: String,
    /// The digest observed.
    pub digest: String,
    /// What recording it did (`"seen": "baseline" | "known" | "update"`, with the update's
    /// `previousDigest`, `seenAt` and `dependents`).
    #[serde(flatten)]
    pub seen: Seen,
    /// Files, commit and push.
    #[serde(flatten)]
    pub written: Written,
}

impl ObserveReport {
    /// Whether the digest was recorded, committed and pushed as asked.
    pub fn is_success(&self) -> bool {
        self.written.is_success()
    }
}

/// Which driver saw a digest (for the commit message).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Check,
    Observe,
}

/// Runs `analyzer check`: one request per distinct watched tag (bases pinned by digest only are
/// not watched; managed parents are watched through their own builds), the answers recorded per
/// SPEC §9.1, failures isolated per base. `progress(done, total)` is called as tags are answered.
///
/// # Errors
/// Configuration or usage errors (an unknown `--base`, an unreadable Docker config, a dirty work
/// tree with `commit`; nothing written), the lock, reading or writing the state. A base the
/// registry fails for is not an error: [`CheckReport::errors`] lists it.
pub fn check(
    dir: &FactoryDir,
    options: &CheckOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CheckReport, JobError> {
    let config = dir.config()?;
    let watch = &options.watch;
    let docker_config = match &watch.environment.docker_config {
        Some(path) => {
            DockerConfig::load(path).map_err(|e| JobError::DockerConfig(e.to_string()))?
        }
        None => DockerConfig::empty(),
    };
    let repo = prepare(dir, watch)?;
    // Read without the lock: only the list of bases is needed before asking the registries.
    let loaded = dir.load_state(watch.now)?;
    let mut report = CheckReport {
        now: watch.now.to_string(),
        ..CheckReport::default()
    };
    let bases = selected_bases(&loaded.state, &loaded.frozen_bases, &options.bases)?;
    let mut tags: BTreeMap<String, (ImageRef, Vec<String>)> = BTreeMap::new();
    for (id, base) in bases {
        let tag = base.watch.as_ref().map(|w| w.constraint.as_str());
        let text = format!(
            "{}/{}:{}",
            base.registry,
            base.repository,
            tag.unwrap_or("")
        );
        match ImageRef::parse_normalized(&text) {
            Ok(reference) => tags
                .entry(reference.canonical())
                .or_insert((reference, Vec::new()))
                .1
                .push(id),
            Err(e) => report.errors.push(BaseError {
                base: id,
                message: format!("cannot watch {text}: {e}"),
            }),
        }
    }
    drop(loaded);
    report.checked = tags.values().map(|(_, ids)| ids.len()).sum::<usize>() + report.errors.len();
    report.tags = tags.len();
    let client = Client::new(
        config
            .settings
            .registries
            .iter()
            .map(|(host, access)| (host.clone(), RegistrySettings::from(access)))
            .collect(),
        RegistrySettings::default(),
        options.limits.clone(),
        docker_config,
    )
    .map_err(|e| JobError::Registry {
        what: "cannot check the base images".to_owned(),
        message: e.to_string(),
    })?;
    let references: Vec<ImageRef> = tags.values().map(|(r, _)| r.clone()).collect();
    let started = std::time::Instant::now();
    let answers =
        client.check_with_progress(&references, &mut |done| progress(done, references.len()));
    tracing::info!(elapsed = ?started.elapsed(), tags = references.len(), "registries answered");
    report.requests = answers.requests;
    let mut digests = Vec::new();
    for ((_, ids), answer) in tags.values().zip(answers.digests) {
        for id in ids {
            match &answer {
                Ok(digest) => digests.push((id.clone(), digest.as_str().to_owned())),
                Err(e) => report.errors.push(BaseError {
                    base: id.clone(),
                    message: e.to_string(),
                }),
            }
        }
    }
    let publish = Publish {
        dir,
        settings: &config.settings,
        environment: &watch.environment,
        push: watch.push.as_ref(),
    };
    let recorded = record_and_publish(dir, config, watch, repo, &publish, &digests, Driver::Check)?;
    for (base, seen) in recorded.seen {
        match seen {
            Ok(Seen::Baseline) => report.baselines.push(Baseline {
                base: base.clone(),
                digest: digest_of(&digests, &base),
            }),
            Ok(Seen::Update {
                previous_digest,
                seen_at,
                dependents,
            }) => report.updated.push(Updated {
                current_digest: digest_of(&digests, &base),
                base,
                previous_digest,
                seen_at: seen_at.to_string(),
                dependents,
            }),
            Ok(_) => {}
            Err(message) => report.errors.push(BaseError { base, message }),
        }
    }
    report.errors.sort_by(|a, b| a.base.cmp(&b.base));
    report.written = recorded.written;
    Ok(report)
}

/// Options of [`observe`].
#[derive(Clone, Debug)]
pub struct ObserveOptions {
    /// The base id.
    pub base: String,
    /// The digest a Warehouse saw (`sha256:…`).
    pub digest: String,
    /// Writing and publishing.
    pub watch: WatchOptions,
}

/// Runs `analyzer observe`: records `options.digest` for `options.base` exactly as [`check`]
/// would have recorded the registry's answer.
///
/// # Errors
/// An unknown or unwatched base, a malformed digest (usage errors; nothing written), and the
/// errors of [`check`].
pub fn observe(dir: &FactoryDir, options: &ObserveOptions) -> Result<ObserveReport, JobError> {
    let config = dir.config()?;
    let watch = &options.watch;
    // Refused before anything is locked or written.
    if let Err(e) = model::digest::Digest::parse(&options.digest) {
        return Err(UsageError::Record(watch::RecordError::BadDigest {
            digest: options.digest.clone(),
            reason: e.to_string(),
        })
        .into());
    }
    let repo = prepare(dir, watch)?;
    let loaded = dir.load_state(watch.now)?;
    selected_bases(
        &loaded.state,
        &loaded.frozen_bases,
        std::slice::from_ref(&options.base),
    )?;
    drop(loaded);
    let publish = Publish {
        dir,
        settings: &config.settings,
        environment: &watch.environment,
        push: watch.push.as_ref(),
    };
    let digests = [(options.base.clone(), options.digest.clone())];
    let recorded = record_and_publish(
        dir,
        config,
        watch,
        repo,
        &publish,
        &digests,
        Driver::Observe,
    )?;
    let seen = match recorded.seen.into_iter().next() {
        Some((_, Ok(seen))) => seen,
        // The base was there a moment ago: another process archived it in between.
        Some((_, Err(message))) => return Err(JobError::Recording(message)),
        None => return Err(JobError::Recording("nothing recorded".to_owned())),
    };
    Ok(ObserveReport {
        now: watch.now.to_string(),
        base: options.base.clone(),
        digest: options.digest.clone(),
        seen,
        written: recorded.written,
    })
}

/// The git repository to commit to, checked before anything is written.
fn prepare(
    dir: &FactoryDir,
    watch: &WatchOptions,
) -> Result<Option<(state::git::Repo, Option<state::git::Askpass>)>, JobError> {
    if !watch.commit {
        return Ok(None);
    }
    let (access, askpass) = watch.environment.git_access()?;
    Ok(Some((commit::prepare(dir, access)?, askpass)))
}

/// The bases to check: `wanted` (each known and watched) or, when empty, every watched base
/// whose file loaded; sorted by id.
fn selected_bases<'s>(
    state: &'s model::state::State,
    frozen: &BTreeSet<String>,
    wanted: &[String],
) -> Result<Vec<(String, &'s model::state::BaseImageState)>, UsageError> {
    if wanted.is_empty() {
        return Ok(state
            .bases
            .iter()
            .filter(|(_, b)| b.watch.is_some())
            .map(|(id, b)| (id.clone(), b))
            .collect());
    }
    let mut selected = Vec::new();
    for id in wanted.iter().collect::<BTreeSet<_>>() {
        let base = match state.bases.get(id) {
            Some(base) => base,
            None if frozen.contains(id) => return Err(UsageError::BaseFileFailed(id.clone())),
            None => {
                return Err(UsageError::Record(watch::RecordError::UnknownBase(
                    id.clone(),
                )));
            }
        };
        if base.watch.is_none() {
            return Err(UsageError::Record(watch::RecordError::NotWatched(
                id.clone(),
            )));
        }
        selected.push((id.clone(), base));
    }
    Ok(selected)
}

fn digest_of(digests: &[(String, String)], base: &str) -> String {
    digests
        .iter()
        .find(|(b, _)| b == base)
        .map(|(_, d)| d.clone())
        .unwrap_or_default()
}

/// What [`record_and_publish`] did: per base, what recording did or why it could not.
struct Recorded {
    seen: Vec<(String, Result<Seen, String>)>,
    written: Written,
}

/// Under the lock: loads the state, records `digests`, writes the changed files, and commits and
/// pushes them when asked (redoing the recording on the fresh state after a rebase conflict).
fn record_and_publish(
    dir: &FactoryDir,
    config: &Config,
    watch: &WatchOptions,
    repo: Option<(state::git::Repo, Option<state::git::Askpass>)>,
    publish: &Publish<'_>,
    digests: &[(String, String)],
    driver: Driver,
) -> Result<Recorded, JobError> {
    let _lock = dir.lock(watch.lock_timeout)?;
    let mut recorded = record_and_write(dir, config, watch.now, digests)?;
    if let Some((repo, _askpass)) = repo {
        let message = commit_message(&recorded, watch.now, driver);
        let ours = recorded.written.files_written.len();
        let mut again: Option<Recorded> = None;
        let published = commit::commit_and_push(publish, &repo, message, ours, &mut || {
            let redone = record_and_write(dir, config, watch.now, digests)?;
            let message = commit_message(&redone, watch.now, driver);
            again = Some(redone);
            Ok(message)
        });
        if let Some(again) = again {
            recorded = again;
        }
        recorded.written.published(published);
    }
    Ok(recorded)
}

fn record_and_write(
    dir: &FactoryDir,
    config: &Config,
    now: Timestamp,
    digests: &[(String, String)],
) -> Result<Recorded, JobError> {
    let loaded = dir.load_state(now)?;
    for err in &loaded.errors {
        tracing::error!("{err}");
    }
    let mut next = loaded.state.clone();
    let mut seen = Vec::with_capacity(digests.len());
    for (base, digest) in digests {
        if loaded.frozen_bases.contains(base) {
            seen.push((
                base.clone(),
                Err(UsageError::BaseFileFailed(base.clone()).to_string()),
            ));
            continue;
        }
        let result = watch::record(&mut next, &config.images, base, digest, now);
        if let Ok(seen) = &result {
            tracing::debug!(base, digest, ?seen, "recorded");
        }
        seen.push((base.clone(), result.map_err(|e| e.to_string())));
    }
    let store = dir.store();
    let started = std::time::Instant::now();
    let plan = store.plan(&loaded, &next)?;
    let bytes_written = store.apply(&plan)?;
    tracing::info!(elapsed = ?started.elapsed(), files = plan.writes.len(), "state written");
    Ok(Recorded {
        seen,
        written: Written {
            load_errors: loaded.errors.iter().map(FileError::from).collect(),
            files_written: plan
                .writes
                .iter()
                .map(|(p, _)| p.to_string_lossy().into_owned())
                .collect(),
            bytes_written,
            ..Written::default()
        },
    })
}

/// The commit message: what moved, one line per base.
fn commit_message(recorded: &Recorded, now: Timestamp, driver: Driver) -> String {
    let mut lines = Vec::new();
    for (base, seen) in &recorded.seen {
        match seen {
            Ok(Seen::Baseline) => lines.push(format!("- {base}: baseline recorded")),
            Ok(Seen::Update {
                previous_digest,
                dependents,
                ..
            }) => lines.push(format!(
                "- {base}: new digest (was {}); {} dependent(s) pending",
                previous_digest.as_deref().map_or("none", short),
                dependents.len()
            )),
            _ => {}
        }
    }
    let (verb, done) = match driver {
        Driver::Check => ("check", "Checked"),
        Driver::Observe => ("observe", "Observed"),
    };
    let shown = lines.len().min(commit::MESSAGE_EVENTS);
    let mut body = lines[..shown].join("\n");
    if lines.len() > shown {
        body.push_str(&format!("\n- … and {} more", lines.len() - shown));
    }
    format!(
        "image-factory: {verb}: {} base digest(s) recorded\n\n{body}\n\n{done} at {now}.\n",
        lines.len()
    )
}

/// `sha256:0123456789ab` — enough to tell digests apart in a message.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut total = Counts::default();
        for counts in self.requests.values() {
            total += *counts;
        }
        writeln!(
            f,
            "checked {} base(s) ({} tag(s)): {} updated, {} baseline(s), {} failed; \
             requests: {} HEAD, {} GET, {} token",
            self.checked,
            self.tags,
            self.updated.len(),
            self.baselines.len(),
            self.errors.len(),
            total.head,
            total.get,
            total.token
        )?;
        for u in &self.updated {
            let was = u.previous_digest.as_deref().map_or("none", short);
            let (now, n) = (short(&u.current_digest), u.dependents.len());
            writeln!(
                f,
                "updated {}: {was} → {now}; {n} dependent(s) pending",
                u.base
            )?;
        }
        for b in &self.baselines {
            writeln!(f, "baseline {}: {}", b.base, short(&b.digest))?;
        }
        for e in &self.errors {
            writeln!(f, "failed {}: {}", e.base, e.message)?;
        }
        self.written.fmt(f)
    }
}

impl fmt::Display for ObserveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.seen {
            Seen::Baseline => "baseline recorded".to_owned(),
            Seen::Update { dependents, .. } => {
                format!(
                    "new digest recorded; {} dependent(s) pending",
                    dependents.len()
                )
            }
            _ => "already known; nothing changed".to_owned(),
        };
        writeln!(f, "{} {}: {what}", self.base, short(&self.digest))?;
        self.written.fmt(f)
    }
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.load_errors {
            writeln!(f, "state file failed: {e}")?;
        }
        for path in &self.files_written {
            writeln!(f, "wrote {path}")?;
        }
        crate::analyze::write_git_outcome(
            f,
            self.git_error.as_deref(),
            self.commit.as_deref(),
            self.pushed,
        )
    }
}
