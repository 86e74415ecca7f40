//! The trigger job (`analyzer trigger`, SPEC §9.3): the plan carried out — each due image's CI
//! dispatched with its soaked digests pinned, the outcome recorded in the image's state
//! (`rebuild.last`, `rebuild.inFlight`) and in `state/audit.jsonl`, then committed and pushed.

use std::collections::BTreeMap;
use std::fmt;

use model::enrollment::{EffectiveSource, Provider};
use model::reference::ImageRef;
use model::settings::Settings;
use model::state::{InFlight, LastRebuild, PinnedBase, RebuildReason, RebuildResult, State};
use rebuild::dispatch::{Dispatcher, Outcome, Request, Secret, Target};
use rebuild::{Due, Pin};
use serde::Serialize;
use state::audit;

use crate::commit::{self, Publish};
use crate::dir::{Config, FactoryDir};
use crate::error::{JobError, UsageError};
use crate::watch::{WatchOptions, Written};

/// Options of [`trigger`].
#[derive(Clone, Debug)]
pub struct TriggerOptions {
    /// Show the requests, send nothing, write nothing.
    pub dry_run: bool,
    /// Time-outs and retry bounds of the CI requests.
    pub limits: rebuild::dispatch::Limits,
    /// The time, writing and publishing.
    pub watch: WatchOptions,
}

/// One dispatch (or, with `dry_run`, one that would be sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dispatched {
    /// The image.
    pub image: String,
    /// Why.
    pub reason: RebuildReason,
    /// `github` or `gitlab`.
    pub provider: String,
    /// The request (method, URL, body with the token masked).
    pub request: String,
    /// `dispatched`, `failed`, `rejected`, or `dry-run`.
    pub result: String,
    /// The CI run, when the CI named it.
    pub run_url: Option<String>,
    /// The CI's message when it failed or refused.
    pub message: Option<String>,
    /// Which dispatch of this rebuild it is.
    pub attempt: u32,
}

/// The report of [`trigger`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TriggerReport {
    /// The time of the run.
    pub now: String,
    /// The dispatches, in plan order.
    pub dispatches: Vec<Dispatched>,
    /// Due images left for the next tick (`trigger.maxPerRun`).
    pub deferred: Vec<String>,
    /// Files, commit and push.
    #[serde(flatten)]
    pub written: Written,
}

impl TriggerReport {
    /// Whether every dispatch was accepted (or only shown) and everything recorded as asked.
    pub fn is_success(&self) -> bool {
        self.dispatches
            .iter()
            .all(|d| d.result == "dispatched" || d.result == "dry-run")
            && self.written.load_errors.is_empty()
            && self.written.git_error.is_none()
    }
}

/// The token of a provider's CI API, from the environment only (SPEC §9.3: never argv, logs or
/// state): [`Environment::github_token`](crate::Environment::github_token) and
/// [`Environment::gitlab_trigger_token`](crate::Environment::gitlab_trigger_token).
fn token(environment: &crate::Environment, provider: Provider) -> Result<Secret, UsageError> {
    let (value, name) = match provider {
        Provider::Github => (&environment.github_token, "GITHUB_TOKEN"),
        Provider::Gitlab => (&environment.gitlab_trigger_token, "GITLAB_TRIGGER_TOKEN"),
    };
    value.clone().map(Secret::new).ok_or_else(|| {
        UsageError::Token(format!(
            "no {name} (or {name}_FILE naming a file) in the environment: it is needed to dispatch \
             the {} CI of a due image; nothing was sent",
            match provider {
                Provider::Github => "GitHub",
                Provider::Gitlab => "GitLab",
            }
        ))
    })
}

/// The dispatch request of a due image: its workflow (GitHub) or pipeline (GitLab) on its branch,
/// its inputs, and the pinned digests in `source.pinInput` as `--build-context` lines.
///
/// An image without `source.workflow` is built by the workflow `synth --workflows` generates into
/// the state repository (SPEC §8.3): the request goes to `stateRepo.url`'s repository on
/// `stateRepo.branch` — GitHub: `build-<name>.yml`; GitLab: the state repository's pipeline with
/// `IMAGE_FACTORY_IMAGE=<name>`, which runs the image's child pipeline. Without a usable
/// `stateRepo.url` the repository is left empty, and the dispatch is refused before sending.
pub fn request(settings: &Settings, source: &EffectiveSource, due: &Due) -> Request {
    let (repo, git_ref) = if source.generated_workflow {
        (
            settings.state_repo.repository_path().unwrap_or_default(),
            settings.state_repo.branch.clone(),
        )
    } else {
        (source.repo.clone(), source.branch.clone())
    };
    let target = match source.provider {
        Provider::Github => Target::GitHub {
            api: settings.ci.github_api.clone(),
            repo,
            workflow: source.workflow.clone(),
        },
        Provider::Gitlab => Target::GitLab {
            api: source.host.as_ref().map_or_else(
                || settings.ci.gitlab_api.clone(),
                |host| format!("https://{host}/api/v4"),
            ),
            project: repo,
        },
    };
    let mut inputs = source.inputs.clone();
    if let Some(name) = &source.pin_input {
        inputs.insert(name.clone(), pin_lines(&due.pins));
    }
    if source.generated_workflow && source.provider == Provider::Gitlab {
        inputs.insert(
            model::enrollment::GENERATED_IMAGE_VARIABLE.to_owned(),
            due.image.clone(),
        );
    }
    Request {
        target,
        git_ref,
        inputs,
    }
}

