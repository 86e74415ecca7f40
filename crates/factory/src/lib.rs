//! The job layer of image-factory (SPEC §3): each whole job over a factory dir, as one function
//! returning a typed report, so that the binaries (`analyzer`, `synth`) and `xtask` only parse
//! arguments, render reports and choose exit codes.
//!
//! - [`FactoryDir::load`]: the one place a factory dir's `images.yaml` and `factory.yaml` are read
//!   and validated (diagnostics with file, line, column and hint); state loading under the dir's
//!   lock ([`FactoryDir::lock`], [`FactoryDir::load_state`]).
//! - [`validate()`]: the diagnostics, counted.
//! - [`analyze()`]: Dockerfiles (from a source root or shallow clones, one per repository) → state
//!   files, written atomically; optionally one commit, pushed with rebase and retry, the analysis
//!   redone on the fresh state when a rebase conflicts ([`AnalyzeReport`]).
//! - [`synthesize()`]: configuration + state → Kargo manifests, optionally checked against the JSON
//!   Schemas; [`is_up_to_date`] (`--check`), [`write_manifest`] and [`write_backstage`] (the
//!   workspace's one atomic writer, [`state::atomic`]); [`write_or_check_manifest`] and its
//!   [`SynthReport`] (the summary line, the `--check` failure).
//! - [`write_workflows`]: the build workflows of images without one (`synth --workflows`,
//!   SPEC §8.3), written or drift-checked, stale generated files removed ([`WorkflowsReport`]).
//! - [`validate_manifests`]: any manifest files against Kargo's admission rules and the schemas.
//! - [`plan()`], [`trigger()`] and [`emergency()`]: the rebuild engine's drivers (SPEC §9.3) —
//!   the plan (and `--what-if`), the CI dispatches, a delay bypassed with a reason.
//! - [`enroll()`]: a managed image's entry appended to `images.yaml`, comments and layout kept,
//!   validated by the same loader, written atomically ([`EnrollReport`] with the next steps).
//! - [`versions()`]: the tags of an image from its registry, newest version first
//!   ([`VersionsReport`]).
//! - [`BaseImagesReport`] and [`ParsedRef`]: the SPEC §10 contracts of `analyzer base-images` and
//!   `analyzer parse-ref` (JSON via serde, text via `Display`).
//!
//! Nothing here prints (progress goes to `tracing`) or exits; errors are [`JobError`]s whose
//! messages are complete on their own.
//!
//! ```no_run
//! let dir = factory::FactoryDir::load("image-factory");
//! let synthesis = factory::synthesize(&dir, &factory::SynthOptions::default())?;
//! factory::write_manifest("dist/image-factory.k8s.yaml".as_ref(), &synthesis.manifest)?;
//! # Ok::<(), factory::JobError>(())
//! ```

mod analyze;
mod base_images;
mod commit;
mod dir;
mod emergency;
mod enroll;
mod error;
pub mod limits;
mod local_files;
mod manifests;
mod parse_ref;
mod plan;
mod sources;
mod synthesize;
mod trigger;
mod validate;
mod versions;
mod watch;
mod workflows;

pub use analyze::{
    AnalyzeOptions, AnalyzeReport, Build, Environment, FileError, ImageFailure, PushOptions,
    Sources, analyze,
};
pub use base_images::{
    BaseImagesReport, BuildArgError, options as dockerfile_options,
    read_input as read_dockerfile_input,
};
pub use commit::{Changes, author, commit_message};
pub use dir::{Config, FactoryDir};
pub use emergency::{EmergencyOptions, EmergencyReport, EmergencyTarget, emergency};
pub use enroll::{EnrollError, EnrollOptions, EnrollReport, enroll};
pub use error::{JobError, SchemasError, UsageError};
pub use manifests::{ManifestReport, Problem, load_schemas, validate_manifests};
pub use parse_ref::ParsedRef;
pub use plan::{PlanReport, WhatIfReport, plan, what_if};
pub use synthesize::{
    BackstageReport, LOCK_TIMEOUT, ObjectList, SynthOptions, SynthReport, Synthesis, is_up_to_date,
    load_for_synthesis, synthesize, write_backstage, write_manifest, write_or_check_manifest,
};
pub use trigger::{Dispatched, TriggerOptions, TriggerReport, pin_lines, request, trigger};
pub use validate::{Validation, validate};
pub use versions::{TagEntry, VersionsOptions, VersionsReport, versions};
pub use watch::{
    BaseError, Baseline, CheckOptions, CheckReport, ObserveOptions, ObserveReport, Updated,
    WatchOptions, Written, check, observe,
};
pub use workflows::{WorkflowsReport, write_workflows};
