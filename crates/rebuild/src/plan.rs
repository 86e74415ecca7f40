//! [`plan`]: which managed images are due for a rebuild now, on which digests, in which order
//! (SPEC §9.2). A pure function of the state, the settings and the time: the drivers (`analyzer
//! trigger`, the Kargo CronJob) only carry its decisions out.

use std::collections::{BTreeMap, BTreeSet};

use model::enrollment::Priority;
use model::settings::Settings;
use model::state::{ImageState, PendingUpdate, RebuildReason, RebuildResult, State};
use model::time::Timestamp;
use serde::Serialize;

/// The longest wait between two dispatches of one rebuild that failed or was never built.
const MAX_BACKOFF_SECS: u64 = 24 * 3600;

/// Emergencies counted by [`Plan::bypasses_30d`] are at most this old.
const BYPASS_WINDOW_SECS: i64 = 30 * 24 * 3600;

/// What to do now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Plan {
    /// The time planned for.
    pub now: Timestamp,
    /// Images to dispatch, in order (priority, then depth, then name); those past
    /// `trigger.maxPerRun` are [`Due::deferred`] to the next tick.
    pub due: Vec<Due>,
    /// Images with pending updates that are not due yet, or need approval, by name.
    pub pending: Vec<Waiting>,
    /// Images with eligible updates that something holds back, by name.
    pub blocked: Vec<Blocked>,
    /// Emergencies (delay bypasses) of the last 30 days still visible in the state: a waiting
    /// bypass, or a last dispatch made for one.
    pub bypasses_30d: usize,
}

/// An image to rebuild now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Due {
    /// The image.
    pub image: String,
    /// Its priority.
    pub priority: Priority,
    /// How many managed parents stand above it (0: none).
    pub depth: usize,
    /// Why it is rebuilt.
    pub reason: RebuildReason,
    /// Every base of the image pinned to the newest digest that has soaked for it, sorted.
    pub pins: Vec<Pin>,
    /// Bases that cannot be pinned yet (never checked nor observed): built from their tag.
    pub unpinned: Vec<String>,
    /// The pending entries this rebuild covers (moved to the history when its build is recorded).
    pub covers: Vec<PendingUpdate>,
    /// Dispatches of this rebuild so far + 1.
    pub attempt: u32,
    /// Past `trigger.maxPerRun`: left for the next tick.
    pub deferred: bool,
}

/// A base and the digest a rebuild builds on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// Base id, or managed parent name.
    pub base: String,
    /// The canonical reference of the base as the Dockerfile names it.
    pub reference: String,
    /// The digest.
    pub digest: String,
}

/// An image waiting: its updates are not eligible yet, or it needs approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Waiting {
    /// The image.
    pub image: String,
    /// When its first pending entry becomes eligible.
    pub due_at: Timestamp,
    /// `autoRebuild: false`: a person decides (with `analyzer emergency`).
    pub needs_approval: bool,
    /// Its pending entries.
    pub entries: Vec<PendingUpdate>,
}

/// An image with eligible updates that is held back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Blocked {
    /// The image.
    pub image: String,
    /// Why.
    pub reason: Hold,
    /// When the hold ends by itself (`None`: when something else happens).
    pub until: Option<Timestamp>,
}

/// What holds an image back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Hold {
    /// A rebuild is in flight (until its build is recorded or `buildTimeout` passes).
    InFlight,
    /// Dispatched within `coordination.window`.
    Window,
    /// The last dispatch failed, or its build never came: waiting before the next attempt.
    Backoff {
        /// The attempt that will be made.
        attempt: u32,
    },
    /// The CI refused the last dispatch (4xx): not retried until a new update or an emergency.
    Rejected,
    /// A managed parent is due or in flight: the child follows its build.
    Parent {
        /// The parent.
        parent: String,
    },
}

