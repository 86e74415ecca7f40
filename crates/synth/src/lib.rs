//! Manifest synthesis (SPEC §8): a pure function from enrolment, settings and state to the ordered
//! list of Kargo and Argo Rollouts objects, and the admission checks run before anything is written.
//!
//! Not built yet: issue #5.
