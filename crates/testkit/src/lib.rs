//! Test support shared by the workspace's tests: where the shared acceptance data lives.
//!
//! The data is never copied into the repository; it is read from `../shared` beside the repository,
//! or from the directory an environment variable names. Outside CI a missing directory skips the
//! test (with a message); with `CI` set it fails the test, so CI can never pass by testing nothing.
#![allow(clippy::panic, clippy::print_stderr)] // test support: failing loudly is the point

pub mod rng;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A directory of shared acceptance data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedData {
    /// `shared/corpus`: Dockerfiles with BuildKit's answers, image-reference tables.
    Corpus,
    /// `shared/legacy`: files of the Python system being replaced.
    Legacy,
    /// `shared/kargo/json-schema`: Kargo, Rollouts and Kubernetes JSON Schemas.
    KargoSchemas,
}

impl SharedData {
    /// The environment variable that overrides the location.
    pub fn env_var(self) -> &'static str {
        match self {
            SharedData::Corpus => "IMAGE_FACTORY_CORPUS",
            SharedData::Legacy => "IMAGE_FACTORY_LEGACY",
            SharedData::KargoSchemas => "IMAGE_FACTORY_KARGO_SCHEMAS",
        }
    }

    /// Default location relative to the workspace root.
    fn default_path(self) -> &'static str {
        match self {
            SharedData::Corpus => "../shared/corpus",
            SharedData::Legacy => "../shared/legacy",
            SharedData::KargoSchemas => "../shared/kargo/json-schema",
        }
    }

    /// A file or directory that must exist inside, so a half-empty directory is not taken for it.
    fn marker(self) -> &'static str {
        match self {
            SharedData::Corpus => "image-refs",
            SharedData::Legacy => "eda-mesh__images.yaml",
            SharedData::KargoSchemas => "strict",
        }
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory of `data`, or `None` (skip) when it is missing outside CI.
///
/// # Panics
/// When the directory is missing and `CI` is set.
pub fn shared(data: SharedData) -> Option<PathBuf> {
    let dir = std::env::var_os(data.env_var())
        .map_or_else(|| workspace_root().join(data.default_path()), PathBuf::from);
    if dir.join(data.marker()).exists() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "shared test data missing at {} (set {}); CI must not skip it",
            dir.display(),
            data.env_var()
        );
    }
    eprintln!(
        "SKIPPED: shared test data missing at {} (set {})",
        dir.display(),
        data.env_var()
    );
    None
}

/// Every file under `dir`, relative path → content (to show a run changed nothing, or what).
///
/// # Panics
/// When a file cannot be read as UTF-8 text.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                files.insert(relative.to_path_buf(), text);
            }
        }
    }
    files
}
