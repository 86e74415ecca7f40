//! State types (SPEC §7): what the tools record about every image, one YAML file per entity.
//!
//! - [`ImageState`]: `state/images/<name>.yaml`, one per enrolled image (managed or external): the
//!   effective enrolment, the last discovery ([`Discovery`]), the references it depends on, the base images it depends on (ids of
//!   [`BaseImageState`] files), other image references ([`OtherRef`]), managed parents (cascade), the
//!   current build, pending base updates and the last rebuild ([`RebuildState`]) and a bounded
//!   [`HistoryEntry`] list.
//! - [`BaseImageState`]: `state/base-images/<id>.yaml`, one per upstream image some managed image
//!   builds from (or copies/mounts from): reference, upstream [`Watch`], digests seen
//!   ([`DigestSeen`]), dependents and per-dependent rebuild eligibility.
//! - [`Archived`]: set only on files under `state/_archive/` (removed images, bases without dependents,
//!   bases promoted to managed images), which keep all their history for a later restore.
//! - [`State`]: everything in a factory dir's `state/` (active and archived), keyed by name / id.
//!
//! Format rules (shared by every file): camelCase keys in the field order of these structs; lists
//! sorted (names, ids) or newest first (histories, bounded by [`IMAGE_HISTORY_LIMIT`] and
//! [`BASE_HISTORY_LIMIT`]); maps are `BTreeMap`s; timestamps are RFC 3339 UTC with second precision
//! ([`Timestamp`]). **Every key is always written** (`null` when unknown, `[]`/`{}` when empty) so all
//! files of a kind look alike and diffs show values appearing; the only exceptions are the lifecycle
//! markers `archived` and `demotedFrom`, written only when set. Each file starts with `version`
//! ([`STATE_VERSION`]); readers refuse other versions.
//!
//! These types are plain data: loading, merging and writing live in the `image-factory-state` crate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enrollment::{EffectiveImage, ImageKind};
use crate::reference::ImageRef;
use crate::time::Timestamp;

/// The state file format version written by this release.
pub const STATE_VERSION: u32 = 1;
/// Most entries kept in an image's `history` (newest first).
pub const IMAGE_HISTORY_LIMIT: usize = 50;
/// Most entries kept in a base image's `updateHistory` (newest first).
pub const BASE_HISTORY_LIMIT: usize = 20;

/// Everything under a factory dir's `state/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// `state/images/<name>.yaml`, by name.
    pub images: BTreeMap<String, ImageState>,
    /// `state/base-images/<id>.yaml`, by id.
    pub bases: BTreeMap<String, BaseImageState>,
    /// `state/_archive/images/<name>.yaml`, by name.
    pub archived_images: BTreeMap<String, ImageState>,
    /// `state/_archive/base-images/<id>.yaml`, by id.
    pub archived_bases: BTreeMap<String, BaseImageState>,
}

/// `state/images/<name>.yaml`: one enrolled image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageState {
    /// File format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The image name (the file name without `.yaml`).
    pub name: String,
    /// Managed (built by us) or external (tracked only).
    pub kind: ImageKind,
    /// When the image was first enrolled (kept across runs, archive and restore).
    pub enrolled_at: Timestamp,
    /// The effective configuration from `images.yaml` (defaults applied), for the record. Always
    /// overwritten from `images.yaml`.
    pub enrollment: EffectiveImage,
    /// External images: how the upstream image is watched. Always `null` for managed images (their
    /// built image is watched by `enrollment.tagPolicy`, never as an upstream).
    pub watch: Option<Watch>,
    /// Managed images: the last Dockerfile analysis. `null` for external images.
    pub discovery: Option<Discovery>,
    /// Canonical references of every image the Dockerfile depends on (FROM images, `COPY --from`
    /// and `RUN --mount from=` images), sorted: the record `baseImages` and `managedParents` are
    /// derived from (so promotion and demotion can reclassify them without a new analysis).
    pub depends_on: Vec<String>,
    /// Ids of the [`BaseImageState`] files this image depends on (FROM, `COPY --from`,
    /// `RUN --mount from=` images that are not managed images), sorted.
    pub base_images: Vec<String>,
    /// Image references other than FROM lines (`COPY --from`, `RUN --mount from=`, `# syntax=`),
    /// sorted by reference then kind.
    pub other_refs: Vec<OtherRef>,
    /// Names of managed images this one builds from (cascade), sorted.
    pub managed_parents: Vec<String>,
    /// Version (tag) of the last build we know of.
    pub current_version: Option<String>,
    /// Digest of the last build we know of (external images: of the watched tag).
    pub current_digest: Option<String>,
    /// When the last build was recorded.
    pub last_built: Option<Timestamp>,
    /// Pending base updates and the last rebuild.
    pub rebuild: RebuildState,
    /// Builds and lifecycle events, newest first, at most [`IMAGE_HISTORY_LIMIT`].
    pub history: Vec<HistoryEntry>,
    /// Set only on archived files (`state/_archive/images/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<Archived>,
}

