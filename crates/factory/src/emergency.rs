//! The emergency job (`analyzer emergency`, SPEC §9.3): a person bypasses the rebuild delay of an
//! image, or of every dependent of a base (cascade included), with a reason. Declared with
//! [`rebuild::declare`] on the state, recorded in the state (`rebuild.bypass`) and the audit log,
//! announced to the notification webhook, committed and pushed; the next `trigger` dispatches (or
//! at once with `--trigger`).

use std::fmt;

use model::reference::ImageRef;
use model::state::{PinnedBase, State};
use model::time::Timestamp;
use rebuild::dispatch::{Dispatcher, Limits, Outcome, Secret};
use rebuild::{Affected, Emergency, EmergencyError, Scope};
use serde::Serialize;
use state::audit;

use crate::commit::{self, Publish};
use crate::dir::FactoryDir;
use crate::error::{JobError, UsageError};
use crate::trigger::{TriggerOptions, TriggerReport, trigger};
use crate::watch::{WatchOptions, Written};

/// What the emergency is about, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmergencyTarget {
    /// A managed image's name.
    Image(String),
    /// A base image's id (`state/base-images/<id>.yaml`) or reference (`node:22`).
    Base(String),
}

/// Options of [`emergency`].
#[derive(Clone, Debug)]
pub struct EmergencyOptions {
    /// The image or base.
    pub target: EmergencyTarget,
    /// Why (required).
    pub reason: String,
    /// Who.
    pub actor: String,
    /// Run `trigger` right after, with these options (its `watch` is this job's).
    pub trigger: bool,
    /// Time-outs and retry bounds of the webhook and (with `trigger`) the CI requests.
    pub limits: Limits,
    /// The time, writing and publishing.
    pub watch: WatchOptions,
}

/// The report of [`emergency`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EmergencyReport {
    /// When it was declared.
    pub at: Timestamp,
    /// `image` or `base`.
    pub scope: &'static str,
    /// The image name or base id.
    pub target: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// The images bypassed: the directly affected, then their cascade.
    pub affected: Vec<Affected>,
    /// The webhook's answer: `sent`, `not configured`, or why it failed.
    pub notification: String,
    /// Files, commit and push.
    #[serde(flatten)]
    pub written: Written,
    /// The dispatches of `--trigger`.
    pub trigger: Option<TriggerReport>,
}

impl EmergencyReport {
    /// Whether it was recorded, announced (when a webhook is configured) and, with `--trigger`,
    /// dispatched.
    pub fn is_success(&self) -> bool {
        self.written.load_errors.is_empty()
            && self.written.git_error.is_none()
            && (self.notification == "sent" || self.notification == NOT_CONFIGURED)
            && self.trigger.as_ref().is_none_or(TriggerReport::is_success)
    }
}

const NOT_CONFIGURED: &str = "not configured (IMAGE_FACTORY_WEBHOOK_URL)";

