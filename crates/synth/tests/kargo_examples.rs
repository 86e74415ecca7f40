//! The hand-written manifests of `../shared/kargo/examples`.
//!
//! Each invalid example is a fragment: it refers to a Project `p1`, a Warehouse `w`, a Stage `a`
//! and a PromotionTask `notify` it does not define. Checked alone, every one would also fail
//! "dangling reference" (rule 6), which would hide a broken rule. So each is checked together with
//! [`CONTEXT`], which defines those objects, and must then fail for its intended rule and no
//! other; the schema-only examples must pass every rule and fail the strict JSON Schemas alone.
//! Finally, undoing the one intended defect (the case's `fix`) must make the example pass both
//! layers: the defect, and nothing else, is what gets it rejected.
//!
//! The valid examples (validated together, since they refer to each other) pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use image_factory_synth::check::{Rule, check_documents};
use image_factory_synth::parse_documents;
use serde_json::{Value, json};

/// The objects the invalid examples refer to (valid on their own: see `context_is_valid`).
const CONTEXT: &str = r#"
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: p1}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: w, namespace: p1}
spec:
  interval: 5m0s
  subscriptions:
  - image: {repoURL: docker.io/library/debian, imageSelectionStrategy: Digest, constraint: "12"}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: a, namespace: p1}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: compose-output
        config:
          digest: ${{ imageFrom('docker.io/library/debian').Digest }}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: notify, namespace: p1}
spec:
  vars:
  - name: message
  steps:
  - uses: compose-output
    config:
      text: ${{ vars.message }}
"#;

/// What an invalid example must be rejected for.
enum Expect {
    /// This Kargo rule, and no other rule.
    Rule(Rule),
    /// The strict JSON Schemas alone (every rule passes).
    SchemaOnly,
}

/// One invalid example: its file, what must reject it, and the edit that removes its defect.
struct Case {
    file: &'static str,
    expect: Expect,
    fix: fn(&mut Value),
}

fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    let shown = doc.to_string();
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} not in {shown}"))
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let removed = at(doc, parent).as_object_mut().unwrap().remove(key);
    assert!(removed.is_some(), "{pointer} not in {doc}");
}

const CASES: &[Case] = &[
    Case {
        file: "k8s-deployment-typo.yaml",
        expect: Expect::SchemaOnly,
        fix: |d| {
            remove(d, "/spec/replica");
            at(d, "/spec")
                .as_object_mut()
                .unwrap()
                .insert("replicas".into(), json!(2));
        },
    },
    Case {
        file: "project-with-spec.yaml",
        expect: Expect::Rule(Rule::ProjectScope),
        fix: |d| remove(d, "/spec"),
    },
    Case {
        file: "projectconfig-stage-and-selector.yaml",
        expect: Expect::Rule(Rule::ProjectConfig),
        fix: |d| remove(d, "/spec/promotionPolicies/0/stageSelector"),
    },
    Case {
        file: "stage-soak-days.yaml",
        expect: Expect::Rule(Rule::Duration),
        fix: |d| *at(d, "/spec/requestedFreight/0/sources/requiredSoakTime") = json!("168h"),
    },
    Case {
        file: "stage-step-config.yaml",
        expect: Expect::SchemaOnly,
        fix: |d| {
            let config = at(d, "/spec/promotionTemplate/spec/steps/0/config");
            remove(config, "/fromFreight");
            config.as_object_mut().unwrap().insert(
                "checkout".into(),
                json!([{"branch": "main", "path": "./src"}]),
            );
        },
    },
    Case {
        file: "stage-task-step-with-config.yaml",
        expect: Expect::Rule(Rule::StageShape),
        fix: |d| {
            let step = at(d, "/spec/promotionTemplate/spec/steps/0");
            remove(step, "/config");
            step.as_object_mut()
                .unwrap()
                .insert("vars".into(), json!([{"name": "message", "value": "hi"}]));
        },
    },
    Case {
        file: "stage-unknown-field.yaml",
        expect: Expect::SchemaOnly,
        fix: |d| remove(d, "/spec/requestedFreight/0/sources/soakTime"),
    },
    Case {
        file: "stage-uses-and-task.yaml",
        expect: Expect::Rule(Rule::StageShape),
        fix: |d| remove(d, "/spec/promotionTemplate/spec/steps/0/uses"),
    },
    Case {
        file: "warehouse-bad-strategy.yaml",
        expect: Expect::Rule(Rule::ImageSubscription),
        fix: |d| {
            *at(d, "/spec/subscriptions/0/image/imageSelectionStrategy") = json!("SemVer");
        },
    },
    Case {
        file: "warehouse-interval-days.yaml",
        expect: Expect::Rule(Rule::Duration),
        fix: |d| *at(d, "/spec/interval") = json!("168h"),
    },
    Case {
        file: "warehouse-name-key-v1.12-syntax.yaml",
        expect: Expect::Rule(Rule::SubscriptionShape),
        fix: |d| remove(d, "/spec/subscriptions/0/name"),
    },
    Case {
        file: "warehouse-repourl-with-tag.yaml",
        expect: Expect::Rule(Rule::ImageSubscription),
        fix: |d| *at(d, "/spec/subscriptions/0/image/repoURL") = json!("docker.io/library/debian"),
    },
];

fn files(kind: &str) -> Option<Vec<PathBuf>> {
    let dir = common::examples_dir()?.join(kind);
    let entries = std::fs::read_dir(&dir).unwrap();
    let mut out: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    out.sort();
    Some(out)
}

