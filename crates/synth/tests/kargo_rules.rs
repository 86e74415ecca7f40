//! One test per Kargo admission rule of `../shared/kargo/README.md` (and per image-factory rule of
//! SPEC §8.2): a minimal manifest that touches every rule passes every check (and the strict JSON
//! Schemas, when available); each mutation breaks one rule and must be reported with exactly that
//! rule and no other, so a rule that stopped firing, or fired for the wrong reason, fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use image_factory_synth::check::{Rule, check_documents};
use image_factory_synth::parse_documents;
use serde_json::{Value, json};

/// Every kind the rules look at, each field a rule constrains present and valid.
const MINIMAL: &str = r#"
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: p}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: p, namespace: p}
spec:
  promotionPolicies:
  - stageSelector: {name: rebuild}
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: w, namespace: p}
spec:
  interval: 24h
  freightCreationCriteria:
    expression: "imageFrom('docker.io/library/debian').Tag != ''"
  subscriptions:
  - image: {repoURL: docker.io/library/debian, imageSelectionStrategy: Digest, constraint: "12", discoveryLimit: 5}
  - image: {repoURL: ghcr.io/acme/tool, imageSelectionStrategy: SemVer, constraint: ">=1.2.0 <2"}
  - git: {repoURL: "https://github.com/acme/app.git", branch: main}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: soak, namespace: p}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: http
        as: probe
        config:
          method: GET
          url: "https://example.com/health"
          successExpression: response.status == 200
          failureExpression: response.status >= 500
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: rebuild, namespace: p}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources:
      stages: [soak]
      requiredSoakTime: 168h
      autoPromotionOptions: {selectionPolicy: MatchUpstream}
  promotionTemplate:
    spec:
      steps:
      - task: {name: notify}
        as: tell
        vars:
        - {name: message, value: rebuilt}
  verification:
    analysisTemplates:
    - name: smoke
    args:
    - name: digest
      value: "${{ imageFrom('docker.io/library/debian').Digest }}"
---
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: notify, namespace: p}
spec:
  vars:
  - name: message
  steps:
  - uses: compose-output
    as: out
    config:
      text: "${{ vars.message }}"
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: smoke, namespace: p}
spec:
  args:
  - name: digest
  metrics:
  - name: smoke
    interval: 1m
    count: 1
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: test
                image: alpine:3.20
                command: [sh, -c, "echo {{args.digest}}"]
"#;

fn minimal() -> Vec<Value> {
    parse_documents(MINIMAL).unwrap()
}

/// The document of `kind` named `name`.
fn doc<'a>(docs: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    docs.iter_mut()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

/// The value at `pointer` of the document of `kind` named `name`.
fn at<'a>(docs: &'a mut [Value], kind: &str, name: &str, pointer: &str) -> &'a mut Value {
    doc(docs, kind, name)
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} not in {kind}/{name}"))
}

fn insert(target: &mut Value, key: &str, value: Value) {
    target
        .as_object_mut()
        .unwrap()
        .insert(key.to_owned(), value);
}

fn push(target: &mut Value, value: Value) {
    target.as_array_mut().unwrap().push(value);
}

