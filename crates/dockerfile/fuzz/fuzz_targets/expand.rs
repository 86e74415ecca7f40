//! libFuzzer target: the expansion grammar (`${...}` in every form, quotes, escapes) in every place
//! a word is expanded; seeded with deep nesting and bombs (`seeds/expand/`).
#![no_main]

#[path = "../../tests/common/invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check_expansion(data));
