//! Rebuild orchestration without a cluster (SPEC §9): the rebuild delay, coordination of pending
//! base updates into one rebuild per image, cascade ordering, and CI triggers.
//!
//! Not built yet.
