//! [`FactoryDir`]: a factory dir's configuration, read and validated once for every job.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use model::config::{FactoryConfig, validate_factory};
use model::diagnostic::{Diagnostic, has_errors};
use model::enrollment::EffectiveImage;
use model::settings::Settings;
use model::time::Timestamp;
use model::yaml::Pos;
use state::input::{InputError, Limits};
use state::store::{Loaded, Lock, Store, StoreError};

use crate::error::JobError;

/// The validated configuration of a factory dir.
#[derive(Clone, Debug)]
pub struct Config {
    /// The effective enrolment (defaults of `factory.yaml` applied), in `images.yaml` order.
    pub images: Vec<EffectiveImage>,
    /// The effective settings (`factory.yaml`, or the defaults when absent).
    pub settings: Settings,
}

/// A configuration file as read: its name as diagnostics show it, and its text when readable.
#[derive(Clone, Debug)]
struct File {
    name: String,
    text: Option<String>,
}

/// A factory dir (`images.yaml`, optional `factory.yaml`, `state/`), loaded by the one function
/// every job uses: [`FactoryDir::load`].
///
/// Loading never fails: a missing directory or an unreadable file is a [`Diagnostic`] like any
/// other configuration problem, so `validate`, `analyze` and `synth` report the same problems in
/// the same words.
#[derive(Clone, Debug)]
pub struct FactoryDir {
    path: PathBuf,
    images: File,
    factory: File,
    diagnostics: Vec<Diagnostic>,
    config: Option<Config>,
    limits: Limits,
    load_time: Duration,
    preload: Arc<Mutex<Preload>>,
}

/// The state, locked and loaded on another thread while the configuration is read
/// ([`FactoryDir::load_preloading_state`]): the two are independent, and reading a large
/// `images.yaml` alone leaves a core idle (docs/performance.md).
#[derive(Default)]
enum Preload {
    /// Nothing preloaded (or already handed out): lock and load on demand.
    #[default]
    None,
    /// Locking and loading, for this `now`.
    Running(Timestamp, JoinHandle<Result<(Lock, Loaded), StoreError>>),
    /// Locked: the loaded state waits for [`FactoryDir::load_state`].
    Loaded(Timestamp, Box<Loaded>),
}

impl std::fmt::Debug for Preload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Preload::None => "None",
            Preload::Running(..) => "Running",
            Preload::Loaded(..) => "Loaded",
        })
    }
}

impl FactoryDir {
    /// Reads and validates `images.yaml` and `factory.yaml` of `path` together. Input size caps
    /// come from the environment (`IMAGE_FACTORY_MAX_*_SIZE`, see [`crate::limits`]); a malformed
    /// one is a diagnostic.
    pub fn load(path: impl Into<PathBuf>) -> Self {
        Self::read(path.into(), Preload::None)
    }

    /// [`FactoryDir::load`], while another thread takes the factory dir's lock (waiting at most
    /// `wait`) and loads the state for `now`. The first [`FactoryDir::lock`] and
    /// [`FactoryDir::load_state`] with the same `now` then return what it got; errors surface
    /// there too, after the configuration's, as without the preload.
    pub fn load_preloading_state(path: impl Into<PathBuf>, now: Timestamp, wait: Duration) -> Self {
        let path = path.into();
        // Without `state/` there is nothing to load, and the lock must not create it.
        if !path.join("state").is_dir() {
            return Self::read(path, Preload::None);
        }
        let store =
            Store::new(&path).with_limits(crate::limits::from_process().unwrap_or_default());
        let handle = std::thread::spawn(move || {
            let lock = store.lock(wait)?;
            let loaded = store.load(now)?;
            Ok((lock, loaded))
        });
        Self::read(path, Preload::Running(now, handle))
    }

    /// [`FactoryDir::load`] when `path` is a directory; `None` when there is none (for jobs that
    /// also work without a factory dir, such as `versions` with a reference).
    pub fn load_if_present(path: impl Into<PathBuf>) -> Option<Self> {
        let path = path.into();
        path.is_dir().then(|| Self::load(path))
    }

