//! Git through the `git` CLI (SPEC §7.5), as Kargo itself does: shallow clones of source
//! repositories, one commit per run of the state files, and pushes that fetch, rebase and retry
//! with a bounded backoff when rejected.
//!
//! Credentials: a token is handed to git through `GIT_ASKPASS` (a small script that prints an
//! environment variable of the child process), never on a command line, in a URL, on disk or in
//! logs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A git command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// `git` exited non-zero.
    #[error("`git {command}` failed: {stderr}")]
    Failed {
        /// The subcommand and its arguments (never credentials).
        command: String,
        /// What git said.
        stderr: String,
    },
    /// A push was still rejected after every retry.
    #[error("push to {remote} {branch} still rejected after {attempts} attempts: {last}")]
    PushRejected {
        /// Remote.
        remote: String,
        /// Branch.
        branch: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: String,
    },
    /// Preparing a temporary file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A commit author.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
}

impl Default for Author {
    fn default() -> Self {
        Self {
            name: "image-factory analyzer".to_owned(),
            email: "analyzer@image-factory.invalid".to_owned(),
        }
    }
}

impl Author {
    /// Parses `Name <email>`.
    pub fn parse(text: &str) -> Option<Self> {
        let (name, rest) = text.split_once('<')?;
        let email = rest.strip_suffix('>')?.trim();
        let name = name.trim();
        (!name.is_empty() && !email.is_empty()).then(|| Self {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}

/// A work tree.
#[derive(Clone, Debug)]
pub struct Repo {
    root: PathBuf,
    env: Vec<(OsString, OsString)>,
}

fn output(mut cmd: Command, shown: &str) -> Result<String, GitError> {
    let out = cmd
        .stdin(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(GitError::Spawn)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(GitError::Failed {
            command: shown.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

impl Repo {
    /// The work tree containing `dir`.
    pub fn discover(dir: &Path) -> Result<Self, GitError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"]);
        let root = output(cmd, "rev-parse --show-toplevel")?;
        Ok(Self {
            root: PathBuf::from(root),
            env: Vec::new(),
        })
    }

    /// The work tree's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Adds environment variables to every git command (e.g. the author).
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs `git <args>` in the work tree and returns its stdout.
    pub fn git(&self, args: &[&str]) -> Result<String, GitError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.root).args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        output(cmd, &args.join(" "))
    }

    /// The current branch.
    pub fn branch(&self) -> Result<String, GitError> {
        self.git(&["rev-parse", "--abbrev-ref", "HEAD"])
    }

    /// Commits every change under `pathspec` (additions, modifications, removals) as one commit.
    /// Returns the commit id, or `None` when nothing changed there.
    pub fn commit_all(
        &self,
        pathspec: &Path,
        message: &str,
        author: &Author,
    ) -> Result<Option<String>, GitError> {
        let spec = pathspec.to_string_lossy().into_owned();
        self.git(&["add", "-A", "--", &spec])?;
        let staged = self.git(&["diff", "--cached", "--name-only", "--", &spec])?;
        if staged.is_empty() {
            return Ok(None);
        }
        let name = format!("user.name={}", author.name);
        let email = format!("user.email={}", author.email);
        self.git(&[
            "-c",
            &name,
            "-c",
            &email,
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            message,
            "--",
            &spec,
        ])?;
        self.git(&["rev-parse", "HEAD"]).map(Some)
    }

    /// Pushes `HEAD` to `remote`'s `branch`.
    pub fn push(&self, remote: &str, branch: &str) -> Result<(), GitError> {
        let refspec = format!("HEAD:refs/heads/{branch}");
        self.git(&["push", "--quiet", remote, &refspec]).map(|_| ())
    }

    /// Fetches `remote`'s `branch` and rebases the local commits onto it. Returns `false` (with the
    /// rebase aborted, nothing changed) when the rebase conflicts.
    pub fn fetch_rebase(&self, remote: &str, branch: &str) -> Result<bool, GitError> {
        self.git(&["fetch", "--quiet", remote, branch])?;
        match self.git(&["rebase", "--quiet", "FETCH_HEAD"]) {
            Ok(_) => Ok(true),
            Err(_) => {
                let _ = self.git(&["rebase", "--abort"]);
                Ok(false)
            }
        }
    }

    /// Resets the work tree to the fetched remote branch (`FETCH_HEAD`), dropping local commits.
    pub fn reset_to_fetched(&self) -> Result<(), GitError> {
        self.git(&["reset", "--quiet", "--hard", "FETCH_HEAD"])
            .map(|_| ())
    }
}

/// How often and how patiently a rejected push is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total push attempts (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time.
    pub backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// Pushes, and on rejection fetches and rebases (or, when the rebase conflicts, resets to the
/// remote and calls `reapply` to redo the changes and commit them again) and retries, at most
/// `policy.attempts` times with doubling waits.
pub fn push_with_retry(
    repo: &Repo,
    remote: &str,
    branch: &str,
    policy: RetryPolicy,
    reapply: &mut dyn FnMut(&Repo) -> Result<(), GitError>,
) -> Result<u32, GitError> {
    let attempts = policy.attempts.max(1);
    let mut wait = policy.backoff;
    let mut last = String::new();
    for attempt in 1..=attempts {
        match repo.push(remote, branch) {
            Ok(()) => return Ok(attempt),
            Err(err) => last = err.to_string(),
        }
        if attempt == attempts {
            break;
        }
        tracing::info!(attempt, "push rejected; fetching, rebasing and retrying");
        std::thread::sleep(wait);
        wait = (wait * 2).min(policy.max_backoff);
        match repo.fetch_rebase(remote, branch) {
            Ok(true) => {}
            Ok(false) => {
                repo.reset_to_fetched()?;
                reapply(repo)?;
            }
            Err(err) => last = err.to_string(),
        }
    }
    Err(GitError::PushRejected {
        remote: remote.to_owned(),
        branch: branch.to_owned(),
        attempts,
        last,
    })
}

/// Shallow-clones `branch` of `url` into `dest` (which must not exist). A `token` is given to git
/// through `GIT_ASKPASS` and an environment variable of the child process only.
pub fn shallow_clone(
    url: &str,
    branch: &str,
    dest: &Path,
    token: Option<&str>,
    scratch: &Path,
) -> Result<(), GitError> {
    let mut cmd = Command::new("git");
    cmd.args([
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--single-branch",
        "--branch",
    ])
    .arg(branch)
    .arg(url)
    .arg(dest);
    if let Some(token) = token {
        let askpass = write_askpass(scratch)?;
        cmd.env("GIT_ASKPASS", askpass)
            .env("IMAGE_FACTORY_GIT_TOKEN", token);
    }
    output(cmd, &format!("clone --depth 1 --branch {branch} {url}")).map(|_| ())
}

/// Writes the askpass helper (it holds no secret: it prints `$IMAGE_FACTORY_GIT_TOKEN`).
fn write_askpass(dir: &Path) -> Result<PathBuf, GitError> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("askpass.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\ncase \"$1\" in\n  Username*) echo \"${IMAGE_FACTORY_GIT_USERNAME:-x-access-token}\" ;;\n  *) echo \"$IMAGE_FACTORY_GIT_TOKEN\" ;;\nesac\n",
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(path)
}
