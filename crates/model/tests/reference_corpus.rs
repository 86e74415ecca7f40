//! distribution/reference's own test tables (`../shared/corpus/image-refs/`) against our parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::PathBuf;

use image_factory_model::reference::ImageRef;
use serde::Deserialize;

fn corpus_dir() -> Option<PathBuf> {
    testkit::shared(testkit::SharedData::Corpus)
}

#[derive(Deserialize)]
struct FlatRow {
    input: String,
    valid: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    familiar: Option<String>,
    #[serde(default)]
    docker_ref: Option<String>,
}

#[test]
fn agrees_with_every_row_of_normalized_flat() {
    let Some(dir) = corpus_dir() else { return };
    let text = std::fs::read_to_string(dir.join("image-refs/normalized-flat.yaml")).unwrap();
    let rows: Vec<FlatRow> = serde_saphyr::from_str(&text).unwrap();
    assert!(
        rows.len() >= 278,
        "expected the whole table, got {} rows",
        rows.len()
    );
    let mut failures = Vec::new();
    for row in &rows {
        let got = ImageRef::parse_normalized(&row.input);
        let problem = match (&got, row.valid) {
            (Ok(r), true) => {
                let fields = [
                    ("name", Some(r.name()), row.name.clone()),
                    ("domain", Some(r.domain().to_owned()), row.domain.clone()),
                    ("path", Some(r.path().to_owned()), row.path.clone()),
                    ("tag", r.tag().map(str::to_owned), row.tag.clone()),
                    ("digest", r.digest().map(str::to_owned), row.digest.clone()),
                    ("familiar", Some(r.familiar()), row.familiar.clone()),
                    ("docker_ref", Some(r.docker_ref()), row.docker_ref.clone()),
                ];
                fields
                    .iter()
                    .filter(|(_, ours, theirs)| ours != theirs)
                    .map(|(f, ours, theirs)| format!("{f}: ours {ours:?}, theirs {theirs:?}"))
                    .reduce(|a, b| format!("{a}; {b}"))
            }
            (Err(e), false) => match &row.error {
                Some(expected) if *expected != e.to_string() => {
                    Some(format!("error: ours {e:?}, theirs {expected:?}"))
                }
                _ => None,
            },
            (Ok(r), false) => Some(format!("accepted as {r}, expected {:?}", row.error)),
            (Err(e), true) => Some(format!("rejected: {e}")),
        };
        if let Some(problem) = problem {
            failures.push(format!("{:?}: {problem}", row.input));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows disagree:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct Case {
    id: String,
    function: String,
    input: Option<String>,
    valid: bool,
    #[serde(default)]
    stated: Option<Stated>,
}

#[derive(Deserialize)]
struct Stated {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    familiar_name: Option<String>,
}

#[test]
fn stated_parse_normalized_named_results_hold() {
    let Some(dir) = corpus_dir() else { return };
    let text = std::fs::read_to_string(dir.join("image-refs/cases.yaml")).unwrap();
    let cases: Vec<Case> = serde_saphyr::from_str(&text).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases {
        if case.function != "ParseNormalizedNamed" {
            continue;
        }
        let input = case.input.unwrap_or_default();
        checked += 1;
        match (ImageRef::parse_normalized(&input), case.valid) {
            (Ok(r), true) => {
                if let Some(s) = case.stated {
                    let pairs = [
                        (s.name, r.name()),
                        (s.domain, r.domain().to_owned()),
                        (s.path, r.path().to_owned()),
                        (s.familiar_name, r.familiar_name()),
                    ];
                    for (stated, ours) in pairs {
                        if let Some(stated) = stated.filter(|stated| *stated != ours) {
                            failures.push(format!(
                                "{}: {input:?} stated {stated:?}, ours {ours:?}",
                                case.id
                            ));
                        }
                    }
                }
            }
            (Err(_), false) => {}
            (got, valid) => failures.push(format!(
                "{}: {input:?} valid={valid}, ours {got:?}",
                case.id
            )),
        }
    }
    assert!(
        checked >= 121,
        "only {checked} ParseNormalizedNamed cases found"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