    fn read(path: PathBuf, preload: Preload) -> Self {
        let started = Instant::now();
        let name = |file: &str| path.join(file).to_string_lossy().into_owned();
        let mut images = File {
            name: name("images.yaml"),
            text: None,
        };
        let mut factory = File {
            name: name("factory.yaml"),
            text: None,
        };
        let mut read_errors = Vec::new();
        let limits = crate::limits::from_process().unwrap_or_else(|err| {
            read_errors.push(whole_file(
                "environment",
                err.to_string(),
                "unset it, or give a size such as 4MiB",
            ));
            Limits::default()
        });
        if path.is_dir() {
            match read_config(&path.join("images.yaml"), &images.name, limits.config) {
                Ok(Some(text)) => images.text = Some(text),
                Ok(None) => read_errors.push(whole_file(
                    &images.name,
                    "cannot read images.yaml: no such file".to_owned(),
                    "every factory dir needs an images.yaml listing the enrolled images",
                )),
                Err(d) => read_errors.push(*d),
            }
        } else {
            read_errors.push(whole_file(
                &path.to_string_lossy(),
                "factory dir not found (or not a directory)".to_owned(),
                "pass the directory holding images.yaml with --factory-dir",
            ));
        }
        match read_config(&path.join("factory.yaml"), &factory.name, limits.config) {
            Ok(text) => factory.text = text,
            Err(d) => read_errors.push(*d),
        }
        let (diagnostics, config) = match (&images.text, read_errors.is_empty()) {
            (Some(text), true) => {
                let mut checked = validate_factory(
                    text,
                    &images.name,
                    factory.text.as_deref().map(|t| (t, factory.name.as_str())),
                );
                // The check reads `images.yaml` again for the positions: only when there are
                // `local` blocks (or errors, which may hide some) — most fleets have none.
                let has_local = checked
                    .enrollment
                    .as_ref()
                    .is_none_or(|e| e.images.iter().any(|i| i.local.is_some()));
                if has_local || has_errors(&checked.diagnostics) {
                    checked.diagnostics.extend(crate::local_files::check(
                        &path,
                        text,
                        &images.name,
                    ));
                }
                model::diagnostic::sort(&mut checked.diagnostics);
                let config = match (checked.resolved(), checked.settings) {
                    (Some(images), Some(settings)) if !has_errors(&checked.diagnostics) => {
                        Some(Config { images, settings })
                    }
                    _ => None,
                };
                (checked.diagnostics, config)
            }
            _ => (read_errors, None),
        };
        Self {
            path,
            images,
            factory,
            diagnostics,
            config,
            limits,
            load_time: started.elapsed(),
            preload: Arc::new(Mutex::new(preload)),
        }
    }

    /// How long [`FactoryDir::load`] took (reading and validating).
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every problem found (errors and warnings), sorted by file, line and column.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Whether any diagnostic is an error (then [`FactoryDir::config`] fails).
    pub fn has_errors(&self) -> bool {
        self.config.is_none()
    }

    /// The validated configuration.
    ///
    /// # Errors
    /// [`JobError::InvalidConfig`] when any diagnostic is an error.
    pub fn config(&self) -> Result<&Config, JobError> {
        self.config.as_ref().ok_or_else(|| JobError::InvalidConfig {
            dir: self.path.clone(),
            errors: self.diagnostics.iter().filter(|d| d.is_error()).count(),
        })
    }

    /// `images.yaml`: its name as diagnostics give it, and its text when it could be read.
    pub fn images_file(&self) -> (&str, Option<&str>) {
        (&self.images.name, self.images.text.as_deref())
    }

    /// Validates `text` as this dir's `images.yaml`, together with its `factory.yaml`, exactly
    /// as [`FactoryDir::load`] does (for a change about to be written, such as `enroll`'s).
    pub fn validate_images_text(&self, text: &str) -> FactoryConfig {
        validate_factory(
            text,
            &self.images.name,
            self.factory
                .text
                .as_deref()
                .map(|t| (t, self.factory.name.as_str())),
        )
    }

