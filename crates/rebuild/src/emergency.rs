//! [`declare`]: an emergency (`analyzer emergency`, SPEC §9.3) — a person decides that some
//! pending base updates cannot wait for their rebuild delay.
//!
//! Pure, like [`plan`](crate::plan()): it changes the state in memory and the driver writes it,
//! the audit line and the notification. The next [`plan`](crate::plan()) then makes the affected
//! images due at once, even with `autoRebuild: false`, and past the coordination window, a backoff
//! or a refused dispatch. Only a rebuild in flight still holds them: a second build of the same
//! image at the same time would race the first.
//!
//! - `--image NAME`: every pending entry of that image becomes eligible now.
//! - `--base ID`: the pending entries of that base become eligible now in every managed image
//!   that has one. Entries of the image's *other* bases keep their clocks, so a base that moved an
//!   hour ago does not slip into the emergency build.
//!
//! Either way the managed images built on an affected image (transitively) get the bypass too:
//! when their parent's emergency build is recorded, the cascade entry it gives them is eligible
//! at once (no `coordination.cascadeDelay`) and they are rebuilt at the next tick — the cascade is
//! part of the emergency.

use std::collections::{BTreeMap, BTreeSet};

use model::state::{Bypass, PendingUpdate, State};
use model::time::Timestamp;
use serde::Serialize;

/// What an emergency covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One managed image (by name).
    Image(String),
    /// One base image (by id, the file name under `state/base-images/`).
    Base(String),
}

/// An emergency as a person declared it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emergency {
    /// What it covers.
    pub scope: Scope,
    /// Why (required: SPEC §11 #15).
    pub reason: String,
    /// Who declared it.
    pub actor: String,
    /// When.
    pub at: Timestamp,
}

/// An image the emergency bypasses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Affected {
    /// The managed image.
    pub image: String,
    /// Its pending entries made eligible now (empty for a cascade child: its entry comes with
    /// its parent's build).
    pub entries: Vec<PendingUpdate>,
    /// For a cascade child: the affected image it is built on.
    pub via: Option<String>,
}

/// Why an emergency was refused (the state is unchanged).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmergencyError {
    /// No reason, or only blanks.
    #[error(
        "an emergency needs a reason (--reason): it is recorded in the state and the audit log"
    )]
    NoReason,
    /// No actor, or only blanks.
    #[error("an emergency needs an actor (--actor): who declared it is recorded")]
    NoActor,
    /// No managed image of that name.
    #[error("no managed image `{0}` in the state (see `analyzer plan`, or state/images/)")]
    UnknownImage(String),
    /// No base image of that id.
    #[error("no base image `{0}` in the state (ids are the file names under state/base-images/)")]
    UnknownBase(String),
    /// Nothing is pending: there is no newer digest to rebuild on.
    #[error(
        "{0} has no pending base update: nothing newer than what is built is known. Run \
         `analyzer check` first if the base has just moved, or start the CI by hand to rebuild \
         on the same bases"
    )]
    NothingPending(String),
}

/// Declares `emergency` in `state`: the affected images get a bypass (`rebuild.bypass`) and
/// their covered pending entries become eligible at `emergency.at`. Returns the affected images,
/// the directly affected ones first (by name), then their cascade (by name).
///
/// # Errors
/// [`EmergencyError`] when it lacks a reason or an actor, names nothing known, or nothing is
/// pending; then `state` is unchanged.
pub fn declare(state: &mut State, emergency: &Emergency) -> Result<Vec<Affected>, EmergencyError> {
    if emergency.reason.trim().is_empty() {
        return Err(EmergencyError::NoReason);
    }
    if emergency.actor.trim().is_empty() {
        return Err(EmergencyError::NoActor);
    }
    let at = emergency.at;
    // Which entries of which image become eligible.
    let mut direct: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    match &emergency.scope {
        Scope::Image(name) => {
            let image = state
                .images
                .get(name)
                .filter(|i| i.is_managed())
                .ok_or_else(|| EmergencyError::UnknownImage(name.clone()))?;
            if image.rebuild.pending.is_empty() {
                return Err(EmergencyError::NothingPending(format!("image `{name}`")));
            }
            direct.insert(name.clone(), (0..image.rebuild.pending.len()).collect());
        }
        Scope::Base(id) => {
            if !state.bases.contains_key(id) {
                return Err(EmergencyError::UnknownBase(id.clone()));
            }
            for (name, image) in state.images.iter().filter(|(_, i)| i.is_managed()) {
                let entries: Vec<usize> = (0..image.rebuild.pending.len())
                    .filter(|&i| image.rebuild.pending[i].base == *id)
                    .collect();
                if !entries.is_empty() {
                    direct.insert(name.clone(), entries);
                }
            }
            if direct.is_empty() {
                return Err(EmergencyError::NothingPending(format!("base `{id}`")));
            }
        }
    }
    let cascade = descendants(state, &direct);
    let bypass = Bypass {
        at,
        reason: emergency.reason.trim().to_owned(),
        actor: emergency.actor.trim().to_owned(),
    };
    let mut affected = Vec::new();
    for (name, indices) in &direct {
        let Some(image) = state.images.get_mut(name) else {
            continue;
        };
        let mut entries = Vec::new();
        for &i in indices {
            if let Some(entry) = image.rebuild.pending.get_mut(i) {
                entry.eligible_at = entry.eligible_at.min(at);
                entries.push(entry.clone());
            }
        }
        image.rebuild.bypass = Some(bypass.clone());
        affected.push(Affected {
            image: name.clone(),
            entries,
            via: None,
        });
    }
    for (name, via) in cascade {
        let Some(image) = state.images.get_mut(&name) else {
            continue;
        };
        image.rebuild.bypass = Some(bypass.clone());
        affected.push(Affected {
            image: name,
            entries: Vec::new(),
            via: Some(via),
        });
    }
    Ok(affected)
}

/// The managed images built (transitively) on the directly affected ones and not affected
/// themselves, each with the nearest affected image it is built on, by name.
fn descendants(state: &State, direct: &BTreeMap<String, Vec<usize>>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut reached: BTreeSet<&str> = direct.keys().map(String::as_str).collect();
    let mut frontier: Vec<&str> = reached.iter().copied().collect();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (name, image) in state.images.iter().filter(|(_, i)| i.is_managed()) {
            if reached.contains(name.as_str()) {
                continue;
            }
            if let Some(parent) = image
                .managed_parents
                .iter()
                .find(|p| frontier.contains(&p.as_str()))
            {
                out.insert(name.clone(), parent.clone());
                next.push(name.as_str());
            }
        }
        reached.extend(next.iter().copied());
        frontier = next;
    }
    out
}
