//! Committing and pushing an analyze run's state files (SPEC §7.5): one commit per run, its message
//! built from typed data (which entities' files changed, the state events), the author chosen by a
//! fixed precedence, and a push that redoes the analysis when a rebase conflicts.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use model::settings::Settings;
use model::state::State;
use state::git::{self, Access, Author, GitError, Repo, RetryPolicy};
use state::store::{self, ARCHIVED_BASES_DIR, ARCHIVED_IMAGES_DIR, Plan};
use state::update::Event;

use crate::analyze::{Environment, PushOptions};
use crate::dir::FactoryDir;
use crate::error::JobError;

/// The entities whose files a run wrote or removed (active or archived), by name or id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Images, by name.
    pub images: BTreeSet<String>,
    /// Base images, by id.
    pub bases: BTreeSet<String>,
}

impl Changes {
    /// The entities of `prev` and `next` whose file (active or archived) `plan` touches: each
    /// entity's paths come from the store's own layout, so no path is ever parsed back.
    pub fn of(plan: &Plan, prev: &State, next: &State) -> Self {
        let touched: BTreeSet<PathBuf> = plan.paths().into_iter().collect();
        let images = prev.images.keys().chain(next.images.keys());
        let archived_images = prev
            .archived_images
            .keys()
            .chain(next.archived_images.keys());
        let bases = prev.bases.keys().chain(next.bases.keys());
        let archived_bases = prev.archived_bases.keys().chain(next.archived_bases.keys());
        Self {
            images: touched_entities(
                images.chain(archived_images),
                &touched,
                store::image_path,
                ARCHIVED_IMAGES_DIR,
            ),
            bases: touched_entities(
                bases.chain(archived_bases),
                &touched,
                store::base_path,
                ARCHIVED_BASES_DIR,
            ),
        }
    }
}

/// The entities among `names` whose active file (`active(name)`) or archived file (in
/// `archive_dir`) is in `touched`.
fn touched_entities<'a>(
    names: impl Iterator<Item = &'a String>,
    touched: &BTreeSet<PathBuf>,
    active: fn(&str) -> PathBuf,
    archive_dir: &str,
) -> BTreeSet<String> {
    names
        .filter(|name| {
            touched.contains(&active(name))
                || touched.contains(&Path::new(archive_dir).join(format!("{name}.yaml")))
        })
        .cloned()
        .collect()
}

/// Names listed per line of a commit message before "… and K more".
pub const MESSAGE_NAMES: usize = 20;

/// Event lines in a commit message before "… and K more".
pub const MESSAGE_EVENTS: usize = 50;

/// The commit message: a title, the images and base changes, one line per notable event. Long
/// lists are summarised ([`MESSAGE_NAMES`], [`MESSAGE_EVENTS`]): a fleet-wide run stays readable.
pub fn commit_message(changes: &Changes, events: &[Event], now: &str) -> String {
    let ids =
        |f: fn(&Event) -> Option<&str>| -> Vec<&str> { events.iter().filter_map(f).collect() };
    let added = ids(|e| match e {
        Event::BaseAdded { id } | Event::BaseRestored { id } => Some(id),
        _ => None,
    });
    let archived = ids(|e| match e {
        Event::BaseArchived { id, .. } => Some(id),
        _ => None,
    });
    let mut title = format!("image-factory: analyze {} image(s)", changes.images.len());
    if !added.is_empty() || !archived.is_empty() {
        let _ = write!(title, ", bases +{} -{}", added.len(), archived.len());
    }
    let mut body = String::new();
    let mut list = |label: &str, items: Vec<&str>| {
        if !items.is_empty() {
            let shown = &items[..items.len().min(MESSAGE_NAMES)];
            let _ = write!(body, "{label}: {}", shown.join(", "));
            if items.len() > shown.len() {
                let _ = write!(body, " … and {} more", items.len() - shown.len());
            }
            body.push('\n');
        }
    };
    list(
        "Images",
        changes.images.iter().map(String::as_str).collect(),
    );
    list("Bases added", added);
    list("Bases archived", archived);
    list(
        "Base files changed",
        changes.bases.iter().map(String::as_str).collect(),
    );
    let mut lines = 0usize;
    for event in events {
        let line = match event {
            Event::Enrolled { name } => format!("enrolled {name}"),
            Event::Restored { name } => format!("restored {name} from the archive"),
            Event::RestoreRefused { name, reason } => {
                format!("{name}: archive not restored ({reason})")
            }
            Event::Promoted { name, base } => format!("promoted base {base} to managed {name}"),
            Event::Demoted { name } => format!("demoted {name} to a base image"),
            Event::Archived { name } => format!("archived {name}"),
            Event::Replaced { name } => format!("{name}: new repository, old record archived"),
            Event::DiscoveryFailed { name, .. } => format!("discovery failed: {name}"),
            Event::Built { name, version } => format!("recorded build {name} {version}"),
            Event::Cascaded { name, parent } => format!("{name}: rebuild pending on {parent}"),
            _ => continue,
        };
        lines += 1;
        if lines <= MESSAGE_EVENTS {
            let _ = writeln!(body, "- {line}");
        }
    }
    if lines > MESSAGE_EVENTS {
        let _ = writeln!(body, "- … and {} more", lines - MESSAGE_EVENTS);
    }
    let _ = writeln!(body, "\nAnalyzed at {now}.");
    format!("{title}\n\n{body}")
}

