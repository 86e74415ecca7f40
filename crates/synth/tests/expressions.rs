//! `Rule::Expressions` on whole manifests: Kargo ends a `${{ … }}` expression at the FIRST `}}`
//! (`pkg/expressions/json_templates.go`, `nextExpression`), so the nested-map request body synth
//! used to generate (`fixtures/manifests/nested-map-body.k8s.yaml`) is rejected, with the reason,
//! and its two fixes pass; every expression of the committed example manifest and of the shared
//! valid Kargo examples must survive Kargo's parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use image_factory_synth::check::{Rule, check_documents};
use image_factory_synth::parse_documents;

const NESTED: &str = "fixtures/manifests/nested-map-body.k8s.yaml";
const BODY: &str = r#"${{ quote({\"ref\": vars.ref, \"inputs\": {\"push\": vars.input1}}) }}"#;

fn fixture() -> String {
    std::fs::read_to_string(common::root().join(NESTED)).unwrap()
}

#[test]
fn the_nested_map_body_is_rejected_for_its_expression_only() {
    let text = fixture();
    assert!(text.contains(BODY), "the fixture holds the old body");
    let violations = check_documents(&parse_documents(&text).unwrap());
    let rules: BTreeSet<Rule> = violations.iter().map(|v| v.rule).collect();
    assert_eq!(
        rules,
        BTreeSet::from([Rule::Expressions]),
        "{violations:#?}"
    );
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let v = &violations[0];
    assert_eq!(v.object, "Stage/rebuild-web");
    for part in [
        "at the first `}}` (column 59)",
        r#"`quote({"ref": vars.ref, "inputs": {"push": vars.input1`, does not parse"#,
        "expected `,` or `}`, found the end of the expression at column 59",
        "`${% … %}`",
    ] {
        assert!(v.message.contains(part), "{part:?} not in {}", v.message);
    }
}

#[test]
fn the_fixes_of_the_nested_map_body_pass() {
    let text = fixture();
    let percent = r#"${% quote({\"ref\": vars.ref, \"inputs\": {\"push\": vars.input1}}) %}"#;
    let spaced = r#"${{ quote({\"ref\": vars.ref, \"inputs\": {\"push\": vars.input1} }) }}"#;
    for fixed in [percent, spaced] {
        let manifest = text.replace(BODY, fixed);
        assert_ne!(manifest, text);
        common::assert_valid(&manifest);
    }
}

/// The `Rule::Expressions` violations of a manifest text.
fn expression_problems(text: &str) -> Vec<String> {
    check_documents(&parse_documents(text).unwrap())
        .into_iter()
        .filter(|v| v.rule == Rule::Expressions)
        .map(|v| v.to_string())
        .collect()
}

#[test]
fn every_expression_of_the_example_manifest_parses() {
    let text = std::fs::read_to_string(common::root().join("dist/image-factory.k8s.yaml")).unwrap();
    assert!(text.contains("${{"));
    let problems = expression_problems(&text);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_expression_of_the_shared_valid_examples_parses() {
    let Some(dir) = common::examples_dir() else {
        return;
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut problems = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let found = expression_problems(&text);
        if path.ends_with("03-stages-soak.yaml") {
            // This "valid" example nests a map in `${{ }}`; Kargo ends the expression at the
            // first `}}` (pkg/expressions/json_templates.go), so its promotions would fail.
            assert_eq!(found.len(), 1, "{found:#?}");
            assert!(
                found[0].contains("Stage/rebuild-app") && found[0].contains("contains `}}`"),
                "{}",
                found[0]
            );
            continue;
        }
        problems.extend(
            found
                .into_iter()
                .map(|p| format!("{}: {p}", path.display())),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
