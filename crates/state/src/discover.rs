//! One managed image's Dockerfile → its dependencies.
//!
//! [`analyze_bytes`] is pure (the Dockerfile's bytes, build args and platform of the enrolment);
//! [`read_dockerfile`] reads the file from a checked-out repository and refuses a path that escapes
//! it (`..`, absolute paths, symlinks leading outside).

use std::path::{Component, Path, PathBuf};

use model::enrollment::EffectiveSource;
use model::reference::ImageRef;
use model::state::OtherRefKind;
use sha2::{Digest, Sha256};

/// What a successful analysis found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    /// `sha256:<hex>` of the Dockerfile's bytes.
    pub dockerfile_digest: String,
    /// FROM images (not stages, not scratch), first-seen order.
    pub from: Vec<ImageRef>,
    /// Other references (`COPY --from`, `RUN --mount from=`, `# syntax=`), file order.
    pub other: Vec<(OtherRefKind, ImageRef)>,
}

/// The outcome of analysing one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The Dockerfile was read and resolved without errors.
    Success(Discovered),
    /// Something failed: the image keeps its previous dependencies.
    Failed {
        /// Digest of the Dockerfile when it could be read.
        dockerfile_digest: Option<String>,
        /// What went wrong.
        error: DiscoveryError,
    },
}

/// Why the dependencies of an image could not be discovered. Its text (one problem per line) is
/// what the state file records in `discovery.error`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The Dockerfile could not be read (see [`SourceError`]).
    #[error("{0}")]
    Source(String),
    /// The shallow clone of the repository failed.
    #[error("clone of {repo} failed: {message}")]
    Clone {
        /// The repository (`owner/name`).
        repo: String,
        /// What git said.
        message: String,
    },
    /// The enrolment's platform is not one.
    #[error("platform `{platform}`: {message}")]
    Platform {
        /// The platform as enrolled.
        platform: String,
        /// Why it is refused.
        message: String,
    },
    /// The Dockerfile has errors: `<dockerfile>:<line>: <problem>`, one per line.
    #[error("{}", .0.join("\n"))]
    Dockerfile(Vec<String>),
}

impl From<SourceError> for DiscoveryError {
    fn from(err: SourceError) -> Self {
        DiscoveryError::Source(err.to_string())
    }
}

impl Outcome {
    /// A failure without a Dockerfile.
    pub fn failed(error: impl Into<DiscoveryError>) -> Self {
        Outcome::Failed {
            dockerfile_digest: None,
            error: error.into(),
        }
    }

    /// Whether the analysis succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success(_))
    }
}

/// Why a source file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The path leaves the repository.
    #[error(
        "Dockerfile path `{0}` escapes the repository (absolute, `..` or a symlink leading outside): refused"
    )]
    Escape(String),
    /// The repository directory is missing.
    #[error("source repository not found at {0}")]
    RepoMissing(PathBuf),
    /// The Dockerfile could not be read.
    #[error("cannot read Dockerfile {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The directory of a source repository under a source root: `root/owner/name` (GitLab:
/// `root/group/sub/name`). Components other than plain names are refused.
pub fn repo_dir(root: &Path, repo: &str) -> Result<PathBuf, SourceError> {
    let mut dir = root.to_path_buf();
    for part in repo.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\\') {
            return Err(SourceError::Escape(repo.to_owned()));
        }
        dir.push(part);
    }
    Ok(dir)
}

