//! The state store (SPEC §7): loading, merging and lifecycle of the per-image and per-base state
//! files, atomic writes under a lock of the factory dir, and git commits.
//!
//! Not built yet: issue #4.
