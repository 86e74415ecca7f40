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

use crate::input::{self, InputError};

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
    /// The repository directory (or a directory above it) is a symlink leading out of the source
    /// root.
    #[error("source repository `{0}` is a symlink leading outside the source root: refused")]
    RepoEscape(String),
    /// The repository directory is missing.
    #[error("source repository not found at {0}")]
    RepoMissing(PathBuf),
    /// The Dockerfile could not be read: missing, not a regular file, or larger than the limit.
    #[error("cannot read Dockerfile {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: InputError,
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
/// refusing absolute paths, `..` components and symlinks that lead outside the repository, and
/// anything but a regular file of at most `limit` bytes ([`crate::input`]).
///
/// Cheap in the common case: on Linux the file is opened and the kernel asked where it really is
/// (when `repo` is canonical and the answer is inside it, that is all); otherwise each component
/// below the repository is `lstat`ed, and the path is only canonicalised when one of them (or the
/// repository itself) is a symlink.
pub fn read_dockerfile(repo: &Path, dockerfile: &str, limit: u64) -> Result<Vec<u8>, SourceError> {
    read_contained(repo, repo, dockerfile, limit)
}

/// [`read_dockerfile`], where `repo` lies below `boundary` (a source root) and must not leave it
/// either: a repository or owner directory that is a symlink is followed only when it stays inside.
fn read_contained(
    boundary: &Path,
    repo: &Path,
    dockerfile: &str,
    limit: u64,
) -> Result<Vec<u8>, SourceError> {
    let relative = Path::new(dockerfile);
    if dockerfile.is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(SourceError::Escape(dockerfile.to_owned()));
    }
    #[cfg(target_os = "linux")]
    if let Some(read) = read_if_inside(repo, relative, limit) {
        return read.map_err(|source| SourceError::Read {
            path: repo.join(relative),
            source,
        });
    }
    // The careful path: is anything from the boundary down to the file a symlink?
    let mut symlink = false;
    let mut path = boundary.to_path_buf();
    for part in repo
        .strip_prefix(boundary)
        .unwrap_or(Path::new(""))
        .components()
    {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) => symlink |= meta.file_type().is_symlink(),
            Err(_) => return Err(SourceError::RepoMissing(repo.to_path_buf())),
        }
    }
    if std::fs::symlink_metadata(repo).is_err() {
        return Err(SourceError::RepoMissing(repo.to_path_buf()));
    }
    let mut path = repo.to_path_buf();
    for component in relative.components() {
        if let Component::Normal(part) = component {
            path.push(part);
            if !symlink {
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) => symlink = meta.file_type().is_symlink(),
                    Err(source) => {
                        return Err(SourceError::Read {
                            path,
                            source: source.into(),
                        });
                    }
                }
            }
        }
    }
    if symlink {
        let missing = || SourceError::RepoMissing(repo.to_path_buf());
        let outer = boundary.canonicalize().map_err(|_| missing())?;
        let root = repo.canonicalize().map_err(|_| missing())?;
        if !root.starts_with(&outer) {
            return Err(SourceError::RepoEscape(repo.display().to_string()));
        }
        let real = path.canonicalize().map_err(|source| SourceError::Read {
            path: path.clone(),
            source: source.into(),
        })?;
        if !real.starts_with(&root) {
            return Err(SourceError::Escape(dockerfile.to_owned()));
        }
    }
    input::read(&path, limit).map_err(|source| SourceError::Read { path, source })
}

/// Fast path: opens the file (without blocking: it may be a FIFO) and asks the kernel where it
/// really is (`/proc/self/fd`); `Some` when that is inside `repo` (which must then be canonical),
/// `None` to take the careful path.
#[cfg(target_os = "linux")]
fn read_if_inside(repo: &Path, relative: &Path, limit: u64) -> Option<Result<Vec<u8>, InputError>> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use std::os::fd::AsRawFd as _;
    let path = repo.join(relative);
    // No symlink anywhere on the path (the common case): the file is where its path says, inside
    // `repo`, in one `openat2`. Otherwise (ELOOP, or ENOSYS before Linux 5.6, or any error, which
    // the paths below report as before) ask where the opened file really is.
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    if let Ok(fd) = rustix::fs::openat2(
        rustix::fs::CWD,
        &path,
        flags,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS,
    ) {
        return Some(input::read_open(std::fs::File::from(fd), limit));
    }
    let file = input::open(&path).ok()?;
    let real = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    if !real.starts_with(repo) {
        return None;
    }
    Some(input::read_open(file, limit))
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

/// Reads (at most `limit` bytes) and analyses the Dockerfile of `source` from the repository
/// checked out at `repo`.
pub fn discover(repo: &Path, source: &EffectiveSource, limit: u64) -> Outcome {
    match read_dockerfile(repo, &source.dockerfile, limit) {
        Ok(bytes) => analyze_bytes(&bytes, source),
        Err(err) => Outcome::failed(err),
    }
}

/// Reads and analyses the Dockerfile of `source` under a source root (`root/<source.repo>/`).
/// Pass a canonical `root` (see [`std::fs::canonicalize`]) for the fast path of [`read_dockerfile`].
pub fn discover_in_root(root: &Path, source: &EffectiveSource, limit: u64) -> Outcome {
    let read = repo_dir(root, &source.repo)
        .and_then(|dir| read_contained(root, &dir, &source.dockerfile, limit));
    match read {
        Ok(bytes) => analyze_bytes(&bytes, source),
        Err(err) => Outcome::failed(err),
    }
}

/// [`discover_in_root`] for many sources, in parallel (one thread per core), in their order.
pub fn discover_all_in_root(root: &Path, sources: &[&EffectiveSource], limit: u64) -> Vec<Outcome> {
    model::par::map(sources, |source| discover_in_root(root, source, limit))
}