/// The commit author: the environment's override (e.g. per Job), else `stateRepo.author` of
/// factory.yaml, else git's own author variables, else a built-in default.
pub fn author(env: &Environment, settings: &Settings) -> Author {
    env.author_override
        .as_ref()
        .or(settings.state_repo.author.as_ref())
        .and_then(|a| Author::parse(a))
        .or_else(|| env.git_author.clone())
        .unwrap_or_default()
}

/// The work tree of `dir`, checked before anything is written: `--commit` refuses to start when
/// it has uncommitted changes outside the factory dir's `state/` (someone else's work, which a
/// rebase could not pass and must never be reset).
pub(crate) fn prepare(dir: &FactoryDir, access: Access) -> Result<Repo, JobError> {
    let repo = Repo::discover(dir.path())?.with_access(access);
    let state_dir = relative_state_dir(&repo, dir)?;
    let paths: Vec<String> = repo
        .dirty_paths()?
        .into_iter()
        .filter(|p| !Path::new(p).starts_with(&state_dir))
        .collect();
    if paths.is_empty() {
        Ok(repo)
    } else {
        Err(JobError::DirtyWorkTree {
            repo: repo.root().to_path_buf(),
            state_dir,
            paths,
        })
    }
}

/// The factory dir's `state/`, relative to the work tree's root (it may not exist yet).
fn relative_state_dir(repo: &Repo, dir: &FactoryDir) -> Result<PathBuf, JobError> {
    let canonical = |path: &Path| {
        path.canonicalize().map_err(|source| JobError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let root = canonical(repo.root())?;
    let factory = canonical(dir.path())?;
    let relative = factory.strip_prefix(&root).unwrap_or(&factory);
    Ok(relative.join("state"))
}

/// Where and how a job's state changes are committed and pushed.
pub(crate) struct Publish<'a> {
    pub(crate) dir: &'a FactoryDir,
    pub(crate) settings: &'a Settings,
    pub(crate) environment: &'a Environment,
    pub(crate) push: Option<&'a PushOptions>,
}

/// What [`commit_and_push`] did.
#[derive(Debug, Default)]
pub(crate) struct Published {
    /// The commit made (after a push: the pushed head), when there was anything to commit.
    pub(crate) commit: Option<String>,
    /// Whether it was pushed.
    pub(crate) pushed: bool,
    /// Why committing or pushing failed (the state files are written).
    pub(crate) error: Option<JobError>,
}

/// Commits the state dir as one commit with `message` (also files an earlier run left
/// uncommitted; `ours` is how many files this run wrote or removed) and, when asked, pushes it,
/// rebasing and retrying. When the rebase conflicts, this run's commit is dropped and `redo` runs
/// the job again on the fresh state (writing its files) and returns the new commit message.
pub(crate) fn commit_and_push(
    publish: &Publish<'_>,
    repo: &Repo,
    mut message: String,
    ours: usize,
    redo: &mut dyn FnMut() -> Result<String, JobError>,
) -> Published {
    let mut published = Published::default();
    if let Err(error) = try_commit_and_push(publish, repo, &mut message, ours, redo, &mut published)
    {
        tracing::error!("{error}");
        // Whatever happened, HEAD holds this run's commit (rebased, re-made or restored).
        if published.commit.is_some() {
            published.commit = repo.head().ok();
        }
        published.error = Some(error);
    }
    published
}

fn try_commit_and_push(
    publish: &Publish<'_>,
    repo: &Repo,
    message: &mut String,
    ours: usize,
    redo: &mut dyn FnMut() -> Result<String, JobError>,
    published: &mut Published,
) -> Result<(), JobError> {
    let state_dir = publish.dir.path().join("state");
    if !state_dir.exists() {
        return Ok(());
    }
    let state_dir = state_dir.canonicalize().map_err(|source| JobError::Read {
        path: state_dir,
        source,
    })?;
    let author = author(publish.environment, publish.settings);
    let staged = repo.stage(&state_dir)?;
    if staged > ours {
        let _ = writeln!(
            message,
            "\nAlso commits {} state file(s) an earlier run left uncommitted.",
            staged - ours
        );
    }
    published.commit = repo.commit_all(&state_dir, message, &author)?;
    let Some(push) = publish.push else {
        return Ok(());
    };
    let branch = match repo.branch()? {
        // A detached head (CI checkouts): push to the configured branch.
        head if head == "HEAD" => publish.settings.state_repo.branch.clone(),
        branch => branch,
    };
    let policy = RetryPolicy {
        attempts: push.attempts,
        backoff: push.backoff,
        ..RetryPolicy::default()
    };
    let mut reapply = |repo: &Repo| -> Result<Option<String>, GitError> {
        let message = redo().map_err(|e| GitError::Io(std::io::Error::other(e.to_string())))?;
        repo.commit_all(&state_dir, &message, &author)
    };
    let pushed = git::push_with_retry(
        repo,
        &push.remote,
        &branch,
        policy,
        published.commit.clone(),
        &mut reapply,
    )?;
    published.commit = pushed.commit;
    published.pushed = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn author_of(over: Option<&str>, configured: Option<&str>, git: bool) -> Author {
        let env = Environment {
            author_override: over.map(str::to_owned),
            git_author: git.then(|| Author {
                name: "Git Env".to_owned(),
                email: "git@env.invalid".to_owned(),
            }),
            ..Environment::default()
        };
        let mut settings = Settings::default();
        settings.state_repo.author = configured.map(str::to_owned);
        author(&env, &settings)
    }

    #[test]
    fn author_precedence_override_then_settings_then_git_then_default() {
        let name = |a: Author| a.name;
        assert_eq!(
            name(author_of(Some("Job <j@x>"), Some("Cfg <c@x>"), true)),
            "Job"
        );
        assert_eq!(name(author_of(None, Some("Cfg <c@x>"), true)), "Cfg");
        assert_eq!(name(author_of(None, None, true)), "Git Env");
        // An override that does not parse does not fall back to the settings' author.
        assert_eq!(
            name(author_of(Some("no email"), Some("Cfg <c@x>"), true)),
            "Git Env"
        );
        assert_eq!(author_of(None, None, false), Author::default());
    }

    #[test]
    fn the_message_lists_typed_changes_and_events() {
        let changes = Changes {
            images: ["uv", "web"].map(str::to_owned).into(),
            bases: ["node-22"].map(str::to_owned).into(),
        };
        let events = [
            Event::BaseAdded {
                id: "node-22".to_owned(),
            },
            Event::Enrolled {
                name: "web".to_owned(),
            },
        ];
        let message = commit_message(&changes, &events, "2026-01-01T00:00:00Z");
        assert_eq!(
            message,
            "image-factory: analyze 2 image(s), bases +1 -0\n\n\
             Images: uv, web\nBases added: node-22\nBase files changed: node-22\n\
             - enrolled web\n\nAnalyzed at 2026-01-01T00:00:00Z.\n"
        );
    }

    #[test]
    fn changes_come_from_the_entities_whose_files_the_plan_touches() {
        let mut prev = State::default();
        let mut next = State::default();
        let image = || any_image();
        prev.images.insert("gone".to_owned(), image());
        next.archived_images.insert("gone".to_owned(), image());
        next.images.insert("kept".to_owned(), image());
        prev.images.insert("kept".to_owned(), image());
        let plan = Plan {
            writes: vec![(
                Path::new(ARCHIVED_IMAGES_DIR).join("gone.yaml"),
                String::new(),
            )],
            deletes: vec![store::image_path("gone")],
        };
        let changes = Changes::of(&plan, &prev, &next);
        assert_eq!(changes.images, ["gone".to_owned()].into());
        assert!(changes.bases.is_empty());
    }

    /// Any image state will do: only the names matter here.
    fn any_image() -> model::state::ImageState {
        let image = model::config::validate_factory(
            "- name: x\n  repository: acme/x\n  source: {repo: acme/x}\n",
            "images.yaml",
            None,
        )
        .resolved()
        .unwrap()
        .remove(0);
        state::update::fresh_image(&image, model::time::Timestamp::UNIX_EPOCH)
    }
}