    /// Renders `diagnostic` like a compiler, quoting the line of the file it points into.
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        let source = [&self.images, &self.factory]
            .into_iter()
            .find(|f| f.name == diagnostic.file)
            .and_then(|f| f.text.as_deref())
            .unwrap_or("");
        diagnostic.render(source)
    }

    /// Every diagnostic (only the errors unless `warnings`) rendered with [`FactoryDir::render`],
    /// each followed by a blank line.
    pub fn render_all(&self, warnings: bool) -> String {
        let shown = self.diagnostics.iter().filter(|d| warnings || d.is_error());
        shown.map(|d| self.render(d) + "\n").collect()
    }

    /// The input size caps in force (from the environment, else the defaults).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The state store of this factory dir.
    pub fn store(&self) -> Store {
        Store::new(&self.path).with_limits(self.limits)
    }

    /// Takes the factory dir's exclusive lock, waiting at most `wait` for another process.
    ///
    /// # Errors
    /// [`JobError::Store`] when the lock stays taken or cannot be created.
    pub fn lock(&self, wait: Duration) -> Result<Lock, JobError> {
        let mut preload = self.preload.lock().unwrap_or_else(PoisonError::into_inner);
        if let Preload::Running(now, handle) = std::mem::take(&mut *preload) {
            let (lock, loaded) = handle.join().map_err(|_| JobError::PreloadPanicked)??;
            *preload = Preload::Loaded(now, Box::new(loaded));
            return Ok(lock);
        }
        Ok(self.store().lock(wait)?)
    }

    /// Loads every state file (call under [`FactoryDir::lock`]); `now` stamps legacy imports.
    /// Files that fail to load are listed in [`Loaded::errors`], not an error here.
    ///
    /// # Errors
    /// [`JobError::Store`] when the state directory cannot be read.
    pub fn load_state(&self, now: Timestamp) -> Result<Loaded, JobError> {
        let mut preload = self.preload.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::take(&mut *preload) {
            Preload::Loaded(at, loaded) if at == now => Ok(*loaded),
            // Not locked by us yet: keep it for `lock`.
            running @ Preload::Running(..) => {
                *preload = running;
                Ok(self.store().load(now)?)
            }
            _ => Ok(self.store().load(now)?),
        }
    }
}

/// The text of a configuration file, `None` when it does not exist; anything else that keeps it
/// from being read as UTF-8 text of at most `limit` bytes is a diagnostic (bad bytes with their
/// line and column).
fn read_config(path: &Path, name: &str, limit: u64) -> Result<Option<String>, Box<Diagnostic>> {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy())
        .unwrap_or_default();
    let bytes = match state::input::read(path, limit) {
        Ok(bytes) => bytes,
        Err(err) if err.is_not_found() => return Ok(None),
        Err(err) => {
            let hint = match err {
                InputError::TooLarge { .. } => {
                    "raise the limit with IMAGE_FACTORY_MAX_CONFIG_SIZE (e.g. 256MiB) if this is real"
                }
                InputError::NotRegular(_) => "it must be a regular file (or a symlink to one)",
                _ => "check the file's permissions",
            };
            return Err(Box::new(whole_file(
                name,
                format!("cannot read {file}: {err}"),
                hint,
            )));
        }
    };
    String::from_utf8(bytes).map(Some).map_err(|err| {
        let good = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let text = std::str::from_utf8(good).unwrap_or_default();
        let line = text.matches('\n').count() + 1;
        let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Box::new(
            Diagnostic::error(
                name,
                Pos::new(line, column),
                format!("{file} is not UTF-8 text: invalid byte here"),
            )
            .with_hint("save the file as UTF-8 (YAML files must be UTF-8)"),
        )
    })
}

fn whole_file(file: &str, message: String, hint: &str) -> Diagnostic {
    Diagnostic::error(file, Pos::new(0, 0), message).with_hint(hint)
}
