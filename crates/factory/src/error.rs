//! [`JobError`]: why a job stopped before it could do its work.
//!
//! Every message is complete on its own (it already names its cause), so a caller prints the
//! [`std::fmt::Display`] text alone and never walks [`std::error::Error::source`] into a repeat.

use std::path::PathBuf;

use state::format::LoadError;

/// Why a job stopped. Problems a job finds and reports (failed images, manifest violations,
/// diagnostics) are part of its report instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// `images.yaml` or `factory.yaml` has errors (listed by [`crate::FactoryDir::diagnostics`]).
    #[error("configuration errors in {}; nothing written", dir.display())]
    InvalidConfig {
        /// The factory dir.
        dir: PathBuf,
        /// How many diagnostics are errors.
        errors: usize,
    },
    /// The job's options do not fit the configuration.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// `enroll` refused the entry (a duplicate, an invalid value, a file it cannot splice).
    #[error(transparent)]
    Enroll(#[from] crate::enroll::EnrollError),
    /// The source root of `analyze` is not a directory.
    #[error("--source-root {}: not a directory", .0.display())]
    SourceRoot(PathBuf),
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A directory could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] state::atomic::WriteError),
    /// The state store failed (lock, reading the state dir, writing files).
    #[error(transparent)]
    Store(#[from] state::store::StoreError),
    /// The thread loading the state ahead ([`crate::FactoryDir::load_preloading_state`]) panicked.
    #[error("the thread loading the state failed")]
    PreloadPanicked,
    /// Some state files cannot be loaded, and this job never works from partial state.
    #[error("{count} state file(s) cannot be loaded; first: {first}")]
    StateFiles {
        /// How many files failed.
        count: usize,
        /// The first of them.
        first: LoadError,
    },
    /// A git operation failed.
    #[error(transparent)]
    Git(#[from] state::git::GitError),
    /// `--commit` on a work tree with uncommitted changes outside the factory dir's `state/`: the
    /// analyzer commits, rebases and resets only what it writes, so it refuses to start rather
    /// than risk someone else's work (nothing is written).
    #[error(
        "refusing to commit: the git work tree {} has uncommitted changes outside {}: {}; \
         commit or stash them first (the analyzer only commits its own state files); nothing written",
        repo.display(),
        state_dir.display(),
        list_paths(paths)
    )]
    DirtyWorkTree {
        /// The work tree's root.
        repo: PathBuf,
        /// The state dir, relative to the work tree's root.
        state_dir: PathBuf,
        /// The changed paths outside it, relative to the work tree's root.
        paths: Vec<String>,
    },
    /// Synthesis refused the state or its own output.
    #[error("{0}; nothing written")]
    Synth(#[source] synth::SynthError),
    /// The build workflows cannot be generated (`synth --workflows`).
    #[error("{0}; nothing written")]
    Workflows(#[source] synth::workflows::WorkflowError),
    /// A stale generated file could not be removed.
    #[error("cannot remove {}: {source}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The generated manifests fail the JSON Schemas.
    #[error(
        "generated manifests fail the JSON Schemas ({} problem(s)); nothing written:\n{}",
        .0.len(),
        .0.join("\n")
    )]
    SchemaViolations(Vec<String>),
    /// A generated object cannot be turned into JSON for the schema check.
    #[error("cannot serialise {object}: {source}")]
    Serialize {
        /// `Kind/name` of the object.
        object: String,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// A digest could not be recorded although its base was checked a moment before (another
    /// process changed the state in between).
    #[error("cannot record the digest: {0}")]
    Recording(String),
    /// The JSON Schema directory cannot be used.
    #[error(transparent)]
    Schemas(#[from] SchemasError),
    /// A registry failed (after its retries), or its answer cannot be used.
    #[error("{what}: {message}")]
    Registry {
        /// What could not be done, naming the image and the registry.
        what: String,
        /// What the registry did (the request and its answer).
        message: String,
    },
    /// The Docker config (`DOCKER_CONFIG`, `~/.docker/config.json`) cannot be used.
    #[error("cannot use the Docker config: {0}")]
    DockerConfig(String),
    /// A manifest file is not YAML.
    #[error("{}: invalid YAML: {message}", path.display())]
    InvalidYaml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

impl JobError {
    /// Whether this is a usage or configuration error (configuration, options, unreadable files,
    /// state files, schemas: SPEC §10's exit 2) rather than a finding about the job's result or a
    /// failure to write it (exit 1). Either way nothing (more) was written.
    pub fn is_usage_error(&self) -> bool {
        !matches!(
            self,
            Self::Synth(_)
                | Self::Workflows(_)
                | Self::Remove { .. }
                | Self::Recording(_)
                | Self::SchemaViolations(_)
                | Self::Serialize { .. }
                | Self::InvalidYaml { .. }
                | Self::Registry { .. }
                | Self::Write(_)
                | Self::CreateDir { .. }
        )
    }
}

/// At most ten paths, then how many more.
fn list_paths(paths: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = paths[..paths.len().min(SHOWN)].join(", ");
    if paths.len() > SHOWN {
        text.push_str(&format!(" … and {} more", paths.len() - SHOWN));
    }
    text
}

/// Options of a job that do not fit the factory dir's configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A selected image (`--image`) is not enrolled.
    #[error("image `{0}` is not enrolled in images.yaml")]
    UnknownImage(String),
    /// A build record (`--built-tag`, `--built-digest`) names zero or several images.
    #[error("a build record (built tag and digest) needs exactly one selected image")]
    BuildNeedsOneImage,
    /// A build record names an image that is not managed.
    #[error("cannot record a build of `{0}`: it is not a managed image")]
    NotManaged(String),
    /// A build record's digest is malformed.
    #[error("built digest `{0}` is not sha256:<64 hex characters>")]
    BadDigest(String),
    /// A build record's tag is not an image tag (it becomes the image's version in the catalog
    /// and in CI dispatches).
    #[error("built tag {0:?} is not an image tag ([0-9A-Za-z_][0-9A-Za-z_.-]{{0,127}})")]
    BadTag(String),
    /// An emergency without a reason or actor, on nothing known, or with nothing pending.
    #[error("{0}")]
    Emergency(rebuild::EmergencyError),
    /// `plan --what-if` names neither a watched base nor a managed image.
    #[error("--what-if {reference:?}: {problem}")]
    WhatIf {
        /// The reference as given.
        reference: String,
        /// Why it is not usable, with a hint.
        problem: String,
    },
    /// A CI token `trigger` needs is not in the environment.
    #[error("{0}")]
    Token(String),
    /// A base given to `check` or `observe` is unknown, not watched, or the digest is malformed.
    #[error("{0}")]
    Record(state::watch::RecordError),
    /// A base given to `check` or `observe` has a state file that does not load.
    #[error(
        "base image `{0}`: its state file cannot be loaded (see the errors above); fix it first"
    )]
    BaseFileFailed(String),
    /// An image argument is neither an enrolled image nor an image reference.
    #[error(
        "{input:?} is neither an image enrolled in {} nor an image reference: {reason}; \
         pass an enrolled image's name or a reference such as `node` or `ghcr.io/org/app`",
        images_yaml.as_ref().map_or_else(|| "images.yaml (no factory dir)".to_owned(), |p| p.display().to_string())
    )]
    NotAnImage {
        /// The argument.
        input: String,
        /// The `images.yaml` it was looked up in, if there is a factory dir.
        images_yaml: Option<PathBuf>,
        /// Why it is not a reference.
        reason: String,
    },
}

/// Why the JSON Schema directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemasError {
    /// A directory or file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A `*.json` file is not JSON.
    #[error("{} is not JSON: {source}", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The directory holds no `*.json` file.
    #[error("no JSON Schemas found in {}", .0.display())]
    Empty(PathBuf),
    /// The schemas do not compile.
    #[error(transparent)]
    Invalid(#[from] synth::schema::SchemaError),
}
