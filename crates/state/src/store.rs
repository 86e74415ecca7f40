//! The state store of a factory dir: load every state file, turn a new [`State`] into the files it
//! should be, and write only the files whose content changed, atomically, under an exclusive lock of
//! the factory dir.
//!
//! Layout: `state/images/<name>.yaml`, `state/base-images/<id>.yaml`,
//! `state/_archive/images/<name>.yaml`, `state/_archive/base-images/<id>.yaml`.
//!
//! Writing ([`Store::apply`]): every changed file is first written to a hidden temporary file beside
//! it; the file system is synced once (`syncfs`, or `fsync` per file elsewhere); then each
//! temporary file is renamed over its target, files that moved (archive) are removed, and every
//! touched directory is fsynced. A crash at any point leaves each file either old or new, never
//! torn, and since [`crate::update::update`] is idempotent a rerun converges.
//!
//! Loading ([`Store::load`]) treats a malformed file as failed (reported with file, line and
//! column) without failing the run: the entity is left untouched. Files of the Python system are
//! imported ([`crate::legacy`]) and rewritten in the current format; `*.example.yaml` files are
//! ignored.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use model::reference::ImageRef;
use model::state::{BaseImageState, ImageState, State};
use model::time::Timestamp;

use crate::atomic;
use crate::format::{self, Detected, LoadError, LoadErrorKind};
use crate::input::{self, Limits};
use crate::legacy;

/// `state/images`.
pub const IMAGES_DIR: &str = "state/images";
/// `state/base-images`.
pub const BASES_DIR: &str = "state/base-images";
/// `state/_archive/images`.
pub const ARCHIVED_IMAGES_DIR: &str = "state/_archive/images";
/// `state/_archive/base-images`.
pub const ARCHIVED_BASES_DIR: &str = "state/_archive/base-images";

/// An I/O or serialisation failure of the store (per-file problems are [`LoadError`]s).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Another process holds the lock of the factory dir.
    #[error(
        "another analyzer is working on {0} (its lock is held); waited {1:?}, giving up. Retry when it has finished"
    )]
    Locked(PathBuf, Duration),
    /// A state value could not be rendered.
    #[error(transparent)]
    Render(#[from] format::RenderError),
    /// A step of the write path failed on purpose (tests of crash safety).
    #[error("injected failure before {0}")]
    Injected(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A factory dir's state store.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    /// The largest state file read.
    max_file: u64,
}

/// The exclusive lock of a factory dir; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// What [`Store::load`] found.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The state of every file that loaded.
    pub state: State,
    /// Files that could not be loaded (left untouched by this run).
    pub errors: Vec<LoadError>,
    /// Names of images whose file failed (never written by this run).
    pub frozen_images: BTreeSet<String>,
    /// Ids of bases whose file failed (never written by this run).
    pub frozen_bases: BTreeSet<String>,
    /// Legacy files imported (relative paths).
    pub imported: Vec<PathBuf>,
    /// Text of every state file that loaded, by path relative to the factory dir.
    pub(crate) texts: BTreeMap<PathBuf, String>,
    /// Paths (relative) of files that failed to load.
    pub(crate) failed_paths: BTreeSet<PathBuf>,
    /// Paths (relative) of files in the format the tools write (read by the fast reader `fastyaml`):
    /// such a file is rewritten only when its content changes, so an unchanged run renders
    /// nothing. Other files (hand-formatted, legacy) are rewritten in the canonical form.
    pub(crate) tidy: HashSet<PathBuf>,
}

impl Loaded {
    /// How many state files loaded (active and archived, legacy ones included).
    pub fn files_loaded(&self) -> usize {
        self.texts.len()
    }

    /// Relative paths of the files that failed to load, sorted (never written by this run).
    pub fn failed_paths(&self) -> impl Iterator<Item = &Path> {
        self.failed_paths.iter().map(PathBuf::as_path)
    }
}

/// The file operations that bring the disk to a new state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Files to (over)write: relative path and content, sorted by path.
    pub writes: Vec<(PathBuf, String)>,
    /// Files to remove (moved to the archive, or renamed by legacy import), sorted.
    pub deletes: Vec<PathBuf>,
}