type Mutation = (&'static str, fn(&mut Vec<Value>));

/// Each mutation of [`MINIMAL`] breaks `rule` and nothing else.
fn assert_each_breaks_only(rule: Rule, mutations: &[Mutation]) {
    for (what, mutate) in mutations {
        let mut docs = minimal();
        mutate(&mut docs);
        let violations = check_documents(&docs);
        let rules: BTreeSet<Rule> = violations.iter().map(|v| v.rule).collect();
        assert_eq!(
            rules,
            BTreeSet::from([rule]),
            "{what}: {:#?}",
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn minimal_manifest_passes_rules_and_schemas() {
    let docs = minimal();
    assert_eq!(check_documents(&docs), vec![]);
    common::assert_valid(MINIMAL);
}

#[test]
fn rule_1_subscription_has_exactly_one_source_key() {
    assert_each_breaks_only(
        Rule::SubscriptionShape,
        &[
            ("`name` sibling (v1.12 syntax)", |d| {
                insert(
                    at(d, "Warehouse", "w", "/spec/subscriptions/0"),
                    "name",
                    json!("base"),
                );
            }),
            ("two source keys", |d| {
                insert(
                    at(d, "Warehouse", "w", "/spec/subscriptions/2"),
                    "chart",
                    json!({"repoURL": "oci://ghcr.io/acme/chart"}),
                );
            }),
            ("not a mapping", |d| {
                push(
                    at(d, "Warehouse", "w", "/spec/subscriptions"),
                    json!("docker.io/library/alpine"),
                );
            }),
        ],
    );
}

#[test]
fn rule_2_no_two_subscriptions_share_a_normalized_repo_url() {
    assert_each_breaks_only(
        Rule::DuplicateRepoUrl,
        &[
            ("familiar and canonical image name", |d| {
                push(
                    at(d, "Warehouse", "w", "/spec/subscriptions"),
                    json!({"image": {"repoURL": "debian", "imageSelectionStrategy": "Digest", "constraint": "13"}}),
                );
            }),
            ("git URL with and without .git", |d| {
                push(
                    at(d, "Warehouse", "w", "/spec/subscriptions"),
                    json!({"git": {"repoURL": "https://github.com/acme/app", "branch": "dev"}}),
                );
            }),
        ],
    );
}

#[test]
fn rule_3_image_subscription_fields() {
    assert_each_breaks_only(
        Rule::ImageSubscription,
        &[
            ("Digest without constraint", |d| {
                at(d, "Warehouse", "w", "/spec/subscriptions/0/image")
                    .as_object_mut()
                    .unwrap()
                    .remove("constraint");
            }),
            ("Digest with an empty constraint", |d| {
                *at(
                    d,
                    "Warehouse",
                    "w",
                    "/spec/subscriptions/0/image/constraint",
                ) = json!(" ");
            }),
            ("SemVer constraint that does not parse", |d| {
                *at(
                    d,
                    "Warehouse",
                    "w",
                    "/spec/subscriptions/1/image/constraint",
                ) = json!(">=1.2.3.4");
            }),
            ("unknown strategy", |d| {
                *at(
                    d,
                    "Warehouse",
                    "w",
                    "/spec/subscriptions/1/image/imageSelectionStrategy",
                ) = json!("Latest");
            }),
            ("allowTags", |d| {
                insert(
                    at(d, "Warehouse", "w", "/spec/subscriptions/1/image"),
                    "allowTags",
                    json!("^v1"),
                );
            }),
            ("ignoreTags", |d| {
                insert(
                    at(d, "Warehouse", "w", "/spec/subscriptions/1/image"),
                    "ignoreTags",
                    json!(["latest"]),
                );
            }),
            ("repoURL with a tag", |d| {
                *at(d, "Warehouse", "w", "/spec/subscriptions/0/image/repoURL") =
                    json!("docker.io/library/debian:12");
            }),
            ("repoURL with a digest", |d| {
                *at(d, "Warehouse", "w", "/spec/subscriptions/0/image/repoURL") = json!(
                    "docker.io/library/debian@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                );
            }),
            ("repoURL Kargo's pattern rejects", |d| {
                *at(d, "Warehouse", "w", "/spec/subscriptions/1/image/repoURL") =
                    json!("ghcr.io/acme/a--b");
            }),
            ("discoveryLimit 0", |d| {
                *at(
                    d,
                    "Warehouse",
                    "w",
                    "/spec/subscriptions/0/image/discoveryLimit",
                ) = json!(0);
            }),
            ("discoveryLimit 101", |d| {
                *at(
                    d,
                    "Warehouse",
                    "w",
                    "/spec/subscriptions/0/image/discoveryLimit",
                ) = json!(101);
            }),
        ],
    );
}

#[test]
fn rule_4_durations_have_no_days() {
    assert_each_breaks_only(
        Rule::Duration,
        &[
            ("Warehouse interval", |d| {
                *at(d, "Warehouse", "w", "/spec/interval") = json!("7d");
            }),
            ("requiredSoakTime", |d| {
                *at(
                    d,
                    "Stage",
                    "rebuild",
                    "/spec/requestedFreight/0/sources/requiredSoakTime",
                ) = json!("1d");
            }),
            ("metric interval", |d| {
                *at(d, "AnalysisTemplate", "smoke", "/spec/metrics/0/interval") = json!("1d");
            }),
            ("metric initialDelay", |d| {
                insert(
                    at(d, "AnalysisTemplate", "smoke", "/spec/metrics/0"),
                    "initialDelay",
                    json!("7 days"),
                );
            }),
        ],
    );
}

#[test]
fn rule_5_requested_freight_and_step_shape() {
    assert_each_breaks_only(
        Rule::StageShape,
        &[
            ("origin requested twice", |d| {
                push(
                    at(d, "Stage", "soak", "/spec/requestedFreight"),
                    json!({"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"direct": true}}),
                );
            }),
            ("MatchUpstream with direct: true", |d| {
                insert(
                    at(d, "Stage", "rebuild", "/spec/requestedFreight/0/sources"),
                    "direct",
                    json!(true),
                );
            }),
            ("MatchUpstream with two upstream Stages", |d| {
                let mut other = doc(d, "Stage", "soak").clone();
                other["metadata"]["name"] = json!("soak-2");
                d.push(other);
                push(
                    at(
                        d,
                        "Stage",
                        "rebuild",
                        "/spec/requestedFreight/0/sources/stages",
                    ),
                    json!("soak-2"),
                );
            }),
            ("neither direct nor upstream", |d| {
                *at(d, "Stage", "soak", "/spec/requestedFreight/0/sources") = json!({});
            }),
            ("reserved alias step-N", |d| {
                *at(
                    d,
                    "Stage",
                    "soak",
                    "/spec/promotionTemplate/spec/steps/0/as",
                ) = json!("step-1");
            }),
            ("reserved alias task-N", |d| {
                *at(d, "PromotionTask", "notify", "/spec/steps/0/as") = json!("task-0");
            }),
            ("alias used twice", |d| {
                let steps = at(d, "Stage", "soak", "/spec/promotionTemplate/spec/steps");
                let again = steps[0].clone();
                push(steps, again);
            }),
            ("task step with `if`", |d| {
                insert(
                    at(
                        d,
                        "Stage",
                        "rebuild",
                        "/spec/promotionTemplate/spec/steps/0",
                    ),
                    "if",
                    json!("${{ true }}"),
                );
            }),
            ("task step with `config`", |d| {
                insert(
                    at(
                        d,
                        "Stage",
                        "rebuild",
                        "/spec/promotionTemplate/spec/steps/0",
                    ),
                    "config",
                    json!({"message": "hi"}),
                );
            }),
            ("both `uses` and `task`", |d| {
                insert(
                    at(
                        d,
                        "Stage",
                        "rebuild",
                        "/spec/promotionTemplate/spec/steps/0",
                    ),
                    "uses",
                    json!("compose-output"),
                );
            }),
            ("neither `uses` nor `task`", |d| {
                at(d, "PromotionTask", "notify", "/spec/steps/0")
                    .as_object_mut()
                    .unwrap()
                    .remove("uses");
            }),
        ],
    );
}

#[test]
fn rule_6_references_exist() {
    assert_each_breaks_only(
        Rule::DanglingReference,
        &[
            ("origin Warehouse", |d| {
                *at(d, "Stage", "soak", "/spec/requestedFreight/0/origin/name") = json!("gone");
            }),
            ("upstream Stage", |d| {
                *at(
                    d,
                    "Stage",
                    "rebuild",
                    "/spec/requestedFreight/0/sources/stages/0",
                ) = json!("gone");
            }),
            ("PromotionTask", |d| {
                *at(
                    d,
                    "Stage",
                    "rebuild",
                    "/spec/promotionTemplate/spec/steps/0/task/name",
                ) = json!("gone");
            }),
            ("ClusterPromotionTask", |d| {
                insert(
                    at(
                        d,
                        "Stage",
                        "rebuild",
                        "/spec/promotionTemplate/spec/steps/0/task",
                    ),
                    "kind",
                    json!("ClusterPromotionTask"),
                );
            }),
            ("AnalysisTemplate", |d| {
                *at(
                    d,
                    "Stage",
                    "rebuild",
                    "/spec/verification/analysisTemplates/0/name",
                ) = json!("gone");
            }),
            ("ClusterAnalysisTemplate", |d| {
                insert(
                    at(
                        d,
                        "Stage",
                        "rebuild",
                        "/spec/verification/analysisTemplates/0",
                    ),
                    "kind",
                    json!("ClusterAnalysisTemplate"),
                );
            }),
            ("object of another Project's namespace", |d| {
                let mut project = doc(d, "Project", "p").clone();
                project["metadata"]["name"] = json!("q");
                d.push(project);
                let mut w = doc(d, "Warehouse", "w").clone();
                w["metadata"]["name"] = json!("w-q");
                w["metadata"]["namespace"] = json!("q");
                d.push(w);
                *at(d, "Stage", "soak", "/spec/requestedFreight/0/origin/name") = json!("w-q");
            }),
        ],
    );
}

#[test]
fn rule_6_stage_graph_is_acyclic() {
    assert_each_breaks_only(
        Rule::StageCycle,
        &[("soak takes Freight from rebuild", |d| {
            *at(d, "Stage", "soak", "/spec/requestedFreight/0/sources") =
                json!({"stages": ["rebuild"]});
        })],
    );
    let mut docs = minimal();
    *at(
        &mut docs,
        "Stage",
        "soak",
        "/spec/requestedFreight/0/sources",
    ) = json!({"stages": ["rebuild"]});
    let cycle: Vec<String> = check_documents(&docs)
        .iter()
        .map(|v| v.message.clone())
        .collect();
    assert_eq!(cycle, ["Stage cycle: rebuild → soak → rebuild"]);
}

#[test]
fn rule_7_project_config() {
    assert_each_breaks_only(
        Rule::ProjectConfig,
        &[
            ("name differs from its namespace", |d| {
                *at(d, "ProjectConfig", "p", "/metadata/namespace") = json!("q");
                let mut project = doc(d, "Project", "p").clone();
                project["metadata"]["name"] = json!("q");
                d.push(project);
            }),
            ("no Project of that name", |d| {
                // In a Project's namespace (so rule 8 holds), named after no Project.
                *at(d, "ProjectConfig", "p", "/metadata/name") = json!("q");
            }),
            ("policy with both stage and stageSelector", |d| {
                insert(
                    at(d, "ProjectConfig", "p", "/spec/promotionPolicies/0"),
                    "stage",
                    json!("rebuild"),
                );
            }),
            ("policy with neither stage nor stageSelector", |d| {
                at(d, "ProjectConfig", "p", "/spec/promotionPolicies/0")
                    .as_object_mut()
                    .unwrap()
                    .remove("stageSelector");
            }),
        ],
    );
}

#[test]
fn rule_8_project_scope() {
    assert_each_breaks_only(
        Rule::ProjectScope,
        &[
            ("Project with spec", |d| {
                insert(
                    doc(d, "Project", "p"),
                    "spec",
                    json!({"promotionPolicies": []}),
                );
            }),
            ("namespaced Project", |d| {
                insert(at(d, "Project", "p", "/metadata"), "namespace", json!("p"));
            }),
            ("Warehouse outside any Project's namespace", |d| {
                let mut w = doc(d, "Warehouse", "w").clone();
                w["metadata"]["namespace"] = json!("elsewhere");
                d.push(w);
            }),
            ("PromotionTask without a namespace", |d| {
                let mut t = doc(d, "PromotionTask", "notify").clone();
                t["metadata"] = json!({"name": "loose"});
                d.push(t);
            }),
        ],
    );
}

#[test]
fn rule_9_verification_args() {
    assert_each_breaks_only(
        Rule::VerificationArgs,
        &[
            ("Stage passes an arg the template does not declare", |d| {
                push(
                    at(d, "Stage", "rebuild", "/spec/verification/args"),
                    json!({"name": "tag", "value": "1"}),
                );
            }),
            ("template uses an undeclared arg", |d| {
                *at(
                    d,
                    "AnalysisTemplate",
                    "smoke",
                    "/spec/metrics/0/provider/job/spec/template/spec/containers/0/command/2",
                ) = json!("echo {{args.tag}}");
            }),
            ("template uses Kargo's ${{ }}", |d| {
                *at(
                    d,
                    "AnalysisTemplate",
                    "smoke",
                    "/spec/metrics/0/provider/job/spec/template/spec/containers/0/command/2",
                ) = json!("echo ${{ args.digest }}");
            }),
        ],
    );
}

#[test]
fn rule_10_metric_names_fit_job_names() {
    assert_each_breaks_only(
        Rule::MetricName,
        &[("25-character metric name", |d| {
            *at(d, "AnalysisTemplate", "smoke", "/spec/metrics/0/name") =
                json!("a-metric-name-of-25-chars");
        })],
    );
    // 24 characters is the limit, not an error.
    let mut docs = minimal();
    *at(
        &mut docs,
        "AnalysisTemplate",
        "smoke",
        "/spec/metrics/0/name",
    ) = json!("metric-name-of-24-chars-");
    assert_eq!(check_documents(&docs), vec![], "24 characters are allowed");
}

#[test]
fn rule_11_kargo_expressions_are_bare() {
    assert_each_breaks_only(
        Rule::BareExpression,
        &[
            ("http successExpression", |d| {
                *at(
                    d,
                    "Stage",
                    "soak",
                    "/spec/promotionTemplate/spec/steps/0/config/successExpression",
                ) = json!("${{ response.status == 200 }}");
            }),
            ("http failureExpression", |d| {
                *at(
                    d,
                    "Stage",
                    "soak",
                    "/spec/promotionTemplate/spec/steps/0/config/failureExpression",
                ) = json!("${{ response.status >= 500 }}");
            }),
            ("freightCreationCriteria.expression", |d| {
                *at(
                    d,
                    "Warehouse",
                    "w",
                    "/spec/freightCreationCriteria/expression",
                ) = json!("${{ imageFrom('docker.io/library/debian').Tag != '' }}");
            }),
        ],
    );
}

#[test]
fn rule_12_control_flow_stages_hold_no_freight() {
    assert_each_breaks_only(
        Rule::ControlFlowStage,
        &[
            ("verified Stage without steps", |d| {
                *at(d, "Stage", "rebuild", "/spec/promotionTemplate/spec/steps") = json!([]);
            }),
            ("verified Stage without promotionTemplate", |d| {
                doc(d, "Stage", "rebuild")["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("promotionTemplate");
            }),
        ],
    );
}

#[test]
fn own_rules_names_expressions_steps_structure() {
    assert_each_breaks_only(
        Rule::Names,
        &[
            ("upper-case Stage name", |d| {
                let mut s = doc(d, "Stage", "soak").clone();
                s["metadata"]["name"] = json!("Soak");
                d.push(s);
            }),
            ("Warehouse name of 64 characters", |d| {
                let mut w = doc(d, "Warehouse", "w").clone();
                w["metadata"]["name"] = json!("w".repeat(64));
                d.push(w);
            }),
        ],
    );
    assert_each_breaks_only(
        Rule::Expressions,
        &[
            ("unclosed ${{", |d| {
                *at(d, "PromotionTask", "notify", "/spec/steps/0/config/text") =
                    json!("${{ vars.message");
            }),
            ("empty ${{ }}", |d| {
                *at(d, "PromotionTask", "notify", "/spec/steps/0/config/text") = json!("${{ }}");
            }),
            ("nested map: Kargo ends ${{ at the first }}", |d| {
                *at(d, "PromotionTask", "notify", "/spec/steps/0/config/text") =
                    json!(r#"${{ quote({"a": {"b": vars.message}}) }}"#);
            }),
            ("expression that does not parse", |d| {
                *at(d, "PromotionTask", "notify", "/spec/steps/0/config/text") =
                    json!("${{ vars.message + }}");
            }),
            ("http successExpression that does not parse", |d| {
                *at(
                    d,
                    "Stage",
                    "soak",
                    "/spec/promotionTemplate/spec/steps/0/config/successExpression",
                ) = json!("response.status = 200");
            }),
            (
                "freightCreationCriteria.expression that does not parse",
                |d| {
                    *at(
                        d,
                        "Warehouse",
                        "w",
                        "/spec/freightCreationCriteria/expression",
                    ) = json!("imageFrom('docker.io/library/debian').Tag != '");
                },
            ),
        ],
    );
    assert_each_breaks_only(
        Rule::UnknownStep,
        &[("Kargo Enterprise step", |d| {
            *at(d, "PromotionTask", "notify", "/spec/steps/0/uses") =
                json!("gha-dispatch-workflow");
        })],
    );
    assert_each_breaks_only(
        Rule::Structure,
        &[("document without kind", |d| {
            d.push(json!({"apiVersion": "v1", "metadata": {"name": "x"}}));
        })],
    );
}

#[test]
fn every_readme_rule_has_a_test() {
    // The README rule numbers these tests cover (rule 6 twice: references and cycles).
    let covered: BTreeSet<u8> = [
        Rule::SubscriptionShape,
        Rule::DuplicateRepoUrl,
        Rule::ImageSubscription,
        Rule::Duration,
        Rule::StageShape,
        Rule::DanglingReference,
        Rule::StageCycle,
        Rule::ProjectConfig,
        Rule::ProjectScope,
        Rule::VerificationArgs,
        Rule::MetricName,
        Rule::BareExpression,
        Rule::ControlFlowStage,
    ]
    .into_iter()
    .filter_map(Rule::number)
    .collect();
    assert_eq!(covered, (1..=12).collect());
}

#[test]
fn rule_11_step_config_is_yaml_before_expressions() {
    // Unquoted, an expression holding `: ` is not YAML: the manifest is refused at parsing, with the
    // line of the value; quoted, it is a string and passes.
    let step = |body: &str| {
        MINIMAL.replace(
            "          failureExpression: response.status >= 500\n",
            &format!(
                "          failureExpression: response.status >= 500\n          body: {body}\n"
            ),
        )
    };
    let unquoted = step(r#"${{ quote({"text": vars.message}) }}"#);
    let err = parse_documents(&unquoted).unwrap_err();
    let line = unquoted.lines().position(|l| l.contains("body: ")).unwrap() as u64 + 1;
    assert_eq!(err.line, Some(line), "{err}");
    let quoted = step(r#"'${{ quote({"text": vars.message}) }}'"#);
    assert_eq!(check_documents(&parse_documents(&quoted).unwrap()), vec![]);
    common::assert_valid(&quoted);
}
