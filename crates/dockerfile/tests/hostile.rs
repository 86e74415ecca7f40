//! Issue 9's Dockerfile classes at the library level: deep `${` nesting (every form), expansion
//! bombs and 100,000 distinct references end with an error or an answer, never an abort, an
//! unbounded allocation or quadratic work. The same files run through the whole analyzer, bounded
//! in time and memory, in `crates/analyzer/tests/hostile.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use image_factory_dockerfile::{
    DockerfileError, EXPANSION_BUDGET, MAX_NESTING, Options, ShellError, analyze,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/hostile/sources/acme")
        .join(name)
        .join("Dockerfile");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The innermost expansion error of a diagnostic.
fn shell_error(error: &DockerfileError) -> Option<&ShellError> {
    let outer = match error {
        DockerfileError::Expand(e) | DockerfileError::MetaArg { source: e, .. } => e,
        _ => return None,
    };
    match outer {
        ShellError::Process { inner, .. } => Some(inner),
        other => Some(other),
    }
}

#[test]
fn nesting_beyond_the_limit_is_an_error_of_its_stage_in_every_form() {
    for name in [
        "nest-default",
        "nest-alternative",
        "nest-replace",
        "nest-quoted",
    ] {
        let analysis = analyze(&fixture(name), &Options::default());
        let errors: Vec<_> = analysis
            .errors
            .iter()
            .filter_map(|d| shell_error(&d.error))
            .collect();
        assert_eq!(
            errors,
            [&ShellError::TooDeep { limit: MAX_NESTING }],
            "{name}: {:?}",
            analysis.errors
        );
        // The message quotes a bounded piece of the 14 KB word.
        let message = analysis.errors[0].error.to_string();
        assert!(message.len() < 400, "{name}: {} bytes", message.len());
    }
}

#[test]
fn nesting_within_the_limit_still_expands() {
    let depth = MAX_NESTING - 1;
    let text = format!(
        "FROM {}alpine{}\n",
        "${A:-".repeat(depth),
        "}".repeat(depth)
    );
    let analysis = analyze(text.as_bytes(), &Options::default());
    assert!(analysis.errors.is_empty(), "{:?}", analysis.errors);
    assert_eq!(analysis.base_images[0].familiar(), "alpine");
}

#[test]
fn expansion_bombs_stop_at_the_budget() {
    for name in ["doubling", "replace-bomb"] {
        let analysis = analyze(&fixture(name), &Options::default());
        assert!(
            analysis.errors.iter().any(|d| shell_error(&d.error)
                == Some(&ShellError::TooLarge {
                    limit: EXPANSION_BUDGET
                })),
            "{name}: {:?}",
            analysis.errors
        );
    }
    // Just under the budget is fine: 2^20 bytes from a doubling chain of 20.
    let mut text = String::from("ARG A0=a\n");
    for i in 1..=20 {
        text.push_str(&format!("ARG A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    text.push_str("FROM alpine\n");
    let analysis = analyze(text.as_bytes(), &Options::default());
    assert!(analysis.errors.is_empty(), "{:?}", analysis.errors);
}

#[test]
fn distinct_references_cost_no_more_than_identical_ones() {
    let count = 100_000;
    let distinct: String = (0..count)
        .map(|i| format!("FROM registry.example/team{}/app:{i}\n", i % 97))
        .collect();
    let identical = "FROM registry.example/team/app:1\n".repeat(count);
    let time = |text: &str| {
        let started = Instant::now();
        let analysis = analyze(text.as_bytes(), &Options::default());
        (started.elapsed(), analysis)
    };
    let (same, a) = time(&identical);
    assert_eq!(a.base_images.len(), 1);
    let (different, b) = time(&distinct);
    assert_eq!(b.base_images.len(), count);
    assert!(b.errors.is_empty());
    // Not a benchmark (see benches/): a guard against the quadratic cache coming back, which made
    // the distinct file 12x slower at 20,000 references and minutes at 100,000.
    assert!(
        different < same * 6 + Duration::from_secs(2),
        "distinct {different:?} vs identical {same:?}"
    );
}