/// Reads `dockerfile` (a path relative to the repository) from the checked-out repository `repo`,
/// refusing absolute paths, `..` components and symlinks that lead outside the repository.
///
/// Cheap in the common case: on Linux the file is opened and the kernel asked where it really is
/// (when `repo` is canonical and the answer is inside it, that is all); otherwise each component
/// below the repository is `lstat`ed, and the path is only canonicalised when one of them (or the
/// repository itself) is a symlink.
pub fn read_dockerfile(repo: &Path, dockerfile: &str) -> Result<Vec<u8>, SourceError> {
    let relative = Path::new(dockerfile);
    if dockerfile.is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(SourceError::Escape(dockerfile.to_owned()));
    }
    #[cfg(target_os = "linux")]
    if let Some(bytes) = read_if_inside(repo, relative) {
        return Ok(bytes);
    }
    let repo_meta = std::fs::symlink_metadata(repo)
        .map_err(|_| SourceError::RepoMissing(repo.to_path_buf()))?;
    let mut path = repo.to_path_buf();
    let mut symlink = repo_meta.file_type().is_symlink();
    for component in relative.components() {
        if let Component::Normal(part) = component {
            path.push(part);
            if !symlink {
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) => symlink = meta.file_type().is_symlink(),
                    Err(source) => return Err(SourceError::Read { path, source }),
                }
            }
        }
    }
    if symlink {
        let root = repo
            .canonicalize()
            .map_err(|_| SourceError::RepoMissing(repo.to_path_buf()))?;
        let real = path.canonicalize().map_err(|source| SourceError::Read {
            path: path.clone(),
            source,
        })?;
        if !real.starts_with(&root) {
            return Err(SourceError::Escape(dockerfile.to_owned()));
        }
    }
    std::fs::read(&path).map_err(|source| SourceError::Read { path, source })
}

/// Fast path: opens the file and asks the kernel where it really is (`/proc/self/fd`); `Some` when
/// that is inside `repo` (which must then be canonical), `None` to take the careful path.
#[cfg(target_os = "linux")]
fn read_if_inside(repo: &Path, relative: &Path) -> Option<Vec<u8>> {
    use std::io::Read as _;
    use std::os::fd::AsRawFd as _;
    let mut file = std::fs::File::open(repo.join(relative)).ok()?;
    let real = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    if !real.starts_with(repo) || !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Analyses a Dockerfile's bytes with the build args and platform of `source`.
pub fn analyze_bytes(bytes: &[u8], source: &EffectiveSource) -> Outcome {
    let digest = sha256(bytes);
    let platform = match source.platform.parse::<dockerfile::Platform>() {
        Ok(p) => p,
        Err(err) => {
            return Outcome::Failed {
                dockerfile_digest: Some(digest),
                error: DiscoveryError::Platform {
                    platform: source.platform.clone(),
                    message: err.to_string(),
                },
            };
        }
    };
    let options = dockerfile::Options {
        build_args: source.build_args.clone(),
        platform,
    };
    let analysis = dockerfile::analyze(bytes, &options);
    if !analysis.errors.is_empty() {
        let problems = analysis
            .errors
            .iter()
            .map(|d| format!("{}:{}: {}", source.dockerfile, d.line, d.error))
            .collect();
        return Outcome::Failed {
            dockerfile_digest: Some(digest),
            error: DiscoveryError::Dockerfile(problems),
        };
    }
    let other = analysis
        .other_refs
        .into_iter()
        .map(|r| {
            let kind = match r.kind {
                dockerfile::RefKind::CopyFrom => OtherRefKind::CopyFrom,
                dockerfile::RefKind::RunMountFrom => OtherRefKind::RunMountFrom,
                dockerfile::RefKind::Syntax => OtherRefKind::Syntax,
            };
            (kind, r.reference)
        })
        .collect();
    Outcome::Success(Discovered {
        dockerfile_digest: digest,
        from: analysis.base_images,
        other,
    })
}

/// Reads and analyses the Dockerfile of `source` from the repository checked out at `repo`.
pub fn discover(repo: &Path, source: &EffectiveSource) -> Outcome {
    match read_dockerfile(repo, &source.dockerfile) {
        Ok(bytes) => analyze_bytes(&bytes, source),
        Err(err) => Outcome::failed(err),
    }
}

/// Reads and analyses the Dockerfile of `source` under a source root (`root/<source.repo>/`).
/// Pass a canonical `root` (see [`std::fs::canonicalize`]) for the fast path of [`read_dockerfile`].
pub fn discover_in_root(root: &Path, source: &EffectiveSource) -> Outcome {
    match repo_dir(root, &source.repo) {
        Ok(dir) => discover(&dir, source),
        Err(err) => Outcome::failed(err),
    }
}

/// [`discover_in_root`] for many sources, in parallel (one thread per core), in their order.
pub fn discover_all_in_root(root: &Path, sources: &[&EffectiveSource]) -> Vec<Outcome> {
    model::par::map(sources, |source| discover_in_root(root, source))
}
