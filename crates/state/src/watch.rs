//! Recording a digest a driver saw for a base image (SPEC §9.1): the one code path of
//! `analyzer check` (the registry's answer) and `analyzer observe` (a Kargo Warehouse's Freight).
//!
//! - The first digest ever seen is the **baseline**: recorded, never a reason to rebuild, so
//!   installing image-factory does not rebuild the fleet.
//! - A digest already in the base's `updateHistory` is **known**: nothing changes, so a repeated
//!   check or an `observe` after a `check` (either order) writes nothing.
//! - Any other digest is an **update**, recorded once with `seenAt` = now (the first time any driver
//!   saw it): it becomes `currentDigest`, joins the history (newest first, bounded), and every
//!   managed dependent gets a pending entry eligible after its own `rebuildDelay`. An older pending
//!   entry of the same base keeps its clock.
//!
//! `lastChecked` is the time a driver last recorded a digest (baseline or update), so it is the
//! same whichever driver saw the digest first. It is not stamped when the known digest is seen
//! again: that would rewrite every base file on every check (ADR 0005).

use model::digest::Digest;
use model::enrollment::EffectiveImage;
use model::state::{BASE_HISTORY_LIMIT, DigestSeen, PendingUpdate, State};
use model::time::Timestamp;

/// What recording a digest did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "seen", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Seen {
    /// The first digest ever seen for the base: recorded, no pending entries.
    Baseline,
    /// A digest already recorded for the base: nothing changed.
    Known,
    /// A new digest.
    #[serde(rename_all = "camelCase")]
    Update {
        /// The digest it replaces as `currentDigest`.
        previous_digest: Option<String>,
        /// When it was first seen (now).
        seen_at: Timestamp,
        /// The managed images that got a pending entry for it, sorted.
        dependents: Vec<String>,
    },
}

/// Why a digest was not recorded (nothing changed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// No base image with this id in the state.
    #[error("unknown base image `{0}` (ids are the file names under state/base-images/)")]
    UnknownBase(String),
    /// The base is pinned by digest in its Dockerfiles: nothing of it can move.
    #[error("base image `{0}` is pinned by digest and not watched")]
    NotWatched(String),
    /// Not `algorithm:hex`.
    #[error("`{digest}` is not a digest: {reason}")]
    BadDigest {
        /// The text given.
        digest: String,
        /// Why.
        reason: String,
    },
}

/// Records that `digest` was seen for the base `base` at `now`; `enrollment` gives each dependent's
/// rebuild delay. Pure: the caller loads and writes the state.
///
/// # Errors
/// An unknown or unwatched base, or a malformed digest; `state` is then unchanged.
pub fn record(
    state: &mut State,
    enrollment: &[EffectiveImage],
    base: &str,
    digest: &str,
    now: Timestamp,
) -> Result<Seen, RecordError> {
    let digest = Digest::parse(digest)
        .map_err(|e| RecordError::BadDigest {
            digest: digest.to_owned(),
            reason: e.to_string(),
        })?
        .as_str()
        .to_owned();
    let entry = state
        .bases
        .get_mut(base)
        .ok_or_else(|| RecordError::UnknownBase(base.to_owned()))?;
    if entry.watch.is_none() {
        return Err(RecordError::NotWatched(base.to_owned()));
    }
    if entry.update_history.iter().any(|d| d.digest == digest)
        || entry.current_digest.as_deref() == Some(digest.as_str())
    {
        return Ok(Seen::Known);
    }
    let baseline = entry.current_digest.is_none() && entry.update_history.is_empty();
    let previous_digest = entry.current_digest.replace(digest.clone());
    entry.previous_digest.clone_from(&previous_digest);
    entry.last_updated = Some(now);
    entry.last_checked = Some(now);
    entry.update_history.insert(
        0,
        DigestSeen {
            digest: digest.clone(),
            seen_at: now,
        },
    );
    entry.update_history.truncate(BASE_HISTORY_LIMIT);
    if baseline {
        return Ok(Seen::Baseline);
    }
    let mut dependents = Vec::new();
    for name in entry.dependents.clone() {
        let (Some(image), Some(enrolled)) = (
            state.images.get_mut(&name),
            enrollment.iter().find(|e| e.name == name && e.is_managed()),
        ) else {
            continue;
        };
        let eligible_at = now.add(enrolled.rebuild_delay);
        let pending = &mut image.rebuild.pending;
        // A digest that fell off the bounded history and came back keeps its first clock.
        if pending.iter().any(|p| p.base == base && p.digest == digest) {
            continue;
        }
        pending.push(PendingUpdate {
            base: base.to_owned(),
            digest: digest.clone(),
            seen_at: now,
            eligible_at,
        });
        pending
            .sort_by(|a, b| (&a.base, a.seen_at, &a.digest).cmp(&(&b.base, b.seen_at, &b.digest)));
        entry.rebuild_eligible_at.insert(name.clone(), eligible_at);
        dependents.push(name);
    }
    dependents.sort();
    Ok(Seen::Update {
        previous_digest,
        seen_at: now,
        dependents,
    })
}