impl Plan {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }

    /// Bytes that [`Store::apply`] writes.
    pub fn bytes(&self) -> usize {
        self.writes.iter().map(|(_, text)| text.len()).sum()
    }

    /// Every path touched, sorted.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self
            .writes
            .iter()
            .map(|(p, _)| p.clone())
            .chain(self.deletes.iter().cloned())
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

#[cfg(feature = "test-util")]
pub use inject::Step;
use inject::Step as InjectStep;

/// The failure-injection hook of the write path: crate-private unless the `test-util` feature
/// (for the crash tests) re-exports it.
mod inject {
    use std::path::Path;

    /// A step of the write path, for failure injection (tests of crash safety; not API).
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Step<'a> {
        /// About to write the temporary file of this target (the hook sees every temporary file
        /// before they are written in parallel; a failure leaves the earlier ones written and this
        /// one torn, as a crash would).
        WriteTemp(&'a Path),
        /// About to make the temporary files durable (`syncfs`, or `fsync` per file).
        SyncFiles,
        /// About to rename the temporary file over this target.
        Rename(&'a Path),
        /// About to remove this file.
        Delete(&'a Path),
        /// About to fsync this directory (absolute path).
        SyncDir(&'a Path),
    }
}

/// The relative path of each entity's file.
pub fn image_path(name: &str) -> PathBuf {
    Path::new(IMAGES_DIR).join(format!("{name}.yaml"))
}

/// The relative path of a base's file.
pub fn base_path(id: &str) -> PathBuf {
    Path::new(BASES_DIR).join(format!("{id}.yaml"))
}

/// Renders every file of `state`, by relative path.
pub fn render_all(state: &State) -> Result<BTreeMap<PathBuf, String>, StoreError> {
    let all = render_entities(state, &|_| true, None)?;
    Ok(all
        .into_iter()
        .filter_map(|(path, text)| text.map(|t| (path, t)))
        .collect())
}

/// Renders the files of `state` (in parallel) — of the images only those `image` accepts — in no
/// particular order. With `unchanged`, an entity equal to the loaded one whose file is tidy is not
/// rendered (`None`): its file stays as it is.
fn render_entities(
    state: &State,
    image: &dyn Fn(&str) -> bool,
    unchanged: Option<&Loaded>,
) -> Result<Vec<(PathBuf, Option<String>)>, StoreError> {
    enum Entity<'a> {
        Image(&'a ImageState),
        Base(&'a BaseImageState),
        Same,
    }
    let same = |path: &Path, equal: bool| equal && unchanged.is_some_and(|l| l.tidy.contains(path));
    let old = unchanged.map(|l| &l.state);
    let mut entities = Vec::new();
    for (name, entity) in state.images.iter().filter(|(name, _)| image(name)) {
        let path = image_path(name);
        let equal = old.is_some_and(|o| o.images.get(name) == Some(entity));
        let e = if same(&path, equal) {
            Entity::Same
        } else {
            Entity::Image(entity)
        };
        entities.push((path, e));
    }
    for (id, entity) in &state.bases {
        let path = base_path(id);
        let equal = old.is_some_and(|o| o.bases.get(id) == Some(entity));
        let e = if same(&path, equal) {
            Entity::Same
        } else {
            Entity::Base(entity)
        };
        entities.push((path, e));
    }
    for (name, entity) in state.archived_images.iter().filter(|(name, _)| image(name)) {
        let path = Path::new(ARCHIVED_IMAGES_DIR).join(format!("{name}.yaml"));
        let equal = old.is_some_and(|o| o.archived_images.get(name) == Some(entity));
        let e = if same(&path, equal) {
            Entity::Same
        } else {
            Entity::Image(entity)
        };
        entities.push((path, e));
    }
    for (id, entity) in &state.archived_bases {
        let path = Path::new(ARCHIVED_BASES_DIR).join(format!("{id}.yaml"));
        let equal = old.is_some_and(|o| o.archived_bases.get(id) == Some(entity));
        let e = if same(&path, equal) {
            Entity::Same
        } else {
            Entity::Base(entity)
        };
        entities.push((path, e));
    }
    let texts = model::par::map(&entities, |(_, entity)| match entity {
        Entity::Image(image) => format::render_image(image).map(Some),
        Entity::Base(base) => format::render_base(base).map(Some),
        Entity::Same => Ok(None),
    });
    entities
        .into_iter()
        .zip(texts)
        .map(|((path, _), text)| Ok((path, text?)))
        .collect()
}

/// `*.yaml` files of `dir` (not hidden, not `*.example.yaml`), sorted; none when it is missing.
fn yaml_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_err(dir)(err)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            if name.contains(atomic::TEMP_MARK) {
                // A temporary file left by a crashed writer (we hold the lock).
                let _ = fs::remove_file(entry.path());
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(".yaml") else {
            continue;
        };
        if stem.ends_with(".example") {
            continue;
        }
        files.push((stem.to_owned(), entry.path()));
    }
    files.sort();
    Ok(files)
}

impl Store {
    /// The store of the factory dir `dir` (holding `images.yaml` and `state/`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_file: Limits::default().state_file,
        }
    }

    /// The same store, reading state files of at most `limits.state_file` bytes (a larger file,
    /// or one that is not a regular file, fails to load and is kept as it is).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.max_file = limits.state_file;
        self
    }