fn identity(doc: &Value) -> (String, String, String) {
    let s = |p: &str| {
        doc.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}

/// `example` followed by the context objects it does not define itself.
fn with_context(example: &[Value]) -> Vec<Value> {
    let defined: BTreeSet<_> = example.iter().map(identity).collect();
    let mut docs = example.to_vec();
    docs.extend(
        parse_documents(CONTEXT)
            .unwrap()
            .into_iter()
            .filter(|d| !defined.contains(&identity(d))),
    );
    docs
}

fn rules_broken(docs: &[Value]) -> BTreeSet<Rule> {
    check_documents(docs).into_iter().map(|v| v.rule).collect()
}

/// The strict-schema layer alone: every problem of every document (`None`: no schemas, skipped).
fn schema_problems(docs: &[Value]) -> Option<Vec<String>> {
    let set = common::schemas()?;
    Some(
        docs.iter()
            .flat_map(|d| set.validate(d))
            .map(|v| v.to_string())
            .collect(),
    )
}

#[test]
fn context_is_valid() {
    let docs = parse_documents(CONTEXT).unwrap();
    assert_eq!(check_documents(&docs), vec![]);
    if let Some(problems) = schema_problems(&docs) {
        assert_eq!(problems, Vec::<String>::new());
    }
}

#[test]
fn every_invalid_example_has_a_case() {
    let Some(paths) = files("invalid") else {
        return;
    };
    let on_disk: BTreeSet<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let cases: BTreeSet<String> = CASES.iter().map(|c| c.file.to_owned()).collect();
    assert_eq!(on_disk, cases);
}

#[test]
fn invalid_examples_fail_their_intended_rule_only() {
    let Some(dir) = common::examples_dir() else {
        return;
    };
    for case in CASES {
        let text = std::fs::read_to_string(dir.join("invalid").join(case.file)).unwrap();
        let example = parse_documents(&text).unwrap();
        assert_eq!(example.len(), 1, "{}", case.file);
        let docs = with_context(&example);
        let broken = rules_broken(&docs);
        match case.expect {
            Expect::Rule(rule) => {
                assert_eq!(broken, BTreeSet::from([rule]), "{}", case.file);
                assert!(rule.number().is_some(), "{}", case.file);
            }
            Expect::SchemaOnly => {
                assert_eq!(broken, BTreeSet::new(), "{}", case.file);
                // The schema layer alone, on the example alone, rejects it.
                if let Some(problems) = schema_problems(&example) {
                    assert!(!problems.is_empty(), "{} passed the schemas", case.file);
                }
            }
        }
    }
}

#[test]
fn strict_schemas_alone_reject_unknown_fields_and_step_configs() {
    let Some(dir) = common::examples_dir() else {
        return;
    };
    let Some(set) = common::schemas() else {
        return;
    };
    for (file, pointer) in [
        (
            "stage-unknown-field.yaml",
            "/spec/requestedFreight/0/sources",
        ),
        (
            "stage-step-config.yaml",
            "/spec/promotionTemplate/spec/steps/0/config",
        ),
    ] {
        let text = std::fs::read_to_string(dir.join("invalid").join(file)).unwrap();
        let docs = parse_documents(&text).unwrap();
        let violations = set.validate(&docs[0]);
        assert!(!violations.is_empty(), "{file} passed the schemas");
        for v in &violations {
            assert!(v.pointer.starts_with(pointer), "{file}: {v}");
        }
    }
}

#[test]
fn fixing_the_intended_defect_makes_each_invalid_example_pass() {
    let Some(dir) = common::examples_dir() else {
        return;
    };
    for case in CASES {
        let text = std::fs::read_to_string(dir.join("invalid").join(case.file)).unwrap();
        let mut example = parse_documents(&text).unwrap();
        (case.fix)(&mut example[0]);
        let docs = with_context(&example);
        assert_eq!(check_documents(&docs), vec![], "{}", case.file);
        if let Some(problems) = schema_problems(&docs) {
            assert_eq!(problems, Vec::<String>::new(), "{}", case.file);
        }
    }
}

#[test]
fn invalid_examples_are_rejected_as_files() {
    // What `synth --validate` sees: the file alone, rules and schemas together.
    let Some(paths) = files("invalid") else {
        return;
    };
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !common::problems(&text).is_empty(),
            "{} was accepted",
            path.display()
        );
    }
}

#[test]
fn valid_examples_pass_together() {
    let Some(paths) = files("valid") else { return };
    let mut all = String::new();
    for path in paths {
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.ends_with(SOAK_EXAMPLE) {
            // The shared "valid" example carries the nested-map body Kargo cuts at its first
            // `}}` (pkg/expressions/json_templates.go): every promotion of that Stage would fail.
            // It is refused for that alone; with Kargo's other delimiter it passes.
            // Alone, its references to the other files dangle (rule 6).
            let problems = common::problems(&text);
            assert!(
                problems
                    .iter()
                    .filter(|p| p.contains(": expressions: "))
                    .count()
                    == 1
                    && problems
                        .iter()
                        .all(|p| p.contains(": expressions: ") || p.contains(": rule 6: ")),
                "{problems:#?}"
            );
            assert_eq!(text.matches(NESTED_BODY).count(), 1, "the example changed");
            text = text.replace(
                NESTED_BODY,
                &NESTED_BODY
                    .replace("${{", "${%")
                    .replace("}}) }}", "}}) %}"),
            );
        }
        all.push_str("---\n");
        all.push_str(&text);
        all.push('\n');
    }
    common::assert_valid(&all);
}

/// The shared valid example whose http body Kargo cannot evaluate.
const SOAK_EXAMPLE: &str = "03-stages-soak.yaml";
const NESTED_BODY: &str =
    r#"${{ quote({"ref": "main", "inputs": {"base_digest": imageFrom(vars.imageRepo).Digest}}) }}"#;
