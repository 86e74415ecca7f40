//! Base-image ids and every Kubernetes name we generate (SPEC §7.3).
//!
//! Ids name state files (`state/base-images/<id>.yaml`) and, prefixed, Kargo objects, so they must be
//! stable across runs and DNS-1123 labels. Kubernetes names are built only by [`label`], which turns any
//! text into a valid label of at most 63 characters, so no caller can produce an invalid name.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::reference::ImageRef;

/// Longest base-image id, and longest managed-image name (SPEC §6.1, §7.3).
pub const MAX_ID_LEN: usize = 40;
/// Longest Kubernetes object name we emit (a DNS-1123 label).
pub const MAX_LABEL_LEN: usize = 63;
/// How many characters of the plain id a hashed id keeps.
const HASHED_PREFIX_LEN: usize = 31;
/// How many hex characters of SHA-256 a hashed id carries.
const HASH_LEN: usize = 8;

/// Whether `s` is a DNS-1123 label of at most `max` characters (the one such check of the
/// workspace): lower-case alphanumerics and `-`, starting and ending with an alphanumeric.
pub fn is_dns1123_label(s: &str, max: usize) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
}

/// Lower-cases `text` and turns every run of characters outside `[a-z0-9]` into one `-`, trimmed.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The first `len` hex characters of SHA-256 of `text`.
fn short_hash(text: &str, len: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex.truncate(len);
    hex
}

/// `prefix` cut to `keep` characters (never ending in `-`), then `-` and `hash`.
fn hashed(prefix: &str, keep: usize, hash: &str) -> String {
    let mut cut: String = prefix.chars().take(keep).collect();
    while cut.ends_with('-') {
        cut.pop();
    }
    if cut.is_empty() {
        // A reference whose familiar form has no alphanumerics cannot exist, but stay total.
        return format!("x-{hash}");
    }
    format!("{cut}-{hash}")
}

/// The plain id of a base image: the slug of its familiar reference, hashed when longer than 40.
///
/// `node:22-bookworm-slim` → `node-22-bookworm-slim`;
/// `mcr.microsoft.com/playwright:v1.40.0-focal` → `mcr-microsoft-com-playwright-v1-40-0-focal`
/// (41 characters, so it becomes `mcr-microsoft-com-playwright-v1-` cut to 31, `-`, 8 hex).
pub fn base_id(reference: &ImageRef) -> String {
    let plain = slug(&reference.familiar());
    if plain.len() <= MAX_ID_LEN && !plain.is_empty() {
        return plain;
    }
    hashed(
        &plain,
        HASHED_PREFIX_LEN,
        &short_hash(&reference.canonical(), HASH_LEN),
    )
}

/// Assigns base-image ids so that they are stable and never shared by two references.
///
/// Seed it with the ids already recorded in state ([`BaseIds::record`]); then [`BaseIds::assign`]
/// returns the recorded id of a known reference, else its plain id if free, else the hashed form
/// (with a longer hash in the astronomically unlikely case that is taken too).
#[derive(Clone, Debug, Default)]
pub struct BaseIds {
    by_id: BTreeMap<String, String>,
    by_reference: BTreeMap<String, String>,
}

/// An id recorded in state that cannot be kept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaseIdError {
    /// Two state files claim the same id for different references.
    #[error("base id `{id}` is recorded for both `{first}` and `{second}`")]
    Conflict {
        /// The id.
        id: String,
        /// The reference recorded first.
        first: String,
        /// The other reference.
        second: String,
    },
    /// The recorded id is not a DNS-1123 label of at most 40 characters.
    #[error("base id `{0}` is not a DNS-1123 label of at most 40 characters")]
    Invalid(String),
}

impl BaseIds {
    /// An empty allocator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an id already in state for `reference`, so it keeps that id.
    pub fn record(&mut self, id: &str, reference: &ImageRef) -> Result<(), BaseIdError> {
        if !is_dns1123_label(id, MAX_ID_LEN) {
            return Err(BaseIdError::Invalid(id.to_owned()));
        }
        let canonical = reference.canonical();
        if let Some(other) = self.by_id.get(id) {
            if *other != canonical {
                return Err(BaseIdError::Conflict {
                    id: id.to_owned(),
                    first: other.clone(),
                    second: canonical,
                });
            }
            return Ok(());
        }
        self.by_id.insert(id.to_owned(), canonical.clone());
        self.by_reference
            .entry(canonical)
            .or_insert_with(|| id.to_owned());
        Ok(())
    }

