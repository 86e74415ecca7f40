//! Acceptance test: the shared corpus of 305 Dockerfiles (BuildKit, Renovate, Dependabot, hadolint,
//! language-docker test suites), compared with BuildKit's own answer (`buildkit.images`,
//! `buildkit.normalized`, `buildkit.error`) in each directory's `expected.yaml`.
//!
//! The corpus is read from `$IMAGE_FACTORY_CORPUS` (default: `shared/corpus` beside the repository).
//! When it is missing the test fails under CI (`CI` set) and is skipped otherwise. Known
//! disagreements are listed in `tests/corpus-allowlist.txt`; an allow-listed case that starts to
//! agree fails the test, so the list only shrinks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use image_factory_dockerfile::{Options, StageKind, analyze};

const DIRS: [&str; 6] = [
    "renovate",
    "buildkit-parser",
    "buildkit-integration",
    "language-docker",
    "hadolint",
    "dependabot",
];

#[derive(serde::Deserialize)]
struct Expected {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    file: String,
    buildkit: Buildkit,
    /// Renovate only: the non-FROM references it extracts.
    #[serde(default)]
    other_refs: Option<Vec<OtherRefCase>>,
}

#[derive(serde::Deserialize)]
struct OtherRefCase {
    kind: String,
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(serde::Deserialize)]
struct Buildkit {
    #[serde(default)]
    images: Option<Vec<String>>,
    #[serde(default)]
    normalized: Option<Vec<String>>,
    #[serde(default)]
    error: Option<String>,
}

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

/// Why a case disagrees with BuildKit, or `None` when it agrees.
fn disagreement(src: &[u8], bk: &Buildkit) -> Option<String> {
    let a = analyze(src, &Options::default());
    let got_images: Vec<String> = a
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Image)
        .filter_map(|s| s.image.clone())
        .collect();
    let got_normalized: Vec<String> = a.stages.iter().filter_map(|s| s.normalized()).collect();
    let errors: Vec<String> = a
        .errors
        .iter()
        .map(|d| format!("line {}: {}", d.line, d.error))
        .collect();
    if let (Some(e), Some(first)) = (&bk.error, a.errors.first()) {
        // Our first message is BuildKit's (which may join several stage errors with "; "), and a
        // "line N: " prefix, when BuildKit gives one, names our line.
        let mine = first.error.to_string();
        if !e.contains(&mine) {
            return Some(format!("error {mine:?} is not BuildKit's {e:?}"));
        }
        if let Some(rest) = e.strip_prefix("line ") {
            let n: usize = rest
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if n != first.line {
                return Some(format!(
                    "error on line {} but BuildKit says {e:?}",
                    first.line
                ));
            }
        }
    }
    match (&bk.error, errors.is_empty()) {
        (Some(e), true) => return Some(format!("expected error {e:?}, got none")),
        (None, false) => return Some(format!("unexpected errors {errors:?}")),
        _ => {}
    }
    if let Some(images) = &bk.images
        && &got_images != images
    {
        return Some(format!("images {got_images:?} != expected {images:?}"));
    }
    if let Some(normalized) = &bk.normalized
        && &got_normalized != normalized
    {
        return Some(format!(
            "normalized {got_normalized:?} != expected {normalized:?}"
        ));
    }
    None
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
    let mut failures = Vec::new();
    let mut seen_allowed = Vec::new();
    for dir in DIRS {
        let text = std::fs::read_to_string(root.join(dir).join("expected.yaml")).unwrap();
        let expected: Expected = serde_saphyr::from_str(&text).unwrap();
        for case in expected.cases {
            let id = format!("{dir}/{}", case.file);
            let src = std::fs::read(root.join(dir).join(&case.file)).unwrap();
            total += 1;
            let result = disagreement(&src, &case.buildkit);
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
    eprintln!("corpus: {agreed}/{total} agree with BuildKit ({pct:.2}%)");
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
    let text = std::fs::read_to_string(root.join("renovate/expected.yaml")).unwrap();
    let expected: Expected = serde_saphyr::from_str(&text).unwrap();
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