/// `<name>=docker-image://<repository>@<digest>`, one line per pin: `<name>` the FROM reference in
/// familiar form without `:latest`, as buildx names a `--build-context` and BuildKit looks a FROM
/// up (moby/buildkit `frontend/dockerui` `NamedContext`).
pub fn pin_lines(pins: &[Pin]) -> String {
    let mut lines: Vec<String> = pins
        .iter()
        .filter_map(|pin| {
            let reference = ImageRef::parse_normalized(&pin.reference).ok()?;
            let familiar = reference.familiar();
            let name = familiar.strip_suffix(":latest").unwrap_or(&familiar);
            let name = name.split('@').next().unwrap_or(name);
            Some(format!(
                "{name}=docker-image://{}@{}",
                reference.familiar_name(),
                pin.digest
            ))
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines.join("\n")
}

/// Runs `analyzer trigger`: plans, dispatches every due image's CI (at most `trigger.maxPerRun`),
/// records each outcome and the audit lines, commits and pushes when asked.
///
/// # Errors
/// Configuration errors; a missing token for a provider a due image needs (nothing sent or
/// written); the lock, reading or writing the state.
pub fn trigger(dir: &FactoryDir, options: &TriggerOptions) -> Result<TriggerReport, JobError> {
    let config = dir.config()?;
    let watch = &options.watch;
    let now = watch.now;
    let repo = if watch.commit && !options.dry_run {
        let (access, askpass) = watch.environment.git_access()?;
        Some((commit::prepare(dir, access)?, askpass))
    } else {
        None
    };
    let _lock = dir.lock(watch.lock_timeout)?;
    let loaded = dir.load_state(now)?;
    let mut state = loaded.state.clone();
    let sources = overlay(&mut state, config);
    let plan = rebuild::plan(&state, &config.settings, now);
    let due: Vec<&Due> = plan.due.iter().filter(|d| !d.deferred).collect();
    // Every token needed, before anything is sent.
    let mut tokens: BTreeMap<&str, Secret> = BTreeMap::new();
    for d in &due {
        let Some(source) = sources.get(d.image.as_str()) else {
            continue;
        };
        let key = provider_name(source.provider);
        if !options.dry_run && !tokens.contains_key(key) {
            tokens.insert(key, token(&watch.environment, source.provider)?);
        }
    }
    let dispatcher = Dispatcher::new(options.limits.clone()).map_err(|e| JobError::Registry {
        what: "cannot set up the CI client".to_owned(),
        message: e.to_string(),
    })?;
    let mut report = TriggerReport {
        now: now.to_string(),
        dispatches: Vec::new(),
        deferred: plan
            .due
            .iter()
            .filter(|d| d.deferred)
            .map(|d| d.image.clone())
            .collect(),
        written: Written::default(),
    };
    let mut audit_lines = Vec::new();
    let mut outcomes: Vec<Recorded> = Vec::new();
    for d in due {
        let Some(source) = sources.get(d.image.as_str()) else {
            continue;
        };
        let provider = provider_name(source.provider);
        let req = request(&config.settings, source, d);
        let described = match rebuild::dispatch::describe(&req) {
            Ok(text) => text,
            Err(e) => e.to_string(),
        };
        if options.dry_run {
            report.dispatches.push(Dispatched {
                image: d.image.clone(),
                reason: d.reason,
                provider: provider.to_owned(),
                request: described,
                result: "dry-run".to_owned(),
                run_url: None,
                message: None,
                attempt: d.attempt,
            });
            continue;
        }
        let Some(secret) = tokens.get(provider) else {
            continue;
        };
        // A request refused before sending (too many inputs, a malformed name) is this image's
        // rejection: the configuration must change.
        let no_state_repo =
            source.generated_workflow && config.settings.state_repo.repository_path().is_none();
        let outcome = if no_state_repo {
            Outcome::Rejected {
                status: 0,
                message: format!(
                    "`{}` is generated into the state repository (no `source.workflow`), but \
                     factory.yaml's `stateRepo.url` names no repository to dispatch it in",
                    source.workflow
                ),
            }
        } else {
            match dispatcher.send(&req, secret) {
                Ok(sent) => sent.outcome,
                Err(e) => Outcome::Rejected {
                    status: 0,
                    message: e.to_string(),
                },
            }
        };
        let (result, run_url, message) = match &outcome {
            Outcome::Dispatched { run_url, .. } => {
                (RebuildResult::Dispatched, run_url.clone(), None)
            }
            Outcome::Rejected { status, message } => (
                RebuildResult::Rejected,
                None,
                Some(if *status == 0 {
                    message.clone()
                } else {
                    format!("HTTP {status}: {message}")
                }),
            ),
            Outcome::Failed { message } => (RebuildResult::Failed, None, Some(message.clone())),
        };
        let bases: Vec<PinnedBase> = d
            .pins
            .iter()
            .map(|p| PinnedBase {
                base: p.base.clone(),
                digest: p.digest.clone(),
            })
            .collect();
        outcomes.push(Recorded {
            image: d.image.clone(),
            last: LastRebuild {
                at: now,
                reason: d.reason,
                bases: bases.clone(),
                provider: provider.to_owned(),
                result,
                run_url: run_url.clone(),
                attempt: d.attempt,
            },
            in_flight: (result == RebuildResult::Dispatched).then(|| InFlight {
                at: now,
                covers: d.covers.clone(),
                attempt: d.attempt,
            }),
        });
        let result_name = lower(&result);
        audit_lines.push(audit::Entry {
            at: now,
            event: "dispatch".to_owned(),
            image: d.image.clone(),
            bases,
            reason: lower(&d.reason),
            actor: "analyzer trigger".to_owned(),
            result: result_name.clone(),
            detail: run_url.clone().or_else(|| message.clone()),
        });
        report.dispatches.push(Dispatched {
            image: d.image.clone(),
            reason: d.reason,
            provider: provider.to_owned(),
            request: described,
            result: result_name,
            run_url,
            message,
            attempt: d.attempt,
        });
    }
    if options.dry_run {
        return Ok(report);
    }
    drop(loaded);
    report.written = record(dir, now, &outcomes, &audit_lines)?;
    if let Some((repo, _askpass)) = repo {
        let publish = Publish {
            dir,
            settings: &config.settings,
            environment: &watch.environment,
            push: watch.push.as_ref(),
        };
        let message = commit_message(&report);
        let ours = report.written.files_written.len();
        // The dispatches happened: after a rebase conflict their outcomes are recorded again on
        // the fresh state (and the audit lines appended again), never dispatched again.
        let published =
            commit::commit_and_push(&publish, &repo, message.clone(), ours, &mut || {
                record(dir, now, &outcomes, &audit_lines)?;
                Ok(message.clone())
            });
        report.written.published(published);
    }
    Ok(report)
}

/// What a dispatch changes in its image's state.
struct Recorded {
    image: String,
    last: LastRebuild,
    /// Set when the CI accepted it (then a waiting emergency bypass is used up).
    in_flight: Option<InFlight>,
}

/// Writes the dispatches' outcomes into the state as it is now (loaded afresh, under the lock the
/// caller holds) and appends their audit lines.
fn record(
    dir: &FactoryDir,
    now: model::time::Timestamp,
    outcomes: &[Recorded],
    audit_lines: &[audit::Entry],
) -> Result<Written, JobError> {
    let loaded = dir.load_state(now)?;
    let mut state = loaded.state.clone();
    for outcome in outcomes {
        let Some(image) = state.images.get_mut(&outcome.image) else {
            continue;
        };
        image.rebuild.last = Some(outcome.last.clone());
        if let Some(flight) = &outcome.in_flight {
            image.rebuild.in_flight = Some(flight.clone());
            image.rebuild.bypass = None;
        }
    }
    Written::state_and_audit(dir, &loaded, &state, audit_lines)
}

/// The effective sources of the managed images, and the state's enrolment copies replaced by
/// images.yaml's (a delay or priority changed since the last analysis counts at once).
fn overlay<'c>(state: &mut State, config: &'c Config) -> BTreeMap<&'c str, &'c EffectiveSource> {
    let mut sources = BTreeMap::new();
    for image in &config.images {
        if let Some(s) = state.images.get_mut(&image.name) {
            s.enrollment = image.clone();
        }
        if let Some(source) = &image.source {
            sources.insert(image.name.as_str(), source);
        }
    }
    sources
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Github => "github",
        Provider::Gitlab => "gitlab",
    }
}

fn lower(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn commit_message(report: &TriggerReport) -> String {
    let mut body = String::new();
    for d in &report.dispatches {
        let url = d
            .run_url
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        body.push_str(&format!(
            "- {} ({}): {}{url}\n",
            d.image,
            lower(&d.reason),
            d.result
        ));
    }
    format!(
        "image-factory: trigger {} rebuild(s)\n\n{body}\nTriggered at {}.\n",
        report.dispatches.len(),
        report.now
    )
}

impl fmt::Display for TriggerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dispatches.is_empty() {
            writeln!(f, "nothing due at {}", self.now)?;
        }
        for d in &self.dispatches {
            write!(
                f,
                "{} ({}, attempt {}): {}",
                d.image,
                lower(&d.reason),
                d.attempt,
                d.result
            )?;
            if let Some(url) = &d.run_url {
                write!(f, " {url}")?;
            }
            if let Some(message) = &d.message {
                write!(f, ": {message}")?;
            }
            writeln!(f)?;
            if d.result == "dry-run" {
                writeln!(f, "{}", d.request)?;
            }
        }
        if !self.deferred.is_empty() {
            writeln!(f, "left for the next tick: {}", self.deferred.join(", "))?;
        }
        self.written.fmt(f)
    }
}