/// Runs `analyzer emergency`.
///
/// # Errors
/// [`UsageError::Emergency`] without a reason or an actor, for an unknown image or base, or when
/// nothing is pending (nothing written, nothing sent); configuration errors; the lock, reading or
/// writing the state.
pub fn emergency(
    dir: &FactoryDir,
    options: &EmergencyOptions,
) -> Result<EmergencyReport, JobError> {
    let config = dir.config()?;
    let watch = &options.watch;
    let now = watch.now;
    let usage = |e: EmergencyError| JobError::from(UsageError::Emergency(e));
    // Refused before anything is locked, cloned or read.
    if options.reason.trim().is_empty() {
        return Err(usage(EmergencyError::NoReason));
    }
    if options.actor.trim().is_empty() {
        return Err(usage(EmergencyError::NoActor));
    }
    let repo = if watch.commit {
        let (access, askpass) = watch.environment.git_access()?;
        Some((commit::prepare(dir, access)?, askpass))
    } else {
        None
    };
    let lock = dir.lock(watch.lock_timeout)?;
    let loaded = dir.load_state(now)?;
    let (scope, target) = match &options.target {
        EmergencyTarget::Image(name) => ("image", Scope::Image(name.clone())),
        EmergencyTarget::Base(text) => ("base", Scope::Base(base_id(&loaded.state, text))),
    };
    let declared = Emergency {
        scope: target,
        reason: options.reason.clone(),
        actor: options.actor.clone(),
        at: now,
    };
    let mut state = loaded.state.clone();
    let affected = rebuild::declare(&mut state, &declared).map_err(usage)?;
    let target_name = match &declared.scope {
        Scope::Image(n) | Scope::Base(n) => n.clone(),
    };
    let notification = notify(
        &options.limits,
        watch.environment.webhook_url.as_deref(),
        &config.settings.project,
        &declared,
        scope,
        &affected,
    );
    let audit_lines = audit_lines(&declared, scope, &target_name, &affected, &notification);
    drop(loaded);
    let mut report = EmergencyReport {
        at: now,
        scope,
        target: target_name.clone(),
        reason: declared.reason.trim().to_owned(),
        actor: declared.actor.trim().to_owned(),
        affected,
        notification,
        written: record(dir, now, &declared, &audit_lines)?,
        trigger: None,
    };
    if let Some((repo, _askpass)) = repo {
        let publish = Publish {
            dir,
            settings: &config.settings,
            environment: &watch.environment,
            push: watch.push.as_ref(),
        };
        let message = format!(
            "image-factory: emergency on {scope} {target_name}\n\nReason: {}\nActor: {}\nImages: \
             {}\n\nDeclared at {now}.\n",
            report.reason,
            report.actor,
            report
                .affected
                .iter()
                .map(|a| a.image.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let ours = report.written.files_written.len();
        // After a rebase conflict the emergency is declared again on the fresh state.
        let published =
            commit::commit_and_push(&publish, &repo, message.clone(), ours, &mut || {
                record(dir, now, &declared, &audit_lines)?;
                Ok(message.clone())
            });
        report.written.published(published);
    }
    drop(lock);
    if options.trigger {
        let trigger_options = TriggerOptions {
            dry_run: false,
            limits: options.limits.clone(),
            watch: options.watch.clone(),
        };
        report.trigger = Some(trigger(dir, &trigger_options)?);
    }
    Ok(report)
}

/// The id of a base given by id or by reference (`node:22` → `node-22`); unknown text is kept
/// as it is, for [`rebuild::declare`] to refuse by name.
fn base_id(state: &State, text: &str) -> String {
    if state.bases.contains_key(text) {
        return text.to_owned();
    }
    let Ok(reference) = ImageRef::parse_normalized(text) else {
        return text.to_owned();
    };
    let canonical = reference.canonical();
    state
        .bases
        .iter()
        .find(|(_, b)| b.reference == canonical)
        .map_or_else(|| model::names::base_id(&reference), |(id, _)| id.clone())
}

/// Declares the emergency on the state as it is now (loaded afresh, under the caller's lock),
/// writes it and appends the audit lines.
fn record(
    dir: &FactoryDir,
    now: Timestamp,
    declared: &Emergency,
    audit_lines: &[audit::Entry],
) -> Result<Written, JobError> {
    let loaded = dir.load_state(now)?;
    let mut state = loaded.state.clone();
    rebuild::declare(&mut state, declared).map_err(|e| JobError::from(UsageError::Emergency(e)))?;
    Written::state_and_audit(dir, &loaded, &state, audit_lines)
}

/// One `emergency` line per affected image.
fn audit_lines(
    declared: &Emergency,
    scope: &str,
    target: &str,
    affected: &[Affected],
    notification: &str,
) -> Vec<audit::Entry> {
    affected
        .iter()
        .map(|a| audit::Entry {
            at: declared.at,
            event: "emergency".to_owned(),
            image: a.image.clone(),
            bases: a
                .entries
                .iter()
                .map(|e| PinnedBase {
                    base: e.base.clone(),
                    digest: e.digest.clone(),
                })
                .collect(),
            reason: declared.reason.trim().to_owned(),
            actor: declared.actor.trim().to_owned(),
            result: "bypassed".to_owned(),
            detail: Some(match &a.via {
                Some(parent) => {
                    format!("{scope} {target}, cascade after {parent}; notification {notification}")
                }
                None => format!("{scope} {target}; notification {notification}"),
            }),
        })
        .collect()
}

/// Posts the emergency to the webhook, when one is configured: `sent`, not configured, or why
/// not. A failure is reported and audited; the emergency stands.
fn notify(
    limits: &Limits,
    url: Option<&str>,
    project: &str,
    declared: &Emergency,
    scope: &str,
    affected: &[Affected],
) -> String {
    let Some(url) = url else {
        return NOT_CONFIGURED.to_owned();
    };
    let target = match &declared.scope {
        Scope::Image(n) | Scope::Base(n) => n.as_str(),
    };
    let images: Vec<serde_json::Value> = affected
        .iter()
        .map(|a| serde_json::json!({"image": a.image, "via": a.via}))
        .collect();
    let names: Vec<&str> = affected.iter().map(|a| a.image.as_str()).collect();
    // `text` makes it readable as is by Slack-compatible webhooks.
    let body = serde_json::json!({
        "event": "emergency",
        "project": project,
        "at": declared.at.to_string(),
        "scope": scope,
        "target": target,
        "reason": declared.reason.trim(),
        "actor": declared.actor.trim(),
        "images": images,
        "text": format!(
            "image-factory emergency on {scope} {target} by {}: {} (rebuilding {})",
            declared.actor.trim(),
            declared.reason.trim(),
            names.join(", ")
        ),
    });
    let sent =
        Dispatcher::new(limits.clone()).and_then(|d| d.notify(&Secret::new(url), body.to_string()));
    match sent {
        Ok(sent) => match sent.outcome {
            Outcome::Dispatched { .. } => "sent".to_owned(),
            Outcome::Rejected { status, message } => format!("refused (HTTP {status}: {message})"),
            Outcome::Failed { message } => format!("failed ({message})"),
        },
        Err(e) => format!("not sent ({e})"),
    }
}

impl fmt::Display for EmergencyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "emergency on {} {} by {} at {}: {}",
            self.scope, self.target, self.actor, self.at, self.reason
        )?;
        for a in &self.affected {
            match &a.via {
                Some(parent) => writeln!(f, "  {} (after {parent}'s rebuild)", a.image)?,
                None => writeln!(
                    f,
                    "  {} ({} update(s) eligible now)",
                    a.image,
                    a.entries.len()
                )?,
            }
        }
        writeln!(f, "notification: {}", self.notification)?;
        self.written.fmt(f)?;
        match &self.trigger {
            Some(report) => report.fmt(f),
            None => writeln!(f, "the next `analyzer trigger` dispatches them"),
        }
    }
}