impl ImageState {
    /// Whether this image is built by us.
    pub fn is_managed(&self) -> bool {
        self.kind == ImageKind::Managed
    }
}

/// `discovery`: the result of the last analysis of a managed image's Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Discovery {
    /// Outcome.
    pub status: DiscoveryStatus,
    /// When this outcome was first obtained. An analysis with the same outcome keeps the time, so an
    /// unchanged run rewrites nothing.
    pub at: Option<Timestamp>,
    /// Path of the Dockerfile in the source repository.
    pub dockerfile: String,
    /// `sha256:<hex>` of the Dockerfile's bytes when it was read successfully.
    pub dockerfile_digest: Option<String>,
    /// What went wrong (status `failed`), one problem per line.
    pub error: Option<String>,
}

/// Outcome of a discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryStatus {
    /// Not analysed yet.
    Pending,
    /// Base images discovered.
    Success,
    /// The analysis failed; the previous base images are kept.
    Failed,
}

/// An image a build needs that is not a FROM base image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtherRef {
    /// The canonical reference (`docker.io/library/busybox:1.36`).
    pub reference: String,
    /// Where it was found.
    pub kind: OtherRefKind,
}

/// Where an [`OtherRef`] was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OtherRefKind {
    /// `COPY --from=<image>` (also a dependency: listed in `baseImages` / `managedParents`).
    CopyFrom,
    /// `RUN --mount=...,from=<image>` (also a dependency, like `CopyFrom`).
    RunMountFrom,
    /// The `# syntax=` frontend (recorded, not a dependency).
    Syntax,
}

/// How an upstream image is watched (base images and external images).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Watch {
    /// Always `Digest`: new digests of one tag.
    pub strategy: WatchStrategy,
    /// The tag whose digest is watched.
    pub constraint: String,
}

/// Upstream watch strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatchStrategy {
    /// Newest digest of one tag.
    #[default]
    Digest,
}

/// `rebuild`: base updates waiting to be built, the rebuild in flight, the last dispatch and an
/// emergency bypass waiting for the next dispatch (SPEC §9.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RebuildState {
    /// New base digests not yet built into this image, sorted by base then `seenAt`.
    pub pending: Vec<PendingUpdate>,
    /// The rebuild dispatched and not yet recorded as built (until `coordination.buildTimeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<InFlight>,
    /// The last dispatch.
    pub last: Option<LastRebuild>,
    /// An emergency (`analyzer emergency`) whose rebuild is not dispatched yet: the pending
    /// entries it made eligible are due at the next tick, even with `autoRebuild: false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass: Option<Bypass>,
}

/// A new digest of a base image (or a new build of a managed parent) not yet built into an image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PendingUpdate {
    /// Base id, or managed parent name.
    pub base: String,
    /// The new digest.
    pub digest: String,
    /// When we first saw it.
    pub seen_at: Timestamp,
    /// When the image may be rebuilt for it (`seenAt` + the image's rebuild delay).
    pub eligible_at: Timestamp,
}

/// A base (id, or managed parent name) and the digest a rebuild pins it to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinnedBase {
    /// Base id, or managed parent name.
    pub base: String,
    /// The digest built on.
    pub digest: String,
}

