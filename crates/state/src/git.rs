//! Git through the `git` CLI (SPEC §7.5), as Kargo itself does: shallow clones of source
//! repositories, one commit per run of the state files, and pushes that fetch, rebase and retry
//! with a bounded backoff when rejected.
//!
//! What git is given is never trusted to be harmless:
//! - every positional argument (remote, URL, refspec, path) comes after `--`, and branch names are
//!   checked with git's own rules ([`model::git::check_branch`]) first, so no value can become an
//!   option such as `--upload-pack=<command>`;
//! - git may only use the transports of [`Access`] (`GIT_ALLOW_PROTOCOL`: https and ssh, plus what
//!   a caller opts into, never `ext::`);
//! - every URL and message git reports is passed through [`model::git::redact_userinfo`];
//! - credentials reach git only through `GIT_ASKPASS` ([`Askpass`], a script that prints
//!   environment variables of the git process): never on a command line, in a URL, on disk or in
//!   logs;
//! - nothing we did not write is ever reset: a push retry rebases, drops only this run's own
//!   commit when the rebase conflicts, and stops with an error (everything left as it was) when
//!   other local commits conflict or the work tree has changes that are not committed.
//!
//! Commit messages go to git on stdin (`git commit -F -`), so their size is not bounded by the
//! argument limit.

use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use model::git::redact_userinfo;

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
        /// The subcommand and its arguments (never credentials; URLs redacted).
        command: String,
        /// What git said (URLs redacted).
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
    /// A branch name git would not accept (or could read as an option).
    #[error("`{name}` is not a valid branch name: {reason}")]
    InvalidBranch {
        /// The name.
        name: String,
        /// The rule it breaks.
        reason: model::git::BranchError,
    },
    /// The work tree has changes that are not committed, so rebasing could lose them.
    #[error(
        "the work tree has uncommitted changes ({}); nothing was rebased or reset: commit or stash them and rerun",
        list_paths(.paths)
    )]
    DirtyWorkTree {
        /// The changed paths, relative to the work tree's root.
        paths: Vec<String>,
    },
    /// Local commits that this run did not make conflict with the remote branch.
    #[error(
        "local commits not made by this run conflict with {remote} {branch}; nothing was discarded \
         (HEAD is back at {head}): rebase them by hand and rerun"
    )]
    LocalCommitsConflict {
        /// Remote.
        remote: String,
        /// Branch.
        branch: String,
        /// Where HEAD was left (this run's commit, when it made one).
        head: String,
    },
    /// Preparing a temporary file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// At most ten paths, then how many more: an error message stays readable on a big tree.
fn list_paths(paths: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = paths
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        text.push_str(&format!(" … and {} more", paths.len() - SHOWN));
    }
    text
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

/// A user name and password (or token) for git remotes. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &model::git::REDACTED)
            .finish()
    }
}

/// The transports git may always use: encrypted, and never a local path or a command.
pub const DEFAULT_PROTOCOLS: &[&str] = &["https", "ssh"];

/// How git reaches remotes: which transports it may use and which credentials it is given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Transports allowed besides [`DEFAULT_PROTOCOLS`] (`file` for local repositories in tests,
    /// `http` for a local test server). `ext` is dropped: it runs commands.
    pub extra_protocols: Vec<String>,
    /// Credentials, handed to git through the askpass script at `askpass`.
    pub credentials: Option<(Credentials, PathBuf)>,
}

impl Access {
    /// The value of `GIT_ALLOW_PROTOCOL`: git then refuses every other transport, whatever its
    /// configuration says.
    pub fn allowed_protocols(&self) -> String {
        let mut list: Vec<&str> = DEFAULT_PROTOCOLS.to_vec();
        for p in &self.extra_protocols {
            let p = p.trim();
            if !p.is_empty() && p != "ext" && !list.contains(&p) {
                list.push(p);
            }
        }
        list.join(":")
    }

    /// This access with other credentials (e.g. a provider's token for one clone).
    pub fn with_credentials(&self, credentials: Option<(Credentials, PathBuf)>) -> Self {
        Self {
            extra_protocols: self.extra_protocols.clone(),
            credentials,
        }
    }

    fn apply(&self, cmd: &mut Command) {
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ALLOW_PROTOCOL", self.allowed_protocols());
        if let Some((credentials, askpass)) = &self.credentials {
            cmd.env("GIT_ASKPASS", askpass)
                .env("IMAGE_FACTORY_GIT_USERNAME", &credentials.username)
                .env("IMAGE_FACTORY_GIT_PASSWORD", &credentials.password);
        }
    }
}

