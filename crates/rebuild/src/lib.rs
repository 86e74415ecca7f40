//! The rebuild engine's decision (SPEC §9.2): [`plan`] tells, from the state alone, which managed
//! images are due for a rebuild now, each with every base pinned to the digest that has soaked,
//! parents before children, one rebuild per image for everything pending.
//!
//! **Invariant:** pure — no I/O, no clock, no randomness; the same state, settings and time always
//! give the same plan. The drivers (`analyzer trigger`, the Kargo CronJob) carry it out.

mod plan;

pub use plan::{Blocked, Due, Hold, Pin, Plan, Waiting, plan};
