//! The state store of image-factory (SPEC §7): loading, merging and lifecycle of the per-image and
//! per-base state files under a factory dir's `state/`, atomic writes under a lock of the factory dir,
//! and git commits through the `git` CLI.
//!
//! The pieces, from pure to I/O:
//! - [`format`](mod@format): the text of one state file (comment header + YAML) and parsing it back, with file,
//!   line and column on malformed input and a refusal of unknown versions; a fast reader of the
//!   tools' own YAML subset does most of it (falling back to serde-saphyr for anything else).
//! - [`legacy`]: reading the Python system's state files into the new types.
//! - [`discover`]: one image's Dockerfile → its dependencies ([`discover::Outcome`]); the reading of
//!   the file from a checked-out repository refuses paths escaping it.
//! - [`update`]: the pure heart: previous [`State`] + enrolment + discovery outcomes (+ a build
//!   record) → new state, with merge rules and lifecycle (archive, restore, demotion, promotion).
//! - [`store`]: load a factory dir, render the new state, write only changed files atomically
//!   (temp + fsync + rename + fsync dir) under an exclusive lock of the factory dir.
//! - [`input`]: reading files other people control (regular files only, never a blocking open,
//!   sizes capped).
//! - [`watch`]: a digest seen for a base image (`check`, `observe`) recorded as baseline, known or
//!   update, with pending entries for the dependents (SPEC §9.1).
//! - [`atomic`]: the one atomic writer of a single file (temp + fsync + rename + fsync dir).
//! - [`git`]: shallow clones, commits, pushes with fetch/rebase/retry.
//! - [`clock`]: the injectable clock (`--now`, `SOURCE_DATE_EPOCH`).
//!
//! Not API: the fast reader `fastyaml` and the write path's failure-injection hook
//! (`store::Step`, `Store::apply_with`) are public only with the `test-util` feature, for this
//! crate's own tests.
//!
//! The state types themselves live in [`model::state`].

pub mod atomic;
pub mod audit;
pub mod clock;
pub mod discover;
#[cfg(feature = "test-util")]
pub mod fastyaml;
#[cfg(not(feature = "test-util"))]
mod fastyaml;
pub mod format;
pub mod git;
pub mod input;
pub mod legacy;
pub mod store;
pub mod update;
pub mod watch;

pub use model::state::State;
pub use model::time::Timestamp;
