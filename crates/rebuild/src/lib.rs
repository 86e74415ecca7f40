//! The rebuild engine (SPEC §9): the decision and the CI dispatch that carries it out.
//!
//! [`plan`] tells, from the state alone, which managed images are due for a rebuild now, each with
//! every base pinned to the digest that has soaked, parents before children, one rebuild per image
//! for everything pending. [`dispatch`] starts a due image's build on its CI (a GitHub Actions
//! `workflow_dispatch` or a GitLab pipeline trigger) and tells what the CI answered.
//!
//! **Invariant:** decisions are pure; only `dispatch` does I/O. `plan` reads no clock, no file and
//! no network, so the same state, settings and time always give the same plan. The drivers
//! (`analyzer trigger`, the Kargo CronJob) carry it out.

pub mod dispatch;
mod emergency;
mod plan;
mod what_if;

pub use emergency::{Affected, Emergency, EmergencyError, Scope, declare};
pub use plan::{Blocked, Due, Hold, Pin, Plan, Waiting, plan};
pub use what_if::{WhatIf, WhatIfImage, what_if};
