//! Acceptance test: the shared corpus of 305 Dockerfiles (BuildKit, Renovate, Dependabot, hadolint,
//! language-docker test suites), compared field by field with BuildKit's own answer in each
//! directory's `expected.yaml`: images, normalized references, every stage (raw and expanded text,
//! kind, `AS` name, platform as written and expanded, stage reference, error), the build's error
//! with its line, the parser's warnings, the `# syntax=` image and the escape token (see
//! `common/mod.rs`).
//!
//! The corpus is located by `testkit` (`$IMAGE_FACTORY_CORPUS`, default `shared/corpus` beside the
//! repository). When it is missing the test fails under CI (`CI` set) and is skipped otherwise.
//! Known disagreements are listed in `tests/corpus-allowlist.txt`; an allow-listed case that starts
//! to agree fails the test, so the list only shrinks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use image_factory_dockerfile::{Options, analyze};

const DIRS: [&str; 6] = [
    "renovate",
    "buildkit-parser",
    "buildkit-integration",
    "language-docker",
    "hadolint",
    "dependabot",
];

fn corpus_dir() -> Option<PathBuf> {
    testkit::shared(testkit::SharedData::Corpus)
}

/// `dir/file` → reason.
fn allowlist() -> BTreeMap<String, String> {
    include_str!("corpus-allowlist.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((case, reason)) => (case.to_owned(), reason.trim().to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

#[test]
fn corpus_agrees_with_buildkit() {
    let Some(root) = corpus_dir() else {
        return;
    };
    let allow = allowlist();
    assert!(allow.len() <= 3, "the allow-list may hold at most 3 cases");
    let mut total = 0usize;
    let mut agreed = 0usize;
    let mut fields = 0usize;
    let mut fields_agreed = 0usize;
    let mut failures = Vec::new();
    let mut seen_allowed = Vec::new();
    for dir in DIRS {
        let expected = common::read_expected(&root.join(dir).join("expected.yaml"));
        for case in expected.cases {
            let id = format!("{dir}/{}", case.file);
            let src = std::fs::read(root.join(dir).join(&case.file)).unwrap();
            total += 1;
            let c = common::compare(&src, &case);
            fields += c.fields;
            fields_agreed += c.fields - c.mismatches.len();
            let result = (!c.mismatches.is_empty()).then(|| c.mismatches.join("; "));
            match (result, allow.contains_key(&id)) {
                (None, false) => agreed += 1,
                (None, true) => {
                    seen_allowed.push(id.clone());
                    failures.push(format!("{id}: allow-listed but now agrees; remove it"));
                }
                (Some(_), true) => seen_allowed.push(id),
                (Some(why), false) => failures.push(format!("{id}: {why}")),
            }
        }
    }
    for id in allow.keys() {
        if !seen_allowed.contains(id) {
            failures.push(format!("{id}: allow-listed but not in the corpus"));
        }
    }
    let pct = 100.0 * agreed as f64 / total as f64;
    eprintln!(
        "corpus: {agreed}/{total} cases agree with BuildKit ({pct:.2}%), \
         {fields_agreed}/{fields} fields"
    );
    assert_eq!(total, 305, "the corpus should have 305 Dockerfile cases");
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(pct >= 99.0, "agreement {pct:.2}% < 99%");
}

/// `COPY --from`, `RUN --mount from=` and `# syntax=` references: the same as Renovate extracts,
/// except the ones that are not valid references (which we report as errors instead).
#[test]
fn renovate_other_refs_agree_where_valid() {
    let Some(root) = corpus_dir() else {
        return;
    };
    let expected = common::read_expected(&root.join("renovate/expected.yaml"));
    let mut checked = 0;
    for case in expected.cases {
        let Some(refs) = case.other_refs else {
            continue;
        };
        let src = std::fs::read(root.join("renovate").join(&case.file)).unwrap();
        let a = analyze(&src, &Options::default());
        let mut ours: Vec<(String, String)> = a
            .other_refs
            .iter()
            .map(|r| {
                let kind = serde_json::to_value(r.kind).unwrap();
                (kind.as_str().unwrap().to_owned(), r.image.clone())
            })
            .collect();
        let mut theirs: Vec<(String, String)> = refs
            .into_iter()
            .filter(|r| model::reference::ImageRef::parse_normalized(&r.reference).is_ok())
            .map(|r| (r.kind, r.reference))
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{}", case.file);
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} cases with other_refs");
}