    /// The factory dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the exclusive lock of the factory dir, waiting up to `wait` for another holder.
    pub fn lock(&self, wait: Duration) -> Result<Lock, StoreError> {
        let file = File::open(&self.dir).map_err(io_err(&self.dir))?;
        let start = Instant::now();
        loop {
            match try_lock(&file) {
                Ok(true) => return Ok(Lock { _file: file }),
                Ok(false) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(false) => return Err(StoreError::Locked(self.dir.clone(), wait)),
                Err(err) => return Err(io_err(&self.dir)(err)),
            }
        }
    }

    /// Loads every state file (see the module documentation). `now` stamps legacy imports.
    /// Files are read and parsed in parallel; the result does not depend on the order.
    pub fn load(&self, now: Timestamp) -> Result<Loaded, StoreError> {
        let mut jobs = Vec::new();
        for (archived, base, rel_dir) in [
            (false, true, BASES_DIR),
            (true, true, ARCHIVED_BASES_DIR),
            (false, false, IMAGES_DIR),
            (true, false, ARCHIVED_IMAGES_DIR),
        ] {
            for (stem, path) in yaml_files(&self.dir.join(rel_dir))? {
                let rel = Path::new(rel_dir).join(format!("{stem}.yaml"));
                jobs.push(Job {
                    archived,
                    base,
                    stem,
                    rel,
                    path,
                });
            }
        }
        let parsed = model::par::map(&jobs, |job| parse_job(job, now, self.max_file));

        let mut loaded = Loaded::default();
        let mut by_reference: BTreeMap<String, String> = BTreeMap::new();
        let mut legacy_bases: BTreeMap<String, String> = BTreeMap::new();
        let mut legacy_images = Vec::new();
        // Collected first, then built in one go: inserting paths one by one into the maps
        // compared path components ~40 ms on a 10,000-image fleet.
        let (mut texts, mut tidy_paths) = (Vec::new(), Vec::new());
        for (job, (text, parsed)) in jobs.into_iter().zip(parsed) {
            let Job {
                archived,
                stem,
                rel,
                ..
            } = job;
            let file = rel.to_string_lossy().into_owned();
            match parsed {
                Parsed::Failed(err) => fail(&mut loaded, err, rel, Some(stem), !job.base),
                Parsed::LegacyImage => legacy_images.push((stem, rel, text)),
                Parsed::Base(base, legacy_name, tidy) => {
                    let base = *base;
                    let id = base.id.clone();
                    let canonical = base
                        .image_ref()
                        .as_ref()
                        .map_or_else(|| base.reference.clone(), ImageRef::canonical);
                    let map = if archived {
                        &mut loaded.state.archived_bases
                    } else {
                        &mut loaded.state.bases
                    };
                    let clash = if map.contains_key(&id) {
                        Some(format!("base id `{id}` is also defined by another file"))
                    } else {
                        by_reference
                            .get(&canonical)
                            .filter(|other| **other != id)
                            .map(|other| {
                                format!(
                                    "duplicate base image `{canonical}`: also recorded as `{other}`"
                                )
                            })
                    };
                    if let Some(message) = clash {
                        fail(
                            &mut loaded,
                            LoadError::whole(&file, LoadErrorKind::Duplicate, message),
                            rel,
                            None,
                            false,
                        );
                        continue;
                    }
                    if let Some(legacy_name) = legacy_name {
                        legacy_bases.insert(legacy_name, base.reference.clone());
                        loaded.imported.push(rel.clone());
                    }
                    by_reference.insert(canonical, id.clone());
                    map.insert(id, base);
                    if tidy {
                        tidy_paths.push(rel.clone());
                    }
                    texts.push((rel, text));
                }
                Parsed::Image(image, tidy) => {
                    let map = if archived {
                        &mut loaded.state.archived_images
                    } else {
                        &mut loaded.state.images
                    };
                    map.insert(stem, *image);
                    if tidy {
                        tidy_paths.push(rel.clone());
                    }
                    texts.push((rel, text));
                }
            }
        }
        for (stem, rel, text) in legacy_images {
            let file = rel.to_string_lossy().into_owned();
            match legacy::import_image(&text, &file, &legacy_bases, now) {
                Ok(image) if loaded.state.images.contains_key(&image.name) => fail(
                    &mut loaded,
                    LoadError::whole(
                        &file,
                        LoadErrorKind::Duplicate,
                        format!("image `{}` is also defined by another file", image.name),
                    ),
                    rel,
                    None,
                    true,
                ),
                Ok(image) => {
                    loaded.imported.push(rel.clone());
                    loaded.state.images.insert(image.name.clone(), image);
                    texts.push((rel, text));
                }
                Err(err) => fail(&mut loaded, err, rel, Some(stem), true),
            }
        }
        loaded.texts = texts.into_iter().collect();
        loaded.tidy = tidy_paths.into_iter().collect();
        loaded.imported.sort();
        loaded.errors.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(loaded)
    }