    /// The id of `reference`: the recorded one, else a fresh one that no other reference has.
    pub fn assign(&mut self, reference: &ImageRef) -> String {
        let canonical = reference.canonical();
        if let Some(id) = self.by_reference.get(&canonical) {
            return id.clone();
        }
        let plain = slug(&reference.familiar());
        let mut candidates = vec![base_id(reference)];
        // Longer hashes, keeping ids at 40 characters: 8, 12, ... 32 hex characters.
        for hash_len in (HASH_LEN..=32).step_by(4) {
            let hash = short_hash(&canonical, hash_len);
            candidates.push(hashed(&plain, MAX_ID_LEN - 1 - hash_len, &hash));
        }
        let id = candidates
            .into_iter()
            .find(|id| self.by_id.get(id).is_none_or(|owner| *owner == canonical))
            // 32 hex characters of SHA-256 colliding for different inputs does not happen.
            .unwrap_or_else(|| short_hash(&canonical, MAX_ID_LEN));
        self.by_id.insert(id.clone(), canonical.clone());
        self.by_reference.insert(canonical, id.clone());
        id
    }
}

/// Joins `parts` with `-` into a DNS-1123 label of at most 63 characters.
///
/// Each part is [`slug`]ged; when the result is too long it is cut and suffixed with 8 hex characters
/// of SHA-256 of the parts, so distinct long inputs stay distinct.
pub fn label(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .map(|p| slug(p))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if !joined.is_empty() && joined.len() <= MAX_LABEL_LEN {
        return joined;
    }
    let hash = short_hash(&parts.join("\u{0}"), HASH_LEN);
    hashed(&joined, MAX_LABEL_LEN - 1 - HASH_LEN, &hash)
}

/// Warehouse watching the image built for managed image `name`: `image-<name>`.
pub fn image_warehouse(name: &str) -> String {
    label(&["image", name])
}

/// Warehouse watching base image `id` upstream: `base-<id>`.
pub fn base_warehouse(id: &str) -> String {
    label(&["base", id])
}

/// Stage that runs the analyzer when managed image `name` is built: `analyze-<name>`.
pub fn analyze_stage(name: &str) -> String {
    label(&["analyze", name])
}

/// Stage that records each new digest the `base-<id>` Warehouse finds: `observe-<id>`.
pub fn observe_stage(id: &str) -> String {
    label(&["observe", id])
}

/// Stage for the `index`-th (from 1) `updates` entry of managed image `name`: `update-<name>-<n>`.
pub fn update_stage(name: &str, index: usize) -> String {
    label(&["update", name, &index.to_string()])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn r(s: &str) -> ImageRef {
        ImageRef::parse_normalized(s).unwrap()
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            base_id(&r("node:22-bookworm-slim")),
            "node-22-bookworm-slim"
        );
        let playwright = base_id(&r("mcr.microsoft.com/playwright:v1.40.0-focal"));
        assert_eq!(playwright.len(), 40);
        assert!(playwright.starts_with("mcr-microsoft-com-playwright-v1-"));
        assert!(is_dns1123_label(&playwright, MAX_ID_LEN));
    }

    #[test]
    fn colliding_plain_ids_get_the_hashed_form() {
        let mut ids = BaseIds::new();
        let first = ids.assign(&r("a-b:c"));
        let second = ids.assign(&r("a:b-c"));
        assert_eq!(first, "a-b-c");
        assert_ne!(second, first);
        assert!(second.starts_with("a-b-c-"));
        assert_eq!(ids.assign(&r("a:b-c")), second, "assignment is stable");
    }

    #[test]
    fn recorded_ids_are_kept() {
        let mut ids = BaseIds::new();
        ids.record("legacy-node", &r("node:22")).unwrap();
        assert_eq!(ids.assign(&r("node:22")), "legacy-node");
        assert!(ids.record("legacy-node", &r("node:20")).is_err());
    }

    #[test]
    fn kubernetes_names() {
        assert_eq!(observe_stage("node-22"), "observe-node-22");
        assert_eq!(update_stage("backstage", 1), "update-backstage-1");
        let long = "x".repeat(200);
        assert!(is_dns1123_label(&observe_stage(&long), MAX_LABEL_LEN));
    }
}