/// `rebuild.inFlight`: a dispatched rebuild whose build is not recorded yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InFlight {
    /// When it was dispatched.
    pub at: Timestamp,
    /// The pending entries it covers (moved to the history when the build is recorded).
    pub covers: Vec<PendingUpdate>,
    /// Dispatches of the same rebuild so far (1 for the first).
    pub attempt: u32,
}

/// `rebuild.last`: the last dispatch of a rebuild.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LastRebuild {
    /// When it was dispatched.
    pub at: Timestamp,
    /// Why.
    pub reason: RebuildReason,
    /// Every watched base pinned, with its digest, sorted.
    pub bases: Vec<PinnedBase>,
    /// The CI provider called (`github`, `gitlab`).
    pub provider: String,
    /// What the CI answered.
    pub result: RebuildResult,
    /// Link to the CI run, when the CI gave one.
    pub run_url: Option<String>,
    /// Dispatches of the same rebuild so far (1 for the first).
    pub attempt: u32,
}

/// Why a rebuild was dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RebuildReason {
    /// Base updates whose delay has passed.
    Scheduled,
    /// An emergency bypassed the delay.
    Emergency,
    /// A managed parent was rebuilt.
    Cascade,
}

/// What the CI answered a dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RebuildResult {
    /// Accepted; the build is in flight.
    Dispatched,
    /// No answer, or 5xx/429 after the retries: dispatched again later, with backoff.
    Failed,
    /// Refused (4xx, e.g. an unknown workflow input): not retried until something changes.
    Rejected,
    /// Accepted, and its build has been recorded.
    Built,
}

/// `rebuild.bypass`: an emergency waiting for its dispatch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bypass {
    /// When it was declared.
    pub at: Timestamp,
    /// Why (required).
    pub reason: String,
    /// Who declared it.
    pub actor: String,
}

/// One entry of an image's `history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryEntry {
    /// When.
    pub at: Timestamp,
    /// What happened.
    pub event: HistoryEvent,
    /// `built`: the version (tag) built.
    pub version: Option<String>,
    /// `built`: the digest built.
    pub digest: Option<String>,
    /// `built`: the pending base updates this build incorporated.
    pub incorporated: Vec<PendingUpdate>,
    /// Lifecycle events: details (what was restored from, demoted to, imported from).
    pub note: Option<String>,
}

/// What a [`HistoryEntry`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryEvent {
    /// A new build of the image was recorded (`analyze --built-tag/--built-digest`).
    Built,
    /// Re-enrolled: restored from the archive.
    Restored,
    /// Enrolled while tracked as a base image: promoted from base to managed.
    Promoted,
    /// Removed from `images.yaml` while others depend on it: now tracked as a base image.
    Demoted,
    /// Imported from the Python system's state file.
    Imported,
}

/// `state/base-images/<id>.yaml`: one upstream image managed images depend on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BaseImageState {
    /// File format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The id (the file name without `.yaml`, SPEC §7.3).
    pub id: String,
    /// The canonical reference as written in the Dockerfiles (`docker.io/library/node:22`).
    pub reference: String,
    /// Registry host.
    pub registry: String,
    /// Repository path.
    pub repository: String,
    /// The tag written, if any (`null` for `FROM node`, watched as `latest`).
    pub tag: Option<String>,
    /// The digest written in the FROM line, if any.
    pub pinned_digest: Option<String>,
    /// How the upstream is watched; `null` for a digest-only reference (nothing can move).
    pub watch: Option<Watch>,
    /// When a Dockerfile first referred to it.
    pub first_discovered: Timestamp,
    /// When the registry was last asked for its digest (`analyzer check`).
    pub last_checked: Option<Timestamp>,
    /// Digest of the watched tag, as last seen.
    pub current_digest: Option<String>,
    /// The digest before `currentDigest`.
    pub previous_digest: Option<String>,
    /// When `currentDigest` was first seen.
    pub last_updated: Option<Timestamp>,
    /// Managed images depending on it, sorted.
    pub dependents: Vec<String>,
    /// Per dependent: when it may be rebuilt for `currentDigest`.
    pub rebuild_eligible_at: BTreeMap<String, Timestamp>,
    /// Digests seen, newest first, at most [`BASE_HISTORY_LIMIT`].
    pub update_history: Vec<DigestSeen>,
    /// What the registry says about the image (architecture, labels, ...).
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// When this base was a managed image removed from `images.yaml`: its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demoted_from: Option<String>,
    /// Set only on archived files (`state/_archive/base-images/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<Archived>,
}

