//! Keys of the Python system's `images.yaml` that image-factory reads for compatibility:
//! `repoURL` (mapped to `registry` + `repository`), `imageSelectionStrategy` (mapped to
//! `tagPolicy.strategy`) and `allowTags` (ignored). Each one written gets a warning that says what
//! to write instead; none is ever an error. (Its newer `local` block is a real feature:
//! `enrollment/local.rs`.)

use super::TagStrategy;
use crate::config::{Decoder, Fields};
use crate::yaml::Node;

/// `registry` and `repository` of an entry, as written or as migrated from `repoURL`.
pub(super) struct Written {
    /// `registry`.
    pub registry: Option<String>,
    /// `repository`.
    pub repository: Option<String>,
}

/// What the legacy keys of one entry amount to.
pub(super) struct Migrated {
    /// `registry` / `repository`, filled from `repoURL` when neither is written.
    pub names: Written,
    /// `tagPolicy.strategy` from `imageSelectionStrategy`, when `tagPolicy` is not written.
    pub strategy: Option<TagStrategy>,
}

/// Reads the legacy keys of the entry `f` (named `what` in messages), warning about each one.
pub(super) fn migrate(d: &mut Decoder<'_>, f: &Fields<'_>, what: &str, names: Written) -> Migrated {
    if let Some(k) = f.key("allowTags") {
        d.warning_hint(
            k.pos,
            format!("{what}: legacy key `allowTags` is ignored"),
            "the built image is watched by `tagPolicy`, base image tags come from the Dockerfile; remove this key",
        );
    }
    let strategy = strategy(d, f, what);
    let names = repo_url(d, f, what, names);
    Migrated { names, strategy }
}

/// `imageSelectionStrategy: SemVer|Digest` → `tagPolicy.strategy` (unless `tagPolicy` is written).
fn strategy(d: &mut Decoder<'_>, f: &Fields<'_>, what: &str) -> Option<TagStrategy> {
    let k = f.key("imageSelectionStrategy")?;
    let value = f.get("imageSelectionStrategy").and_then(Node::as_str);
    let strategy = value.and_then(|v| {
        TagStrategy::CHOICES
            .iter()
            .find(|(n, _)| *n == v)
            .map(|(_, s)| *s)
    });
    match strategy {
        Some(s) if !f.has("tagPolicy") => {
            d.warning_hint(
                k.pos,
                format!(
                    "{what}: legacy key `imageSelectionStrategy` is mapped to `tagPolicy.strategy`"
                ),
                format!(
                    "write `tagPolicy: {{strategy: {}}}` instead",
                    value.unwrap_or_default()
                ),
            );
            Some(s)
        }
        _ => {
            d.warning_hint(
                k.pos,
                format!("{what}: legacy key `imageSelectionStrategy` is ignored"),
                "the built image is watched by `tagPolicy` (`SemVer` or `Digest`); remove this key",
            );
            None
        }
    }
}

/// `repoURL: host/path` → `registry: host`, `repository: path` (unless either is written).
fn repo_url(d: &mut Decoder<'_>, f: &Fields<'_>, what: &str, names: Written) -> Written {
    let Some(k) = f.key("repoURL") else {
        return names;
    };
    let value = f.get("repoURL").and_then(Node::as_str);
    match value.and_then(|v| v.split_once('/')) {
        Some((reg, repo)) if names.registry.is_none() && names.repository.is_none() => {
            d.warning_hint(
                k.pos,
                format!("{what}: legacy key `repoURL` is mapped to `registry` and `repository`"),
                format!("write `registry: {reg}` and `repository: {repo}` instead"),
            );
            Written {
                registry: Some(reg.to_owned()),
                repository: Some(repo.to_owned()),
            }
        }
        _ => {
            d.warning_hint(
                k.pos,
                format!("{what}: legacy key `repoURL` is ignored"),
                "`registry` and `repository` name the image; remove this key",
            );
            names
        }
    }
}
