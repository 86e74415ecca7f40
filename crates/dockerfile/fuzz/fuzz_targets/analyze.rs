//! libFuzzer target: `analyze` on arbitrary bytes must hold the invariants the property tests check
//! (one checker, included from the crate's tests).
#![no_main]

#[path = "../../tests/common/invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check(data));
