//! The hand-written manifests of `../shared/kargo/examples`: every invalid one is rejected by the
//! checks `synth --validate` runs, the valid ones (validated together, since they refer to each
//! other) pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

fn files(kind: &str) -> Option<Vec<PathBuf>> {
    let dir = common::examples_dir()?.join(kind);
    let entries = std::fs::read_dir(&dir).unwrap();
    let mut out: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    out.sort();
    Some(out)
}

#[test]
fn invalid_examples_are_rejected() {
    let Some(paths) = files("invalid") else {
        return;
    };
    assert!(paths.len() >= 12);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let problems = common::problems(&text);
        assert!(!problems.is_empty(), "{} was accepted", path.display());
    }
}

#[test]
fn invalid_examples_caught_by_rules_alone() {
    // Without JSON Schemas, the Rust rules still reject every Kargo-specific invalid example except
    // those that only a schema can see (unknown fields, step config shapes, core kinds).
    let Some(paths) = files("invalid") else {
        return;
    };
    let schema_only = [
        "k8s-deployment-typo.yaml",
        "stage-step-config.yaml",
        "stage-unknown-field.yaml",
    ];
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let docs =
            image_factory_synth::parse_documents(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // Dangling references (rule 6) do not count: each example is a fragment.
        let violations: Vec<_> = image_factory_synth::check::check_documents(&docs)
            .into_iter()
            .filter(|v| v.rule != "rule 6")
            .collect();
        if !schema_only.contains(&name.as_str()) {
            assert!(!violations.is_empty(), "{name} passed the rules");
        }
    }
}

#[test]
fn valid_examples_pass_together() {
    let Some(paths) = files("valid") else { return };
    let mut all = String::new();
    for path in paths {
        all.push_str("---\n");
        all.push_str(&std::fs::read_to_string(&path).unwrap());
        all.push('\n');
    }
    common::assert_valid(&all);
}