impl BaseImageState {
    /// The parsed reference (`None` only when the file was edited by hand into nonsense).
    pub fn image_ref(&self) -> Option<ImageRef> {
        ImageRef::parse_normalized(&self.reference).ok()
    }
}

/// A digest of a watched tag and when we first saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DigestSeen {
    /// `sha256:…`.
    pub digest: String,
    /// When we first saw it.
    pub seen_at: Timestamp,
}

/// Why and when a file was archived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Archived {
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: ArchiveReason,
}

/// Why a file was archived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveReason {
    /// The image was removed from `images.yaml` and nothing depends on it.
    Removed,
    /// The image was removed from `images.yaml` but others depend on it: now a base image.
    Demoted,
    /// No managed image depends on this base any more.
    NoDependents,
    /// The base image was enrolled as a managed image.
    Promoted,
    /// The image was re-enrolled with a different registry/repository; this is the old record.
    Replaced,
}

/// A value of a state file that would reach a manifest, a CI dispatch or the catalog but is not
/// what the tools write there (a hand edit, or a file from elsewhere).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` is {value:?}, not {expected}")]
pub struct ValueError {
    /// The key, e.g. `watch.constraint`.
    pub field: &'static str,
    /// The value found.
    pub value: String,
    /// What it must be.
    pub expected: &'static str,
}

fn check(
    field: &'static str,
    value: Option<&str>,
    valid: fn(&str) -> bool,
    expected: &'static str,
) -> Result<(), ValueError> {
    match value {
        Some(v) if !valid(v) => Err(ValueError {
            field,
            value: v.to_owned(),
            expected,
        }),
        _ => Ok(()),
    }
}

const TAG: &str = "an image tag ([0-9A-Za-z_][0-9A-Za-z_.-]{0,127})";
const DIGEST: &str = "a digest (sha256:<64 hex digits>)";

fn is_digest(s: &str) -> bool {
    crate::digest::Digest::parse(s).is_ok()
}

fn is_name(s: &str) -> bool {
    crate::names::is_dns1123_label(s, 63)
}

impl ImageState {
    /// Checks the values that reach generated files (watch tag, version, digest, the names of
    /// parents and bases), so a hand-edited `${{ ... }}` is refused where it is read, not in a
    /// manifest.
    ///
    /// # Errors
    /// The first value that is not what the tools write.
    pub fn check_values(&self) -> Result<(), ValueError> {
        let watch = self.watch.as_ref().map(|w| w.constraint.as_str());
        check("watch.constraint", watch, crate::reference::is_tag, TAG)?;
        check(
            "currentVersion",
            self.current_version.as_deref(),
            crate::reference::is_tag,
            TAG,
        )?;
        check(
            "currentDigest",
            self.current_digest.as_deref(),
            is_digest,
            DIGEST,
        )?;
        for parent in &self.managed_parents {
            check("managedParents", Some(parent), is_name, "an image name")?;
        }
        for id in &self.base_images {
            check("baseImages", Some(id), is_name, "a base image id")?;
        }
        Ok(())
    }
}

impl BaseImageState {
    /// Checks the values that reach generated files (reference, tag, watch tag, digests).
    ///
    /// # Errors
    /// The first value that is not what the tools write.
    pub fn check_values(&self) -> Result<(), ValueError> {
        let reference = Some(self.reference.as_str());
        let parses = |r: &str| ImageRef::parse_normalized(r).is_ok();
        check("reference", reference, parses, "an image reference")?;
        check("tag", self.tag.as_deref(), crate::reference::is_tag, TAG)?;
        let watch = self.watch.as_ref().map(|w| w.constraint.as_str());
        check("watch.constraint", watch, crate::reference::is_tag, TAG)?;
        for (field, digest) in [
            ("currentDigest", &self.current_digest),
            ("previousDigest", &self.previous_digest),
            ("pinnedDigest", &self.pinned_digest),
        ] {
            check(field, digest.as_deref(), is_digest, DIGEST)?;
        }
        Ok(())
    }
}