/// Plans the rebuilds at `now` (SPEC §9.2).
pub fn plan(state: &State, settings: &Settings, now: Timestamp) -> Plan {
    let mut plan = Plan {
        now,
        due: Vec::new(),
        pending: Vec::new(),
        blocked: Vec::new(),
        bypasses_30d: 0,
    };
    let managed: BTreeMap<&str, &ImageState> = state
        .images
        .iter()
        .filter(|(_, i)| i.is_managed())
        .map(|(n, i)| (n.as_str(), i))
        .collect();
    let mut candidates: Vec<(&str, u32)> = Vec::new();
    let mut in_flight: BTreeSet<&str> = BTreeSet::new();
    for (&name, image) in &managed {
        plan.bypasses_30d += usize::from(recent_bypass(image, now));
        let rebuild = &image.rebuild;
        if let Some(flight) = &rebuild.in_flight
            && now < flight.at.add(settings.coordination.build_timeout)
        {
            in_flight.insert(name);
        }
        let eligible = rebuild.pending.iter().any(|p| p.eligible_at <= now);
        if !eligible {
            if let Some(due_at) = rebuild.pending.iter().map(|p| p.eligible_at).min() {
                plan.pending.push(waiting(image, due_at, false));
            }
            continue;
        }
        if !image.enrollment.auto_rebuild && rebuild.bypass.is_none() {
            let due_at = rebuild
                .pending
                .iter()
                .map(|p| p.eligible_at)
                .min()
                .unwrap_or(now);
            plan.pending.push(waiting(image, due_at, true));
            continue;
        }
        match hold(image, settings, now) {
            Some((reason, until)) => plan.blocked.push(Blocked {
                image: name.to_owned(),
                reason,
                until,
            }),
            None => candidates.push((name, attempt(image, settings, now))),
        }
    }
    // Parents first: a child waits while any managed ancestor is due or in flight, then gets
    // one rebuild for its own updates and the parent's new build.
    let busy: BTreeSet<&str> = candidates
        .iter()
        .map(|(n, _)| *n)
        .chain(in_flight.iter().copied())
        .collect();
    for (name, attempt) in candidates {
        let Some(image) = managed.get(name) else {
            continue;
        };
        if let Some(parent) = ancestors(&managed, name)
            .into_iter()
            .find(|a| busy.contains(a))
        {
            plan.blocked.push(Blocked {
                image: name.to_owned(),
                reason: Hold::Parent {
                    parent: parent.to_owned(),
                },
                until: None,
            });
            continue;
        }
        plan.due.push(due(
            state,
            image,
            settings,
            now,
            attempt,
            depth(&managed, name),
        ));
    }
    plan.due
        .sort_by(|a, b| (a.priority, a.depth, &a.image).cmp(&(b.priority, b.depth, &b.image)));
    let max = usize::try_from(settings.trigger.max_per_run).unwrap_or(usize::MAX);
    for due in plan.due.iter_mut().skip(max) {
        due.deferred = true;
    }
    plan.blocked.sort_by(|a, b| a.image.cmp(&b.image));
    plan
}

fn waiting(image: &ImageState, due_at: Timestamp, needs_approval: bool) -> Waiting {
    Waiting {
        image: image.name.clone(),
        due_at,
        needs_approval,
        entries: image.rebuild.pending.clone(),
    }
}

fn recent_bypass(image: &ImageState, now: Timestamp) -> bool {
    let recent = |at: Timestamp| now.as_unix_seconds() - at.as_unix_seconds() <= BYPASS_WINDOW_SECS;
    image.rebuild.bypass.as_ref().is_some_and(|b| recent(b.at))
        || image
            .rebuild
            .last
            .as_ref()
            .is_some_and(|l| l.reason == RebuildReason::Emergency && recent(l.at))
}

/// What holds back an image that has eligible updates, if anything, and until when. An emergency
/// waits for nothing but a rebuild in flight.
fn hold(
    image: &ImageState,
    settings: &Settings,
    now: Timestamp,
) -> Option<(Hold, Option<Timestamp>)> {
    let rebuild = &image.rebuild;
    if let Some(flight) = &rebuild.in_flight {
        let timeout = flight.at.add(settings.coordination.build_timeout);
        if now < timeout {
            return Some((Hold::InFlight, Some(timeout)));
        }
    }
    if rebuild.bypass.is_some() {
        return None;
    }
    let last = rebuild.last.as_ref()?;
    match last.result {
        RebuildResult::Rejected => {
            // A refusal is final for what it was asked; a newer eligible update asks something
            // else.
            let newer = rebuild
                .pending
                .iter()
                .any(|p| p.seen_at > last.at && p.eligible_at <= now);
            if !newer {
                return Some((Hold::Rejected, None));
            }
        }
        RebuildResult::Failed | RebuildResult::Dispatched => {
            let attempt = attempt(image, settings, now);
            let ready = last.at.add(backoff(settings, attempt));
            if attempt > 1 && now < ready {
                return Some((Hold::Backoff { attempt }, Some(ready)));
            }
        }
        RebuildResult::Built => {}
    }
    let window_end = last.at.add(settings.coordination.window);
    (now < window_end).then_some((Hold::Window, Some(window_end)))
}

/// The attempt a dispatch now would be: the next of a failed dispatch or of a rebuild whose build
/// never came, else 1.
fn attempt(image: &ImageState, settings: &Settings, now: Timestamp) -> u32 {
    let Some(last) = &image.rebuild.last else {
        return 1;
    };
    let timed_out = image
        .rebuild
        .in_flight
        .as_ref()
        .is_some_and(|f| now >= f.at.add(settings.coordination.build_timeout));
    match last.result {
        RebuildResult::Failed => last.attempt.saturating_add(1),
        RebuildResult::Dispatched if timed_out => last.attempt.saturating_add(1),
        _ => 1,
    }
}

/// The wait after a dispatch before attempt `attempt` (≥ 2): the coordination window doubled per
/// attempt, at most a day.
fn backoff(settings: &Settings, attempt: u32) -> model::duration::Duration {
    let window = settings.coordination.window.as_secs().max(60);
    let factor = 1u64 << attempt.saturating_sub(2).min(16);
    model::duration::Duration::from_secs(window.saturating_mul(factor).min(MAX_BACKOFF_SECS))
}

