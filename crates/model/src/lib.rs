//! The vocabulary of image-factory: image references, enrolment (`images.yaml`), settings
//! (`factory.yaml`), durations, the names we derive for state files and Kubernetes objects, and the
//! diagnostics produced when any of these is malformed.
//!
//! This crate is pure: it reads no files and prints nothing. Callers hand it text and a file name and
//! get typed values or a list of [`diagnostic::Diagnostic`]s back.

pub mod config;
pub mod diagnostic;
pub mod digest;
pub mod duration;
pub mod enrollment;
pub mod git;
pub mod kargo;
pub mod names;
#[doc(hidden)]
pub mod par;
pub mod printable;
pub mod reference;
pub mod semver;
pub mod settings;
pub mod state;
pub(crate) mod suggest;
pub mod time;
pub mod yaml;
