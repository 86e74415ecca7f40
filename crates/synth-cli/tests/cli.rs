//! The `synth` binary end to end: `--validate` on the Kargo examples, generation into a factory dir
//! with state files, `--check` drift detection, exit codes, and the committed example manifest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schemas() -> Option<PathBuf> {
    testkit::shared(testkit::SharedData::KargoSchemas)
}

fn synth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synth"))
        .args(args)
        .env_remove("IMAGE_FACTORY_KARGO_SCHEMAS")
        .output()
        .unwrap()
}

#[test]
fn invalid_examples_exit_1_valid_exit_0() {
    let Some(schemas) = schemas() else { return };
    let schemas = schemas.to_string_lossy().into_owned();
    let examples = PathBuf::from(&schemas).join("../examples");
    let mut valid = Vec::new();
    for kind in ["invalid", "valid"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(examples.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for p in paths {
            if kind == "valid" && p.ends_with("03-stages-soak.yaml") {
                // Its http body nests a map in `${{ }}`: Kargo ends the expression at the first
                // `}}`, so this "valid" example fails at runtime; refused for that rule alone.
                let out = synth(&["--format", "json", "--validate", p.to_str().unwrap()]);
                assert_eq!(out.status.code(), Some(1));
                let problems: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let rules: Vec<&str> = problems
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["rule"].as_str().unwrap())
                    .collect();
                // Alone, its references to the other files dangle (rule 6).
                assert!(
                    rules.contains(&"expressions")
                        && rules.iter().all(|r| *r == "expressions" || *r == "rule 6"),
                    "{problems}"
                );
                continue;
            }
            if kind == "valid" {
                valid.push(p.to_string_lossy().into_owned());
                continue;
            }
            let out = synth(&["--schemas", &schemas, "--validate", p.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(1), "{} accepted", p.display());
            assert!(
                !out.stdout.is_empty(),
                "no problem printed for {}",
                p.display()
            );
        }
    }
    let p = examples.join("invalid/stage-soak-days.yaml");
    let out = synth(&["--format", "json", "--validate", p.to_str().unwrap()]);
    let problems: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(problems[0]["rule"], "rule 4", "{problems}");
    assert_eq!(problems[0]["document"], 1);
    let mut args = vec!["--schemas", schemas.as_str(), "--validate"];
    args.extend(valid.iter().map(String::as_str));
    let out = synth(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn nested_map_body_is_rejected_for_its_expression() {
    // Kargo ends `${{ … }}` at the first `}}`: the http body synth used to generate does not parse.
    let p = root().join("fixtures/manifests/nested-map-body.k8s.yaml");
    let out = synth(&["--format", "json", "--validate", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let problems: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(problems.as_array().map(Vec::len), Some(1), "{problems}");
    assert_eq!(problems[0]["rule"], "expressions", "{problems}");
    assert!(
        problems[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("at the first `}}`")),
        "{problems}"
    );
}

/// Writes the state of `dir` with the analyze job, from a source root holding one Dockerfile per
/// image (`FROM` each of its dependencies), so the state is what the state crate produces.
fn write_state(dir: &Path, deps: &[(&str, &str, &[&str])]) {
    let sources = dir.join("../sources");
    for (repo, dockerfile, froms) in deps {
        let path = sources.join(repo).join(dockerfile);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text: String = froms.iter().map(|f| format!("FROM {f}\n")).collect();
        std::fs::write(path, text).unwrap();
    }
    let options = factory::AnalyzeOptions {
        sources: factory::Sources::Root(sources),
        images: Vec::new(),
        build: None,
        now: model::time::Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
        commit: false,
        push: None,
        lock_timeout: std::time::Duration::from_secs(10),
        environment: factory::Environment::default(),
    };
    let report = factory::analyze(&factory::FactoryDir::load(dir), &options).unwrap();
    assert!(
        report.is_success() && report.bytes_written > 0,
        "{report:?}"
    );
}

#[test]
fn generate_check_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("factory");
    std::fs::create_dir_all(&dir).unwrap();
    let images = "- name: web\n  repository: acme/web\n  source: {repo: acme/web, dockerfile: app/Dockerfile}\n- name: api\n  repository: acme/api\n  source: {repo: acme/api}\n  autoRebuild: false\n";
    std::fs::write(dir.join("images.yaml"), images).unwrap();
    write_state(
        &dir,
        &[
            (
                "acme/web",
                "app/Dockerfile",
                &["node:22", "python:3.12-slim"],
            ),
            ("acme/api", "Dockerfile", &["ghcr.io/acme/web:1"]),
        ],
    );
    let out = tmp.path().join("dist/out.yaml");
    let (d, o) = (dir.to_str().unwrap(), out.to_str().unwrap());

    let r = synth(&["--factory-dir", d, "--check", "--out", o]);
    assert_eq!(r.status.code(), Some(1), "missing file is drift");
    let r = synth(&["--factory-dir", d, "--out", o]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("name: analyze-web") && text.contains("name: analyze-api"));
    assert!(text.contains("name: observe-node-22") && !text.contains("name: rebuild-"));
    let r = synth(&["--factory-dir", d, "--check", "--out", o]);
    assert_eq!(r.status.code(), Some(0));
    let r = synth(&["--validate", o]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );

    // Stdout and graph.
    let r = synth(&["--factory-dir", d, "--out", "-"]);
    assert_eq!(String::from_utf8(r.stdout).unwrap(), text);
    let r = synth(&["--factory-dir", d, "--graph", "mermaid"]);
    let graph = String::from_utf8(r.stdout).unwrap();
    assert!(
        graph.starts_with("flowchart LR") && graph.contains("m_web ==>|cascade| m_api"),
        "{graph}"
    );
    let r = synth(&["--factory-dir", d, "--graph", "dot"]);
    assert!(
        String::from_utf8(r.stdout)
            .unwrap()
            .contains("m_web -> m_api [label=\"cascade\"")
    );

    // --format json on every path: a report of what was written or checked, the objects as a
    // Kubernetes List, the graph's nodes and edges, the problems of --validate.
    let json = |args: &[&str]| -> (Option<i32>, serde_json::Value) {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let r = synth(&args);
        let stdout = String::from_utf8(r.stdout).unwrap();
        (
            r.status.code(),
            serde_json::from_str(&stdout).expect(&stdout),
        )
    };
    let (code, report) = json(&["--factory-dir", d, "--out", o]);
    let objects = report["objects"].as_u64().unwrap();
    assert_eq!(code, Some(0));
    assert_eq!(
        report,
        serde_json::json!({"out": o, "objects": objects, "check": false, "changed": false, "backstage": null})
    );
    let (code, report) = json(&["--factory-dir", d, "--out", o, "--check"]);
    assert_eq!(
        (code, &report["check"], &report["changed"]),
        (Some(0), &true.into(), &false.into())
    );
    let (_, list) = json(&["--factory-dir", d, "--out", "-"]);
    assert_eq!(
        (&list["kind"], &list["apiVersion"]),
        (&"List".into(), &"v1".into())
    );
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len() as u64, objects);
    assert!(
        items
            .iter()
            .any(|i| i["kind"] == "Stage" && i["metadata"]["name"] == "analyze-web")
    );
    let (_, graph) = json(&["--factory-dir", d, "--graph", "mermaid"]);
    let cascade = serde_json::json!({"from": "m_web", "to": "m_api", "kind": "cascade"});
    assert!(
        graph["edges"].as_array().unwrap().contains(&cascade),
        "{graph}"
    );
    assert!(
        graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == "m_web" && n["kind"] == "managed")
    );
    assert_eq!(json(&["--validate", o]), (Some(0), serde_json::json!([])));

    // --log-format json: every stderr line is one JSON event.
    let r = synth(&["--factory-dir", d, "--out", o, "--log-format", "json"]);
    let stderr = String::from_utf8(r.stderr).unwrap();
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    assert_eq!(events.len(), 1, "{stderr}");
    assert_eq!(events[0]["level"], "INFO");
    let message = events[0]["fields"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("synth: ") && message.contains("objects unchanged in"),
        "{message}"
    );

    // Backstage files.
    let catalog = tmp.path().join("catalog");
    let r = synth(&[
        "--factory-dir",
        d,
        "--out",
        o,
        "--backstage",
        catalog.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0));
    let web = std::fs::read_to_string(catalog.join("managedimage-web.yaml")).unwrap();
    assert!(
        web.contains("dependencyOf:") && web.contains("resource: api"),
        "{web}"
    );
    let node = std::fs::read_to_string(catalog.join("baseimage-node-22.yaml")).unwrap();
    assert!(
        node.contains("dependents:") && node.contains("resource: web"),
        "{node}"
    );

    // Drift: a changed input makes --check fail and leaves the file alone.
    std::fs::write(
        dir.join("images.yaml"),
        images.replace(
            "source: {repo: acme/api}",
            "source: {repo: acme/api, branch: dev}",
        ),
    )
    .unwrap();
    let r = synth(&["--factory-dir", d, "--check", "--out", o]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    let (code, report) = json(&["--factory-dir", d, "--check", "--out", o]);
    assert_eq!((code, &report["changed"]), (Some(1), &true.into()));

    // Configuration error: exit 2, nothing written.
    std::fs::write(dir.join("images.yaml"), "- name: Web\n").unwrap();
    std::fs::remove_file(&out).unwrap();
    let r = synth(&["--factory-dir", d, "--out", o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(!out.exists());
    // Rendered like `analyzer validate`: the location once, under the message.
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        stderr.contains("error: image name `Web` is not a DNS-1123 label"),
        "{stderr}"
    );
    let location = format!("--> {}:1:9\n", dir.join("images.yaml").display());
    assert_eq!(stderr.matches(":1:9").count(), 1, "{stderr}");
    assert!(stderr.contains(&location), "{stderr}");
    assert!(stderr.ends_with("nothing written\n"), "{stderr}");
    let r = synth(&["--factory-dir", d, "--out", o, "--log-format", "json"]);
    assert_eq!(r.status.code(), Some(2));
    let stderr = String::from_utf8(r.stderr).unwrap();
    for line in stderr.lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect(line);
        assert_eq!(event["level"], "ERROR", "{line}");
    }
    assert!(stderr.contains("DNS-1123") && !out.exists(), "{stderr}");

    // A dangling base id in state: exit 1, nothing written.
    std::fs::write(dir.join("images.yaml"), images).unwrap();
    std::fs::remove_file(dir.join("state/base-images/node-22.yaml")).unwrap();
    let r = synth(&["--factory-dir", d, "--out", o]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("node-22"));
    assert!(!out.exists());
}

#[test]
fn committed_example_manifest_is_up_to_date() {
    let r = Command::new(env!("CARGO_BIN_EXE_synth"))
        .current_dir(root())
        .args([
            "--factory-dir",
            "image-factory",
            "--check",
            "--out",
            "dist/image-factory.k8s.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "dist/image-factory.k8s.yaml is out of date: run `cargo xtask synth --write`\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn help_has_examples() {
    let r = synth(&["--help"]);
    let help = String::from_utf8(r.stdout).unwrap();
    assert!(help.contains("Examples:") && help.contains("--validate"));
}

#[test]
fn version_names_the_binary_and_the_commit() {
    let r = synth(&["--version"]);
    let version = String::from_utf8(r.stdout).unwrap();
    let prefix = format!("synth {} (", env!("CARGO_PKG_VERSION"));
    assert!(
        version.starts_with(&prefix) && version.ends_with(")\n"),
        "{version}"
    );
}