/// The managed images above `name` (parents, their parents, ...), nearest first.
fn ancestors<'a>(managed: &BTreeMap<&'a str, &'a ImageState>, name: &str) -> Vec<&'a str> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue: Vec<&str> = managed
        .get(name)
        .map(|i| i.managed_parents.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    while let Some(parent) = queue.first().copied() {
        queue.remove(0);
        let Some((&key, image)) = managed.get_key_value(parent) else {
            continue;
        };
        if key == name || !seen.insert(key) {
            continue;
        }
        out.push(key);
        queue.extend(image.managed_parents.iter().map(String::as_str));
    }
    out
}

/// The longest chain of managed parents above `name` (cycles cut).
pub(crate) fn depth(managed: &BTreeMap<&str, &ImageState>, name: &str) -> usize {
    fn walk(managed: &BTreeMap<&str, &ImageState>, name: &str, path: &mut Vec<String>) -> usize {
        let Some(image) = managed.get(name) else {
            return 0;
        };
        let mut deepest = 0;
        for parent in &image.managed_parents {
            if path.contains(parent) || !managed.contains_key(parent.as_str()) {
                continue;
            }
            path.push(parent.clone());
            deepest = deepest.max(1 + walk(managed, parent, path));
            path.pop();
        }
        deepest
    }
    walk(managed, name, &mut vec![name.to_owned()])
}

/// The rebuild of a due image: every base pinned to its newest digest that soaked for this image
/// (the oldest digest recorded — the baseline — always counts as soaked, as does a digest an
/// emergency made eligible), every eligible entry covered.
fn due(
    state: &State,
    image: &ImageState,
    settings: &Settings,
    now: Timestamp,
    attempt: u32,
    depth: usize,
) -> Due {
    let rebuild = &image.rebuild;
    let eligible: Vec<&PendingUpdate> = rebuild
        .pending
        .iter()
        .filter(|p| p.eligible_at <= now)
        .collect();
    let eligible_digest = |base: &str, digest: &str| {
        eligible
            .iter()
            .any(|p| p.base == base && p.digest == digest)
    };
    let delay = image.enrollment.rebuild_delay;
    let mut pins = Vec::new();
    let mut unpinned = Vec::new();
    for id in &image.base_images {
        let Some(base) = state.bases.get(id) else {
            unpinned.push(id.clone());
            continue;
        };
        if base.watch.is_none() {
            continue; // pinned by digest in the Dockerfile: nothing to choose
        }
        let oldest = base.update_history.len().saturating_sub(1);
        let soaked = base.update_history.iter().enumerate().find(|(i, seen)| {
            *i == oldest || seen.seen_at.add(delay) <= now || eligible_digest(id, &seen.digest)
        });
        match soaked {
            Some((_, seen)) => pins.push(Pin {
                base: id.clone(),
                reference: base.reference.clone(),
                digest: seen.digest.clone(),
            }),
            None => unpinned.push(id.clone()),
        }
    }
    for parent in &image.managed_parents {
        let Some(parent_state) = state.images.get(parent) else {
            continue;
        };
        // The reference as the Dockerfile wrote it (with its tag), else the parent's repository.
        let repository = format!(
            "{}/{}",
            parent_state.enrollment.registry, parent_state.enrollment.repository
        );
        let reference = image
            .depends_on
            .iter()
            .find(|r| {
                r.strip_prefix(repository.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '@']))
            })
            .cloned()
            .unwrap_or(repository);
        // The parent's newest build that has waited `cascadeDelay`, or that an entry made eligible.
        let built = parent_state
            .history
            .iter()
            .filter_map(|h| Some((h.at, h.digest.as_deref()?)));
        let cascade = settings.coordination.cascade_delay;
        match built
            .into_iter()
            .find(|(at, digest)| at.add(cascade) <= now || eligible_digest(parent, digest))
            .map(|(_, d)| d.to_owned())
            .or_else(|| parent_state.current_digest.clone())
        {
            Some(digest) => pins.push(Pin {
                base: parent.clone(),
                reference,
                digest,
            }),
            None => unpinned.push(parent.clone()),
        }
    }
    pins.sort();
    unpinned.sort();
    let covers: Vec<PendingUpdate> = eligible.into_iter().cloned().collect();
    let parents_only = covers
        .iter()
        .all(|p| image.managed_parents.contains(&p.base));
    let reason = if rebuild.bypass.is_some() {
        RebuildReason::Emergency
    } else if parents_only {
        RebuildReason::Cascade
    } else {
        RebuildReason::Scheduled
    };
    Due {
        image: image.name.clone(),
        priority: image.enrollment.priority,
        depth,
        reason,
        pins,
        unpinned,
        covers,
        attempt,
        deferred: false,
    }
}
