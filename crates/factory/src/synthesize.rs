//! The synth job (SPEC §8): configuration + state → Kargo manifests, optionally validated against
//! the JSON Schemas before anything is written; `--check` drift detection and the atomic writes of
//! the manifest and Backstage files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use model::enrollment::EffectiveImage;
use model::state::State;
use model::time::Timestamp;
use serde::Serialize;
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

/// What [`write_or_check_manifest`] did; JSON `{out, objects, check, changed, backstage}`, what
/// `synth --format json` prints when it writes or checks the manifests (docs/cli.md). Text: the
/// summary line (`41 objects written to dist/image-factory.k8s.yaml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SynthReport {
    /// The manifest file.
    pub out: PathBuf,
    /// Objects in the manifests.
    pub objects: usize,
    /// `--check`: nothing was written.
    pub check: bool,
    /// The file differed from the manifests (with `check`: it is out of date; else it was
    /// rewritten).
    pub changed: bool,
    /// `--backstage DIR`: the directory and the files written into it.
    pub backstage: Option<BackstageReport>,
}

/// The Backstage catalog files [`write_backstage`] wrote, in a [`SynthReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackstageReport {
    /// The directory.
    pub dir: PathBuf,
    /// Files written (the unchanged ones are not counted).
    pub written: usize,
}

impl SynthReport {
    /// With `check`, when the file differs: the message saying so and what to run (`factory_dir`
    /// is the factory dir it was synthesised from); `None` otherwise.
    pub fn out_of_date(&self, factory_dir: &Path) -> Option<String> {
        let (o, d) = (self.out.display(), factory_dir.display());
        (self.check && self.changed).then(|| {
            format!(
                "{o} is out of date; run `synth --factory-dir {d} --out {o}` (or `cargo xtask synth`) and commit it"
            )
        })
    }
}

impl std::fmt::Display for SynthReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (count, out) = (self.objects, self.out.display());
        match (self.check, self.changed) {
            (true, _) => write!(f, "{out} is up to date"),
            (false, true) => write!(f, "{count} objects written to {out}"),
            (false, false) => write!(f, "{count} objects unchanged in {out}"),
        }
    }
}

/// Writes `manifest` to `out` ([`write_manifest`]) or, with `check`, only compares
/// ([`is_up_to_date`]); `backstage` is what [`write_backstage`] wrote, for the report.
///
/// # Errors
/// [`JobError::Write`].
pub fn write_or_check_manifest(
    out: &Path,
    manifest: &Manifest,
    check: bool,
    backstage: Option<BackstageReport>,
) -> Result<SynthReport, JobError> {
    let changed = if check {
        !is_up_to_date(out, manifest)
    } else {
        write_manifest(out, manifest)?
    };
    Ok(SynthReport {
        out: out.to_path_buf(),
        objects: manifest.objects.len(),
        check,
        changed,
        backstage,
    })
}

/// The objects of a [`Manifest`] as one Kubernetes `List` (`synth --out - --format json`):
/// `kubectl apply -f -` takes it as it takes the YAML.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectList<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [T],
}

impl<'a, T> ObjectList<'a, T> {
    /// The `List` of `items`.
    pub fn new(items: &'a [T]) -> Self {
        Self {
            api_version: "v1",
            kind: "List",
            items,
        }
    }
}
