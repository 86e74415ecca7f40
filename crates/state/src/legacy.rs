//! Import of the Python system's state files (SPEC §7.4, `../shared/legacy/`).
//!
//! Runtime data is kept (`enrolledAt`, `firstDiscovered`, `lastChecked`, digests, `lastBuilt`,
//! `metadata`, ...) and rewritten in the current format. Repairs: the string `None` (Python's
//! `str(None)`) is read as null; fractional seconds and `+00:00` offsets become canonical UTC
//! seconds; `allowTags` (double-escaped regexes like `^3\\.12-slim$` that never matched) is dropped:
//! the watch is the tag itself (`watch: {strategy: Digest, constraint: 3.12-slim}`); placeholder
//! digests (`sha256:placeholder-...`) are dropped; base ids are recomputed with SPEC §7.3 rules
//! (`python-3.12-slim` → `python-3-12-slim`). Every imported image gets an `imported` history entry.

use std::collections::BTreeMap;

use model::enrollment::{ImageEntry, Source, UpdateTarget};
use model::names::base_id;
use model::reference::ImageRef;
use model::settings::Settings;
use model::state::{
    BaseImageState, DigestSeen, Discovery, DiscoveryStatus, HistoryEvent, ImageState, RebuildState,
    STATE_VERSION,
};
use model::time::Timestamp;
use serde::{Deserialize, Deserializer};

use crate::format::{LoadError, LoadErrorKind, parse_yaml};
use crate::update::{fresh_base, fresh_image};

/// A scalar read leniently as text: strings, numbers and booleans as written; null and the
/// Python string `None` as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Text(match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) if s == "None" || s.is_empty() => None,
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }))
    }
}

impl Text {
    fn time(&self) -> Option<Timestamp> {
        self.0.as_deref().and_then(|t| Timestamp::parse(t).ok())
    }
    fn digest(&self) -> Option<String> {
        self.0.clone().filter(|d| is_digest(d))
    }
}

/// Whether `d` is `sha256:` followed by 64 lower-case hex characters.
pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyBaseFile {
    name: Text,
    full_image: Text,
    #[serde(default)]
    first_discovered: Text,
    #[serde(default)]
    last_checked: Text,
    #[serde(default)]
    current_digest: Text,
    #[serde(default)]
    previous_digest: Text,
    #[serde(default)]
    last_updated: Text,
    #[serde(default)]
    rebuild_eligible_at: BTreeMap<String, Text>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    update_history: Option<Vec<BTreeMap<String, Text>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyImageFile {
    name: Text,
    #[serde(default)]
    enrolled_at: Text,
    #[serde(default)]
    last_discovery: Text,
    #[serde(default)]
    discovery_status: Text,
    enrollment: LegacyEnrollment,
    #[serde(default)]
    base_images: Option<Vec<String>>,
    #[serde(default)]
    current_version: Text,
    #[serde(default)]
    current_digest: Text,
    #[serde(default)]
    last_built: Text,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyEnrollment {
    #[serde(default)]
    registry: Option<String>,
    repository: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    rebuild_delay: Option<model::duration::Duration>,
    #[serde(default)]
    auto_rebuild: Option<bool>,
    #[serde(default)]
    updates: Vec<UpdateTarget>,
}

/// A base image imported from a legacy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyBase {
    /// The legacy name (`python-3.12-slim`), which legacy image files refer to.
    pub legacy_name: String,
    /// The converted state (id per SPEC §7.3, `dependents` empty until recomputed).
    pub state: BaseImageState,
}

fn invalid(file: &str, message: impl Into<String>) -> LoadError {
    LoadError::whole(file, LoadErrorKind::Malformed, message)
}

/// Converts a legacy `state/base-images/*.yaml`.
pub fn import_base(text: &str, file: &str, now: Timestamp) -> Result<LegacyBase, LoadError> {
    let legacy: LegacyBaseFile = parse_yaml(text, file)?;
    let full = legacy
        .full_image
        .0
        .ok_or_else(|| invalid(file, "legacy base file without `fullImage`"))?;
    let reference = ImageRef::parse_normalized(&full)
        .map_err(|e| invalid(file, format!("legacy `fullImage` `{full}`: {e}")))?;
    let id = base_id(&reference);
    let first = legacy.first_discovered.time().unwrap_or(now);
    let mut state = fresh_base(&id, &reference, first);
    state.last_checked = legacy.last_checked.time();
    state.current_digest = legacy.current_digest.digest();
    state.previous_digest = legacy.previous_digest.digest();
    state.last_updated = legacy.last_updated.time();
    state.rebuild_eligible_at = legacy
        .rebuild_eligible_at
        .into_iter()
        .filter(|(k, _)| k != "default")
        .filter_map(|(k, v)| v.time().map(|t| (k, t)))
        .collect();
    state.metadata = legacy.metadata.unwrap_or_default();
    let mut history: Vec<DigestSeen> = legacy
        .update_history
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| {
            let digest = entry.get("digest").and_then(Text::digest)?;
            let seen_at = ["seenAt", "detectedAt", "timestamp", "at"]
                .iter()
                .find_map(|k| entry.get(*k).and_then(Text::time))?;
            Some(DigestSeen { digest, seen_at })
        })
        .collect();
    history.sort_by(|a, b| b.seen_at.cmp(&a.seen_at).then(a.digest.cmp(&b.digest)));
    history.truncate(model::state::BASE_HISTORY_LIMIT);
    state.update_history = history;
    Ok(LegacyBase {
        legacy_name: legacy.name.0.unwrap_or(id),
        state,
    })
}

