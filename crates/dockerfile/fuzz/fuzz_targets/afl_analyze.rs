//! AFL++ entry point for the same target: `cargo afl build --no-default-features --features afl`.

#[path = "../../tests/common/invariants.rs"]
mod invariants;

fn main() {
    afl::fuzz!(|data: &[u8]| invariants::check(data));
}
