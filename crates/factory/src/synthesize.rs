//! The synth job (SPEC §8): configuration + state → Kargo manifests, optionally validated against
//! the JSON Schemas before anything is written; `--check` drift detection and the atomic writes of
//! the manifest and Backstage files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use model::enrollment::EffectiveImage;
use model::state::State;
use model::time::Timestamp;
use synth::Manifest;

use crate::dir::FactoryDir;
use crate::error::JobError;
use crate::manifests;

/// How long synth waits for an analyzer holding the factory dir's lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of [`synthesize`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynthOptions {
    /// The JSON Schema directory (`json-schema/` of the Kargo schema bundle): when given, the
    /// generated objects must pass the schemas too.
    pub schemas: Option<PathBuf>,
}

/// What [`synthesize`] made.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Synthesis<'a> {
    /// The effective enrolment it was made from (borrowed from the [`FactoryDir`]).
    pub images: &'a [EffectiveImage],
    /// The state it was made from.
    pub state: State,
    /// The manifests.
    pub manifest: Manifest,
    /// Time spent loading the state.
    pub state_time: Duration,
    /// Time spent synthesising (and schema-checking).
    pub synthesis_time: Duration,
}

impl Synthesis<'_> {
    /// How long each phase took, given the configuration's load time, for `--timings`.
    pub fn timings(&self, configuration: Duration) -> String {
        let ms = |d: Duration| d.as_millis();
        format!(
            "configuration {} ms, state ({} images, {} bases) {} ms, synthesis {} ms",
            ms(configuration),
            self.state.images.len(),
            self.state.bases.len(),
            ms(self.state_time),
            ms(self.synthesis_time)
        )
    }
}

/// The `now` synth loads the state with: only legacy imports are stamped with it, and nothing synth
/// emits depends on it.
const STATE_TIME: Timestamp = Timestamp::UNIX_EPOCH;

/// [`FactoryDir::load`] for [`synthesize`]: the state is locked and loaded on another thread while
/// the configuration is read ([`FactoryDir::load_preloading_state`]).
pub fn load_for_synthesis(path: impl Into<std::path::PathBuf>) -> FactoryDir {
    FactoryDir::load_preloading_state(path, STATE_TIME, LOCK_TIMEOUT)
}

/// Synthesises the manifests of `dir`.
///
/// # Errors
/// The configuration is invalid, some state file does not load (manifests are never built from
/// partial state), synthesis refuses the state, or the schemas cannot be used or reject the output.
pub fn synthesize<'a>(
    dir: &'a FactoryDir,
    options: &SynthOptions,
) -> Result<Synthesis<'a>, JobError> {
    let config = dir.config()?;
    let started = Instant::now();
    let state = load_state(dir)?;
    let state_time = started.elapsed();
    let manifest =
        synth::synthesize(&config.images, &config.settings, &state).map_err(JobError::Synth)?;
    if let Some(schemas) = &options.schemas {
        let set = manifests::load_schemas(schemas)?;
        let mut problems = Vec::new();
        for object in &manifest.objects {
            let value = serde_json::to_value(object).map_err(|source| JobError::Serialize {
                object: format!("{}/{}", object.kind(), object.name()),
                source,
            })?;
            for e in set.validate(&value) {
                problems.push(format!("{}/{}: {e}", object.kind(), object.name()));
            }
        }
        if !problems.is_empty() {
            return Err(JobError::SchemaViolations(problems));
        }
    }
    Ok(Synthesis {
        images: &config.images,
        state,
        manifest,
        state_time,
        synthesis_time: started.elapsed() - state_time,
    })
}

/// Loads `state/` under the factory dir's lock, so a concurrent analyzer is never read
/// half-written. A dir without `state/` has the empty state.
fn load_state(dir: &FactoryDir) -> Result<State, JobError> {
    if !dir.path().join("state").is_dir() {
        return Ok(State::default());
    }
    let _lock = dir.lock(LOCK_TIMEOUT)?;
    let loaded = dir.load_state(STATE_TIME)?;
    match loaded.errors.first() {
        Some(first) => Err(JobError::StateFiles {
            count: loaded.errors.len(),
            first: first.clone(),
        }),
        None => Ok(loaded.state),
    }
}

/// Whether `path` holds exactly `manifest` (`synth --check`); a missing file is out of date.
pub fn is_up_to_date(path: &Path, manifest: &Manifest) -> bool {
    std::fs::read(path).is_ok_and(|current| current == manifest.yaml.as_bytes())
}

/// Writes the manifest to `path` atomically unless it already holds it; returns whether it wrote.
///
/// # Errors
/// [`JobError::Write`].
pub fn write_manifest(path: &Path, manifest: &Manifest) -> Result<bool, JobError> {
    Ok(state::atomic::write_if_changed(path, &manifest.yaml)?)
}

/// Writes one Backstage catalog entity file per image and base into `dir` (each atomically, only
/// when changed); returns how many files it wrote.
///
/// # Errors
/// [`JobError::CreateDir`] or [`JobError::Write`].
pub fn write_backstage(dir: &Path, synthesis: &Synthesis<'_>) -> Result<usize, JobError> {
    std::fs::create_dir_all(dir).map_err(|source| JobError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = 0;
    for (name, text) in
        synth::backstage::files(synthesis.images, &synthesis.state, &synthesis.manifest.plan)
    {
        written += usize::from(state::atomic::write_if_changed(&dir.join(name), &text)?);
    }
    Ok(written)
}