/// Converts a legacy `state/images/*.yaml`. `bases` maps legacy base names to canonical
/// references (from the legacy base files); unknown names are dropped (a new analysis finds the
/// dependencies again).
pub fn import_image(
    text: &str,
    file: &str,
    bases: &BTreeMap<String, String>,
    now: Timestamp,
) -> Result<ImageState, LoadError> {
    let legacy: LegacyImageFile = parse_yaml(text, file)?;
    let name = legacy
        .name
        .0
        .ok_or_else(|| invalid(file, "legacy image file without `name`"))?;
    let entry = ImageEntry {
        name: name.clone(),
        registry: legacy.enrollment.registry,
        repository: legacy.enrollment.repository,
        tag: legacy.enrollment.tag,
        source: legacy.enrollment.source,
        rebuild_delay: legacy.enrollment.rebuild_delay,
        auto_rebuild: legacy.enrollment.auto_rebuild,
        priority: None,
        updates: legacy.enrollment.updates,
        tag_policy: None,
        local: None,
    };
    let effective = entry.resolve(&Settings::default());
    let enrolled_at = legacy.enrolled_at.time().unwrap_or(now);
    let mut state = fresh_image(&effective, enrolled_at);
    if let Some(source) = &effective.source {
        let status = match legacy.discovery_status.0.as_deref() {
            Some("success") => DiscoveryStatus::Success,
            Some("failed") => DiscoveryStatus::Failed,
            _ => DiscoveryStatus::Pending,
        };
        state.discovery = Some(Discovery {
            status,
            at: legacy.last_discovery.time(),
            dockerfile: source.dockerfile.clone(),
            dockerfile_digest: None,
            error: None,
        });
    }
    let mut depends: Vec<String> = legacy
        .base_images
        .unwrap_or_default()
        .iter()
        .filter_map(|b| bases.get(b).cloned())
        .collect();
    depends.sort();
    depends.dedup();
    state.base_images = depends
        .iter()
        .filter_map(|r| ImageRef::parse_normalized(r).ok())
        .map(|r| base_id(&r))
        .collect();
    state.base_images.sort();
    state.base_images.dedup();
    state.depends_on = depends;
    state.current_version = legacy.current_version.0;
    let placeholder = legacy
        .current_digest
        .0
        .as_deref()
        .is_some_and(|d| !is_digest(d));
    state.current_digest = legacy.current_digest.digest();
    state.last_built = legacy.last_built.time();
    state.rebuild = RebuildState::default();
    let mut note = format!("imported from the Python system's state file {file}");
    if placeholder {
        note.push_str("; placeholder currentDigest dropped");
    }
    state.history = vec![model::state::HistoryEntry {
        at: now,
        event: HistoryEvent::Imported,
        version: None,
        digest: None,
        incorporated: Vec::new(),
        note: Some(note),
    }];
    state.version = STATE_VERSION;
    Ok(state)
}