    /// The file operations turning what was loaded into `next`: files whose text differs are
    /// written, loaded files that `next` no longer has are removed. Failed files are never touched.
    pub fn plan(&self, loaded: &Loaded, next: &State) -> Result<Plan, StoreError> {
        self.plan_scoped(loaded, next, None)
    }

    /// [`Store::plan`] for a run limited to some images (`--image`): the files of the other
    /// images (active and archived) are neither rendered nor touched.
    pub fn plan_scoped(
        &self,
        loaded: &Loaded,
        next: &State,
        images: Option<&BTreeSet<String>>,
    ) -> Result<Plan, StoreError> {
        let in_scope = |path: &Path| match images {
            None => true,
            Some(images) => {
                let image_file =
                    path.starts_with(IMAGES_DIR) || path.starts_with(ARCHIVED_IMAGES_DIR);
                !image_file
                    || path
                        .file_stem()
                        .is_some_and(|stem| images.contains(stem.to_string_lossy().as_ref()))
            }
        };
        let desired = render_entities(
            next,
            &|name| images.is_none_or(|i| i.contains(name)),
            Some(loaded),
        )?;
        let existing: std::collections::HashMap<&Path, &String> =
            loaded.texts.iter().map(|(p, t)| (p.as_path(), t)).collect();
        let failed: std::collections::HashSet<&Path> =
            loaded.failed_paths.iter().map(PathBuf::as_path).collect();
        let mut plan = Plan::default();
        let mut wanted = std::collections::HashSet::with_capacity(desired.len());
        for (path, text) in desired {
            if failed.contains(path.as_path()) {
                continue;
            }
            if let Some(text) = text
                && existing.get(path.as_path()) != Some(&&text)
            {
                plan.writes.push((path.clone(), text));
            }
            wanted.insert(path);
        }
        for path in loaded.texts.keys() {
            if !wanted.contains(path) && !failed.contains(path.as_path()) && in_scope(path) {
                plan.deletes.push(path.clone());
            }
        }
        plan.writes.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(plan)
    }