/// The askpass helper: a script in a private temporary directory that prints the
/// `IMAGE_FACTORY_GIT_USERNAME` / `IMAGE_FACTORY_GIT_PASSWORD` variables of the git process that
/// runs it. It holds no secret; the directory is removed when this is dropped.
#[derive(Debug)]
pub struct Askpass {
    dir: PathBuf,
    path: PathBuf,
}

impl Askpass {
    /// Writes the script into a new directory under `parent` (private to the user).
    ///
    /// # Errors
    /// When the directory or the script cannot be written.
    pub fn create(parent: &Path) -> Result<Self, GitError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = parent.join(format!(
            "image-factory-askpass-{}-{nanos}",
            std::process::id()
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.recursive(true).create(&dir)?;
        let path = dir.join("askpass.sh");
        std::fs::write(
            &path,
            "#!/bin/sh\ncase \"$1\" in\n  Username*) printf '%s\\n' \"$IMAGE_FACTORY_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$IMAGE_FACTORY_GIT_PASSWORD\" ;;\nesac\n",
        )?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self { dir, path })
    }

    /// The script.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Askpass {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `cmd` (with `input` on stdin) and returns its status, stdout and stderr; `shown` names the
/// command in errors.
fn run(mut cmd: Command, input: Option<&[u8]>) -> Result<std::process::Output, GitError> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(GitError::Spawn)?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // git reads the whole message before it writes anything, so this cannot deadlock.
        stdin.write_all(input)?;
    }
    child.wait_with_output().map_err(GitError::Spawn)
}

fn failed(shown: &str, out: &std::process::Output) -> GitError {
    GitError::Failed {
        command: redact_userinfo(shown),
        stderr: redact_userinfo(String::from_utf8_lossy(&out.stderr).trim()),
    }
}

fn output(cmd: Command, shown: &str) -> Result<String, GitError> {
    let out = run(cmd, None)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(failed(shown, &out))
    }
}

fn check_branch(branch: &str) -> Result<(), GitError> {
    model::git::check_branch(branch).map_err(|reason| GitError::InvalidBranch {
        name: branch.to_owned(),
        reason,
    })
}

/// A work tree.
#[derive(Clone, Debug)]
pub struct Repo {
    root: PathBuf,
    env: Vec<(OsString, OsString)>,
    access: Access,
}

/// What a rebase onto the fetched branch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rebase {
    /// The local commits are now on top of the fetched branch.
    Done,
    /// They conflict: the rebase was aborted, HEAD and the work tree are as before.
    Conflict,
}

