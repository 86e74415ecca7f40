//! The catalogue of broken configurations in `fixtures/bad-config/`: every case yields exactly the
//! errors listed in its `expect` file (`file:line:column`, one per line), and the rendered
//! diagnostics are pinned by an insta snapshot per case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image_factory_model as model;

use std::path::{Path, PathBuf};

use model::config::validate_factory;

fn catalogue() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bad-config")
}

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(catalogue())
        .expect("fixtures/bad-config exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn catalogue_is_large_enough() {
    let cases = cases();
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    for case in &cases {
        assert!(
            case.join("expect").is_file(),
            "{} has no expect file",
            case.display()
        );
    }
}

#[test]
fn every_case_reports_the_expected_errors() {
    let mut mismatched = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let Some(images) = read(&case.join("images.yaml")) else {
            // Cases about missing files are exercised through `analyzer validate`.
            continue;
        };
        let factory = read(&case.join("factory.yaml"));
        let result = validate_factory(
            &images,
            "images.yaml",
            factory.as_deref().map(|t| (t, "factory.yaml")),
        );
        let mut got: Vec<String> = result
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}:{}:{}", d.file, d.line, d.column))
            .collect();
        got.sort();
        let mut expected: Vec<String> = read(&case.join("expect"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        expected.sort();
        assert_eq!(got, expected, "case {name}");
        assert!(!result.is_ok(), "case {name} must fail");
        assert!(result.resolved().is_none(), "case {name}");

        let mut rendered = String::new();
        for d in &result.diagnostics {
            let source = if d.file == "factory.yaml" {
                factory.as_deref().unwrap_or("")
            } else {
                images.as_str()
            };
            rendered.push_str(&d.render(source));
            rendered.push('\n');
        }
        // Keep going after a snapshot mismatch so every changed case is reported (and written as
        // `.snap.new`) in one run.
        let snapshot = std::panic::catch_unwind(|| {
            insta::assert_snapshot!(format!("bad_config__{name}"), rendered);
        });
        if snapshot.is_err() {
            mismatched.push(name);
        }
    }
    assert!(mismatched.is_empty(), "snapshots differ: {mismatched:?}");
}