    /// Applies `plan` atomically per file (see the module documentation). Returns bytes written.
    pub fn apply(&self, plan: &Plan) -> Result<usize, StoreError> {
        self.apply_inner(plan, &mut |_| Ok(()))
    }

    /// [`Store::apply`] calling `hook` before every step; an error from the hook stops the write
    /// there as a crash would, leaving temporary files behind (the crash tests; not API).
    #[cfg(feature = "test-util")]
    pub fn apply_with(
        &self,
        plan: &Plan,
        hook: &mut dyn FnMut(Step<'_>) -> io::Result<()>,
    ) -> Result<usize, StoreError> {
        self.apply_inner(plan, hook)
    }

    fn apply_inner(
        &self,
        plan: &Plan,
        hook: &mut dyn FnMut(InjectStep<'_>) -> io::Result<()>,
    ) -> Result<usize, StoreError> {
        if plan.is_empty() {
            return Ok(0);
        }
        let mut dirs = BTreeSet::new();
        for (rel, _) in &plan.writes {
            let parent = self
                .dir
                .join(rel)
                .parent()
                .unwrap_or(&self.dir)
                .to_path_buf();
            if !dirs.contains(&parent) {
                fs::create_dir_all(&parent).map_err(io_err(&parent))?;
                dirs.insert(parent);
            }
        }
        let temp_of = |rel: &Path| {
            let target = self.dir.join(rel);
            let temp = atomic::temp_path(&target, target.parent().unwrap_or(&self.dir));
            (temp, target)
        };
        // The hook sees every temporary file before the parallel write; the first it refuses
        // is where the simulated crash happens.
        let crash_at = plan
            .writes
            .iter()
            .position(|(rel, _)| hook(InjectStep::WriteTemp(rel)).is_err());
        let count = crash_at.unwrap_or(plan.writes.len());
        // Temporary files are written in parallel (file creation dominates a first run).
        let written = model::par::map(&plan.writes[..count], |(rel, text)| {
            let (temp, target) = temp_of(rel);
            let result = File::create(&temp).and_then(|mut file| {
                file.write_all(text.as_bytes())?;
                if !SYNCFS {
                    file.sync_all()?;
                }
                Ok(())
            });
            result
                .map(|()| (temp.clone(), target))
                .map_err(|source| StoreError::Io { path: temp, source })
        });
        if let Some(at) = crash_at {
            // A crash in the middle of a write leaves a torn temporary file.
            let (rel, text) = &plan.writes[at];
            let _ = fs::write(temp_of(rel).0, &text.as_bytes()[..text.len() / 2]);
            return Err(StoreError::Injected(rel.clone()));
        }
        let mut temps = Vec::with_capacity(written.len());
        let mut first_error = None;
        for (result, (rel, _)) in written.into_iter().zip(&plan.writes) {
            match result {
                Ok((temp, target)) => temps.push((temp, target, rel)),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        if let Some(err) = first_error {
            // A real I/O error (not a crash): clean up.
            for (temp, _, _) in &temps {
                let _ = fs::remove_file(temp);
            }
            return Err(err);
        }
        let injected = |path: &Path| StoreError::Injected(path.to_path_buf());
        hook(InjectStep::SyncFiles).map_err(|_| injected(&self.dir))?;
        if SYNCFS {
            sync_filesystem(&self.dir).map_err(io_err(&self.dir))?;
        }
        for (temp, target, rel) in &temps {
            hook(InjectStep::Rename(rel)).map_err(|_| injected(rel))?;
            fs::rename(temp, target).map_err(io_err(target))?;
        }
        for rel in &plan.deletes {
            hook(InjectStep::Delete(rel)).map_err(|_| injected(rel))?;
            let path = self.dir.join(rel);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_err(&path)(err)),
            }
            if let Some(parent) = path.parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
        for dir in &dirs {
            hook(InjectStep::SyncDir(dir)).map_err(|_| injected(dir))?;
            atomic::sync_dir(dir).map_err(io_err(dir))?;
        }
        Ok(plan.bytes())
    }
}

struct Job {
    archived: bool,
    base: bool,
    stem: String,
    rel: PathBuf,
    path: PathBuf,
}

enum Parsed {
    Failed(LoadError),
    Base(Box<BaseImageState>, Option<String>, bool),
    Image(Box<ImageState>, bool),
    LegacyImage,
}

/// Reads and parses one file (run in parallel).
fn parse_job(job: &Job, now: Timestamp, max_file: u64) -> (String, Parsed) {
    let file = job.rel.to_string_lossy().into_owned();
    let text = match input::read_to_string(&job.path, max_file) {
        Ok(text) => text,
        Err(err) => {
            let err = LoadError::whole(&file, LoadErrorKind::Io, format!("cannot read: {err}"));
            return (String::new(), Parsed::Failed(err));
        }
    };
    let parsed = match (format::detect(&text, &file), job.base) {
        (Err(err), _) => Parsed::Failed(err),
        (Ok(Detected::Legacy), _) if job.archived => Parsed::Failed(LoadError::whole(
            &file,
            LoadErrorKind::Malformed,
            "no `version` key in an archived file",
        )),
        (Ok(Detected::Current), true) => {
            match format::parse_yaml_tracked::<BaseImageState>(&text, &file) {
                Ok((b, tidy)) if b.id == job.stem => Parsed::Base(Box::new(b), None, tidy),
                Ok((b, _)) => Parsed::Failed(LoadError::whole(
                    &file,
                    LoadErrorKind::Duplicate,
                    format!("file name does not match its id `{}`", b.id),
                )),
                Err(err) => Parsed::Failed(err),
            }
        }
        (Ok(Detected::Legacy), true) => match legacy::import_base(&text, &file, now) {
            Ok(imported) => {
                Parsed::Base(Box::new(imported.state), Some(imported.legacy_name), false)
            }
            Err(err) => Parsed::Failed(err),
        },
        (Ok(Detected::Current), false) => {
            match format::parse_yaml_tracked::<ImageState>(&text, &file) {
                Ok((image, tidy)) if job.archived || image.name == job.stem => {
                    Parsed::Image(Box::new(image), tidy)
                }
                Ok((image, _)) => Parsed::Failed(LoadError::whole(
                    &file,
                    LoadErrorKind::Duplicate,
                    format!("file name does not match its name `{}`", image.name),
                )),
                Err(err) => Parsed::Failed(err),
            }
        }
        (Ok(Detected::Legacy), false) => Parsed::LegacyImage,
    };
    // Values that reach manifests are checked where they are read (a hand edit of `${{ ... }}`).
    let checked = match &parsed {
        Parsed::Base(b, ..) => b.check_values(),
        Parsed::Image(i, _) => i.check_values(),
        _ => Ok(()),
    };
    match checked {
        Ok(()) => (text, parsed),
        Err(err) => {
            let err = LoadError::whole(&file, LoadErrorKind::Malformed, err.to_string());
            (text, Parsed::Failed(err))
        }
    }
}

fn fail(loaded: &mut Loaded, err: LoadError, rel: PathBuf, stem: Option<String>, image: bool) {
    if let Some(stem) = stem {
        if image {
            loaded.frozen_images.insert(stem);
        } else {
            loaded.frozen_bases.insert(stem);
        }
    }
    loaded.failed_paths.insert(rel);
    loaded.errors.push(err);
}

#[cfg(target_os = "linux")]
const SYNCFS: bool = true;
#[cfg(not(target_os = "linux"))]
const SYNCFS: bool = false;

#[cfg(target_os = "linux")]
fn sync_filesystem(dir: &Path) -> io::Result<()> {
    let file = File::open(dir)?;
    rustix::fs::syncfs(&file).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(err) => Err(io::Error::from(err)),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    Ok(true)
}