impl Repo {
    /// The work tree containing `dir`.
    ///
    /// # Errors
    /// When `dir` is not inside a git work tree.
    pub fn discover(dir: &Path) -> Result<Self, GitError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"]);
        let root = output(cmd, "rev-parse --show-toplevel")?;
        Ok(Self {
            root: PathBuf::from(root),
            env: Vec::new(),
            access: Access::default(),
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

    /// Sets the transports and credentials of fetches and pushes.
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Runs `git <args>` in the work tree and returns its stdout. Callers put `--` before
    /// positionals that come from outside.
    ///
    /// # Errors
    /// When git fails.
    pub fn git(&self, args: &[&str]) -> Result<String, GitError> {
        output(self.command(args), &args.join(" "))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.root).args(args);
        self.access.apply(&mut cmd);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `git <args>` and tells whether it succeeded (for commands whose exit status is the
    /// answer, e.g. `diff --quiet`).
    fn succeeds(&self, args: &[&str]) -> Result<bool, GitError> {
        Ok(run(self.command(args), None)?.status.success())
    }

    /// The current branch (`HEAD` when detached).
    ///
    /// # Errors
    /// When git fails.
    pub fn branch(&self) -> Result<String, GitError> {
        self.git(&["rev-parse", "--abbrev-ref", "HEAD"])
    }

    /// The commit id of `HEAD`.
    ///
    /// # Errors
    /// When git fails (e.g. no commit yet).
    pub fn head(&self) -> Result<String, GitError> {
        self.git(&["rev-parse", "--verify", "HEAD"])
    }

    /// Every path with changes that are not committed (staged, unstaged, untracked but not
    /// ignored; both sides of a rename), relative to the work tree's root, sorted.
    ///
    /// # Errors
    /// When git fails.
    pub fn dirty_paths(&self) -> Result<Vec<String>, GitError> {
        let args = [
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignore-submodules=none",
        ];
        let out = run(self.command(&args), None)?;
        if !out.status.success() {
            return Err(failed(&args.join(" "), &out));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut paths = Vec::new();
        let mut fields = text.split('\0').filter(|f| !f.is_empty());
        while let Some(entry) = fields.next() {
            let (status, path) = entry.split_at(entry.len().min(3));
            paths.push(path.to_owned());
            // `R`/`C` entries are followed by the path they came from.
            if status.contains(['R', 'C'])
                && let Some(from) = fields.next()
            {
                paths.push(from.to_owned());
            }
        }
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// Stages every change under `pathspec` and returns how many paths there are staged.
    ///
    /// # Errors
    /// When git fails.
    pub fn stage(&self, pathspec: &Path) -> Result<usize, GitError> {
        let spec = pathspec.to_string_lossy().into_owned();
        self.git(&["add", "-A", "--", &spec])?;
        let names = self.git(&["diff", "--cached", "--name-only", "-z", "--", &spec])?;
        Ok(names.split('\0').filter(|n| !n.is_empty()).count())
    }

    /// Commits every change under `pathspec` (additions, modifications, removals) as one commit,
    /// with `message` given on stdin (no argument-size limit). Returns the commit id, or `None`
    /// when nothing changed there.
    ///
    /// # Errors
    /// When git fails.
    pub fn commit_all(
        &self,
        pathspec: &Path,
        message: &str,
        author: &Author,
    ) -> Result<Option<String>, GitError> {
        let spec = pathspec.to_string_lossy().into_owned();
        self.git(&["add", "-A", "--", &spec])?;
        if self.succeeds(&["diff", "--cached", "--quiet", "--", &spec])? {
            return Ok(None);
        }
        let name = format!("user.name={}", author.name);
        let email = format!("user.email={}", author.email);
        let args = [
            "-c",
            &name,
            "-c",
            &email,
            "commit",
            "--quiet",
            "--no-verify",
            "--file=-",
            "--",
            &spec,
        ];
        let out = run(self.command(&args), Some(message.as_bytes()))?;
        if !out.status.success() {
            return Err(failed("commit --file=-", &out));
        }
        self.head().map(Some)
    }

    /// Pushes `HEAD` to `remote`'s `branch`.
    ///
    /// # Errors
    /// An invalid branch name, or git's error.
    pub fn push(&self, remote: &str, branch: &str) -> Result<(), GitError> {
        check_branch(branch)?;
        let refspec = format!("HEAD:refs/heads/{branch}");
        self.git(&["push", "--quiet", "--", remote, &refspec])
            .map(|_| ())
    }

    /// Fetches `remote`'s `branch` into `FETCH_HEAD`.
    ///
    /// # Errors
    /// An invalid branch name, or git's error.
    pub fn fetch(&self, remote: &str, branch: &str) -> Result<(), GitError> {
        check_branch(branch)?;
        let refspec = format!("refs/heads/{branch}");
        self.git(&["fetch", "--quiet", "--", remote, &refspec])
            .map(|_| ())
    }

    /// Rebases the local commits onto `FETCH_HEAD`. A conflict is aborted (HEAD and the work tree
    /// as before); a rebase git refuses to start (e.g. uncommitted changes) is an error, never
    /// taken for a conflict.
    ///
    /// # Errors
    /// When git refuses or fails otherwise.
    pub fn rebase_onto_fetched(&self) -> Result<Rebase, GitError> {
        let args = ["rebase", "--quiet", "--no-autostash", "FETCH_HEAD"];
        let out = run(self.command(&args), None)?;
        if out.status.success() {
            return Ok(Rebase::Done);
        }
        if self.rebase_in_progress()? {
            self.git(&["rebase", "--abort"])?;
            Ok(Rebase::Conflict)
        } else {
            Err(failed(&args.join(" "), &out))
        }
    }

    fn rebase_in_progress(&self) -> Result<bool, GitError> {
        for dir in ["rebase-merge", "rebase-apply"] {
            let path = self.git(&["rev-parse", "--git-path", dir])?;
            if self.root.join(path).exists() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Moves HEAD (and the current branch) to `commit`, keeping uncommitted changes; git refuses
    /// when one of them would be overwritten (`reset --keep`), so this never destroys work.
    ///
    /// # Errors
    /// When git refuses or fails.
    pub fn reset_keep(&self, commit: &str) -> Result<(), GitError> {
        self.git(&["reset", "--quiet", "--keep", commit, "--"])
            .map(|_| ())
    }

    /// Whether `commit`'s change is already in `FETCH_HEAD` (`git cherry`: a rebase drops such a
    /// commit).
    fn is_upstream(&self, commit: &str) -> Result<bool, GitError> {
        let parent = format!("{commit}^");
        let out = self.git(&["cherry", "FETCH_HEAD", commit, &parent])?;
        Ok(out.starts_with('-'))
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

/// A push that landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// Attempts made.
    pub attempts: u32,
    /// This run's commit as pushed (rebased or re-made), `None` when it made none or its change
    /// was already on the remote.
    pub commit: Option<String>,
}

/// Pushes, and on rejection fetches, rebases and retries, at most `policy.attempts` times with
/// doubling waits. `ours` is the commit this run made (HEAD), if any.
///
/// Nothing that this run did not write is ever discarded:
/// - with uncommitted changes in the work tree it stops ([`GitError::DirtyWorkTree`]);
/// - when the rebase conflicts, only `ours` is dropped (HEAD moves to its parent), the other local
///   commits are rebased alone, and `reapply` redoes this run's change on the fresh state and
///   commits it (returning the new commit, if any); when those other commits conflict too, HEAD
///   goes back to `ours` and it stops ([`GitError::LocalCommitsConflict`]).
///
/// # Errors
/// The push still rejected after every attempt, or one of the stops above.
pub fn push_with_retry(
    repo: &Repo,
    remote: &str,
    branch: &str,
    policy: RetryPolicy,
    ours: Option<String>,
    reapply: &mut dyn FnMut(&Repo) -> Result<Option<String>, GitError>,
) -> Result<Pushed, GitError> {
    check_branch(branch)?;
    let attempts = policy.attempts.max(1);
    let mut wait = policy.backoff;
    let mut last = String::new();
    let mut ours = ours;
    for attempt in 1..=attempts {
        match repo.push(remote, branch) {
            Ok(()) => {
                return Ok(Pushed {
                    attempts: attempt,
                    commit: ours,
                });
            }
            Err(err) => last = err.to_string(),
        }
        if attempt == attempts {
            break;
        }
        tracing::info!(attempt, "push rejected; fetching, rebasing and retrying");
        std::thread::sleep(wait);
        wait = (wait * 2).min(policy.max_backoff);
        if let Err(err) = repo.fetch(remote, branch) {
            last = err.to_string();
            continue;
        }
        ours = rebase_or_reapply(repo, remote, branch, ours, reapply)?;
    }
    Err(GitError::PushRejected {
        remote: redact_userinfo(remote),
        branch: branch.to_owned(),
        attempts,
        last,
    })
}

/// One rebase step of [`push_with_retry`]; returns this run's commit afterwards.
fn rebase_or_reapply(
    repo: &Repo,
    remote: &str,
    branch: &str,
    ours: Option<String>,
    reapply: &mut dyn FnMut(&Repo) -> Result<Option<String>, GitError>,
) -> Result<Option<String>, GitError> {
    // Someone else's uncommitted work: a rebase or reset could lose it.
    let dirty = repo.dirty_paths()?;
    if !dirty.is_empty() {
        return Err(GitError::DirtyWorkTree { paths: dirty });
    }
    let conflict_stop = |head: String| GitError::LocalCommitsConflict {
        remote: redact_userinfo(remote),
        branch: branch.to_owned(),
        head,
    };
    let before = ours.clone();
    match repo.rebase_onto_fetched()? {
        Rebase::Done => {
            // A rebase drops a commit whose change is already upstream; else ours is HEAD again.
            return match before {
                Some(old) if repo.is_upstream(&old)? => Ok(None),
                Some(_) => repo.head().map(Some),
                None => Ok(None),
            };
        }
        Rebase::Conflict => {}
    }
    let Some(ours) = ours else {
        // No commit of ours to drop: the conflicting commits are someone else's.
        return Err(conflict_stop(repo.head()?));
    };
    if repo.head()? != ours {
        return Err(conflict_stop(repo.head()?));
    }
    // Drop only our own commit (the tree is clean, so nothing else moves), then rebase the rest.
    repo.reset_keep(&format!("{ours}^"))?;
    match repo.rebase_onto_fetched() {
        Ok(Rebase::Done) => {}
        Ok(Rebase::Conflict) => {
            repo.reset_keep(&ours)?;
            return Err(conflict_stop(ours));
        }
        Err(err) => {
            repo.reset_keep(&ours)?;
            return Err(err);
        }
    }
    tracing::info!("rebase conflicted; redoing this run's change on the fresh state");
    reapply(repo)
}

/// Shallow-clones `branch` of `url` into `dest` (which must not exist), with `access`'s transports
/// and credentials.
///
/// # Errors
/// An invalid branch name, or git's error (URLs redacted).
pub fn shallow_clone(
    url: &str,
    branch: &str,
    dest: &Path,
    access: &Access,
) -> Result<(), GitError> {
    check_branch(branch)?;
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--quiet", "--depth=1", "--single-branch"])
        .arg(format!("--branch={branch}"))
        .arg("--")
        .arg(url)
        .arg(dest);
    access.apply(&mut cmd);
    output(cmd, &format!("clone --depth=1 --branch={branch} -- {url}")).map(|_| ())
}
