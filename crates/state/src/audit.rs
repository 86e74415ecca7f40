//! `state/audit.jsonl` (SPEC §9.1): one JSON line per dispatch, failure, bypass and skip,
//! appended, never rewritten — the record of who rebuilt what, when and why.
//!
//! Appending is one `write` of a whole line to a file opened with `O_APPEND`, then an fsync: lines
//! of concurrent writers never interleave (POSIX appends of one write are atomic for regular files
//! on local file systems, and our writers hold the factory dir's lock anyway), and a crash leaves
//! at most a last line without its newline, which [`read`] reports instead of failing on.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use model::state::PinnedBase;
use model::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The log's path, relative to the factory dir.
pub const AUDIT_PATH: &str = "state/audit.jsonl";

/// One line of the log. Field order is the file's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// When.
    pub at: Timestamp,
    /// What: `dispatch`, `bypass`, `skip`.
    pub event: String,
    /// The image.
    pub image: String,
    /// The bases concerned, with their digests.
    pub bases: Vec<PinnedBase>,
    /// Why (`scheduled`, `emergency`, `cascade`, or a person's words).
    pub reason: String,
    /// Who or what (`analyzer trigger`, a person's name).
    pub actor: String,
    /// The outcome (`dispatched`, `failed`, `rejected`, `recorded`).
    pub result: String,
    /// Details: the CI run's URL, the CI's message.
    pub detail: Option<String>,
}

/// Why the log could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file could not be opened, written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// An entry could not be serialised.
    #[error("cannot serialise an audit entry: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Appends `entries` to the log of the factory dir `dir` (created when missing), one line each, in
/// one write, then syncs it.
///
/// # Errors
/// [`AuditError`] when the file cannot be written; nothing is half-written then but possibly the
/// last line.
pub fn append(dir: &Path, entries: &[Entry]) -> Result<(), AuditError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for entry in entries {
        text.push_str(&serde_json::to_string(entry)?);
        text.push('\n');
    }
    let path = dir.join(AUDIT_PATH);
    let io = |source| AuditError::Io {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// The entries of the log of `dir` (none when it does not exist), and the lines that are not
/// entries (1-based line numbers: a torn last line, a hand edit).
///
/// # Errors
/// [`AuditError::Io`] when the file exists but cannot be read.
pub fn read(dir: &Path) -> Result<(Vec<Entry>, Vec<usize>), AuditError> {
    let path = dir.join(AUDIT_PATH);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(source) => return Err(AuditError::Io { path, source }),
    };
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match serde_json::from_str(line) {
            Ok(entry) => entries.push(entry),
            Err(_) => bad.push(i + 1),
        }
    }
    Ok((entries, bad))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(image: &str, result: &str) -> Entry {
        Entry {
            at: Timestamp::parse("2026-03-01T00:00:00Z").unwrap(),
            event: "dispatch".to_owned(),
            image: image.to_owned(),
            bases: vec![PinnedBase {
                base: "node-22".to_owned(),
                digest: format!("sha256:{}", "a".repeat(64)),
            }],
            reason: "scheduled".to_owned(),
            actor: "analyzer trigger".to_owned(),
            result: result.to_owned(),
            detail: None,
        }
    }

    #[test]
    fn appends_lines_and_never_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &[entry("web", "dispatched")]).unwrap();
        let first = std::fs::read_to_string(dir.path().join(AUDIT_PATH)).unwrap();
        append(
            dir.path(),
            &[entry("api", "failed"), entry("db", "rejected")],
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join(AUDIT_PATH)).unwrap();
        assert!(text.starts_with(&first), "the old lines stay as they were");
        assert_eq!(text.lines().count(), 3);
        assert!(
            first.starts_with(r#"{"at":"2026-03-01T00:00:00Z","event":"dispatch","image":"web","#)
        );
        // A torn last line is reported, not fatal.
        std::fs::write(dir.path().join(AUDIT_PATH), text + "{\"at\":").unwrap();
        let (entries, bad) = read(dir.path()).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(bad, [4]);
        assert_eq!(read(&dir.path().join("none")).unwrap().0, []);
    }
}
