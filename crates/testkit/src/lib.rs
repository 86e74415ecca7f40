//! Test support shared by the workspace's tests: where the shared acceptance data lives.
//!
//! The data is never copied into the repository; it is read from `../shared` beside the repository,
//! or from the directory an environment variable names. Outside CI a missing directory skips the
//! test visibly ([`skip`]); with `CI` set it fails the test, so CI can never pass by testing nothing.
//!
//! A skip is recorded where the test harness cannot swallow it: libtest captures the output of
//! passing tests, so besides a `SKIPPED:` line on stderr, [`skip`] appends `<test>\t<reason>` to the
//! file named by [`SKIP_LOG_VAR`] (set by `cargo xtask test`, which counts the lines and fails
//! under `CI` when there is any).
#![allow(clippy::panic, clippy::print_stderr)] // test support: failing loudly is the point

pub mod ci_schema;
pub mod git;
pub mod http;
pub mod registry;
pub mod rng;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environment variable naming the file where skips are recorded (one line each).
pub const SKIP_LOG_VAR: &str = "IMAGE_FACTORY_SKIP_LOG";

/// Records that the current test is skipped for `reason`: a `SKIPPED: <test> (<reason>)` line on
/// stderr and, when [`SKIP_LOG_VAR`] is set, a `<test>\t<reason>` line appended to that file. The
/// caller then returns without asserting anything.
///
/// # Panics
/// When `CI` is set: CI must not skip. Also when the skip log cannot be written.
pub fn skip(reason: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("<unnamed test>");
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {reason}; CI must not skip it");
    }
    eprintln!("SKIPPED: {test} ({reason})");
    if let Some(log) = std::env::var_os(SKIP_LOG_VAR) {
        record_skip(Path::new(&log), test, reason)
            .unwrap_or_else(|e| panic!("cannot record the skip in {}: {e}", log.to_string_lossy()));
    }
}

/// Appends `<test>\t<reason>` to `log` in one `write` to a file opened for appending, so lines of
/// parallel tests and processes never interleave.
fn record_skip(log: &Path, test: &str, reason: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let line = format!("{test}\t{}\n", reason.replace(['\n', '\t'], " "));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?
        .write_all(line.as_bytes())
}

/// A directory of shared acceptance data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedData {
    /// `shared/corpus`: Dockerfiles with BuildKit's answers, image-reference tables.
    Corpus,
    /// `shared/legacy`: files of the Python system being replaced.
    Legacy,
    /// `shared/kargo/json-schema`: Kargo, Rollouts and Kubernetes JSON Schemas.
    KargoSchemas,
    /// `shared/ci-schemas`: the GitHub Actions workflow and GitLab CI JSON Schemas.
    CiSchemas,
}

impl SharedData {
    /// The environment variable that overrides the location.
    pub fn env_var(self) -> &'static str {
        match self {
            SharedData::Corpus => "IMAGE_FACTORY_CORPUS",
            SharedData::Legacy => "IMAGE_FACTORY_LEGACY",
            SharedData::KargoSchemas => "IMAGE_FACTORY_KARGO_SCHEMAS",
            SharedData::CiSchemas => "IMAGE_FACTORY_CI_SCHEMAS",
        }
    }

    /// Default location relative to the workspace root.
    fn default_path(self) -> &'static str {
        match self {
            SharedData::Corpus => "../shared/corpus",
            SharedData::Legacy => "../shared/legacy",
            SharedData::KargoSchemas => "../shared/kargo/json-schema",
            SharedData::CiSchemas => "../shared/ci-schemas",
        }
    }

    /// A file or directory that must exist inside, so a half-empty directory is not taken for it.
    fn marker(self) -> &'static str {
        match self {
            SharedData::Corpus => "image-refs",
            SharedData::Legacy => "eda-mesh__images.yaml",
            SharedData::KargoSchemas => "strict",
            SharedData::CiSchemas => "github-workflows.json",
        }
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory of `data`, or `None` when it is missing outside CI (the skip is recorded with
/// [`skip`]; the test then returns).
///
/// # Panics
/// When the directory is missing and `CI` is set.
pub fn shared(data: SharedData) -> Option<PathBuf> {
    let dir = std::env::var_os(data.env_var())
        .map_or_else(|| workspace_root().join(data.default_path()), PathBuf::from);
    if dir.join(data.marker()).exists() {
        return Some(dir);
    }
    skip(&format!(
        "shared test data missing at {} (set {})",
        dir.display(),
        data.env_var()
    ));
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

/// Copies the directory tree `from` into `to` (created), bytes as they are.
///
/// # Panics
/// When a file cannot be read or written.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else if let Err(e) = std::fs::copy(entry.path(), &target) {
            panic!("{}: {e}", entry.path().display());
        }
    }
}

/// Points the factory dir's GitHub API at a 127.0.0.1 stand-in on `port` (appends `ci.githubApi`
/// to its `factory.yaml`, which must not have a `ci` block yet).
///
/// # Panics
/// When `factory.yaml` cannot be read or written.
pub fn github_api_at(factory_dir: &Path, port: u16) {
    let path = factory_dir.join("factory.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let yaml = format!("{yaml}ci:\n  githubApi: http://127.0.0.1:{port}\n");
    std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn skips_are_appended_one_line_each() {
        let log = std::env::temp_dir().join(format!("testkit-skips-{}", std::process::id()));
        let _ = std::fs::remove_file(&log);
        record_skip(&log, "a::one", "data missing\tat x").unwrap();
        record_skip(&log, "b::two", "other").unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        std::fs::remove_file(&log).unwrap();
        assert_eq!(text, "a::one\tdata missing at x\nb::two\tother\n");
    }
}
