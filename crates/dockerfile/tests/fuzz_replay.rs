//! Replays the fuzz target's inputs through its invariant checker on the stable toolchain, as part of
//! the normal test suite: the committed regressions (`fuzz/regressions/`), whatever a local fuzz run
//! left (`fuzz/corpus/analyze`, `fuzz/artifacts/analyze` of `cargo fuzz`; `target/fuzz/corpus` and
//! `target/fuzz/artifacts` of `cargo xtask fuzz`), the example sources' Dockerfiles and the shared
//! corpus.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Runs the checker on every file under `dirs`, naming the file that breaks an invariant.
fn replay(dirs: &[PathBuf]) -> usize {
    replay_with(dirs, common::invariants::check)
}

fn replay_with(dirs: &[PathBuf], check: fn(&[u8])) -> usize {
    let mut inputs = Vec::new();
    for d in dirs {
        files(d, &mut inputs);
    }
    inputs.sort();
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "invariant broken by {}", path.display());
    }
    inputs.len()
}

#[test]
fn fuzz_inputs_hold_the_invariants() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = testkit::workspace_root();
    let regressions = crate_dir.join("fuzz/regressions");
    let committed = replay(std::slice::from_ref(&regressions));
    assert!(committed >= 3, "only {committed} regression inputs");
    let local = replay(&[
        crate_dir.join("fuzz/corpus/analyze"),
        crate_dir.join("fuzz/artifacts/analyze"),
        root.join("target/fuzz/corpus/analyze"),
        root.join("target/fuzz/artifacts"),
        root.join("fixtures/sources"),
        root.join("fixtures/hostile/sources"),
    ]);
    // The expansion target's seeds (deep nesting, bombs) and what a local run of it left.
    let expand = replay_with(
        &[
            crate_dir.join("fuzz/seeds/expand"),
            root.join("target/fuzz/corpus/expand"),
        ],
        common::invariants::check_expansion,
    );
    assert!(expand >= 10, "only {expand} expansion seeds");
    let shared = testkit::shared(testkit::SharedData::Corpus).map_or(0, |d| replay(&[d]));
    eprintln!(
        "fuzz replay: {committed} regressions, {local} local inputs, {expand} expansion inputs, \
         {shared} corpus files"
    );
}
