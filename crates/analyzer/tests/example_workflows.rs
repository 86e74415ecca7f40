//! The CI files users copy (`examples/`) and this repository's own (`.github/workflows/`):
//! - each validates against the GitHub workflow or GitLab CI JSON Schema (`shared/ci-schemas/`);
//! - the example build pipelines accept exactly what `analyzer trigger` sends: the real binary
//!   dispatches the images of `examples/images.yaml` to 127.0.0.1 stand-ins for GitHub and GitLab,
//!   and every input / variable it sent must be declared by the example (required ones sent),
//!   the pin lines must reach `build-contexts`;
//! - every `analyzer` command line in them uses a subcommand and flags the binary accepts (the
//!   `synth` ones: `crates/synth-cli/tests/cli.rs`), and the analyzer image they run is this
//!   version's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    testkit::workspace_root()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `*.yml` files directly in `dir`, sorted.
fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

fn github_files() -> Vec<PathBuf> {
    let mut files = yml_files(&root().join("examples/github"));
    files.extend(yml_files(&root().join(".github/workflows")));
    files
}

fn gitlab_files() -> Vec<PathBuf> {
    yml_files(&root().join("examples/gitlab"))
}

fn names(files: &[PathBuf]) -> BTreeSet<String> {
    files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_workflow_validates_against_its_ci_schema() {
    let github = github_files();
    let gitlab = gitlab_files();
    // The files the docs promise, so a missing directory cannot pass by validating nothing.
    for expected in ["build-image.yml", "rebuild.yml", "synth.yml", "ci.yml"] {
        assert!(names(&github).contains(expected), "{expected} missing");
    }
    for expected in ["build-image.gitlab-ci.yml", "state-repo.gitlab-ci.yml"] {
        assert!(names(&gitlab).contains(expected), "{expected} missing");
    }
    let mut problems = Vec::new();
    for file in &github {
        for p in testkit::ci_schema::github_workflow_problems(&read(file)) {
            problems.push(format!("{}: {p}", file.display()));
        }
    }
    for file in &gitlab {
        for p in testkit::ci_schema::gitlab_ci_problems(&read(file)) {
            problems.push(format!("{}: {p}", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_schema_check_refuses_broken_workflows() {
    let Some(_) = testkit::shared(testkit::SharedData::CiSchemas) else {
        return;
    };
    let github = read(&root().join("examples/github/build-image.yml"));
    let broken = github.replacen("runs-on:", "run-on:", 1);
    assert_ne!(broken, github);
    assert!(!testkit::ci_schema::github_workflow_problems(&broken).is_empty());
    let gitlab = read(&root().join("examples/gitlab/build-image.gitlab-ci.yml"));
    let broken = gitlab.replacen("  script:", "  scripts:", 1);
    assert_ne!(broken, gitlab);
    assert!(!testkit::ci_schema::gitlab_ci_problems(&broken).is_empty());
}

/// `analyzer` with a clean environment (no token of the caller's leaks in) plus `env`.
fn analyzer(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_analyzer"));
    command.args(args);
    for var in [
        "GITHUB_TOKEN",
        "GITHUB_TOKEN_FILE",
        "GITLAB_TOKEN",
        "GITLAB_TRIGGER_TOKEN",
        "GITLAB_TRIGGER_TOKEN_FILE",
        "SOURCE_DATE_EPOCH",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn run_ok(args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = analyzer(args, env);
    assert_eq!(out.status.code(), Some(0), "analyzer {args:?}: {out:?}");
    out
}

/// A base the example images build FROM, and a stage reached by `COPY --from`.
const DOCKERFILE: &str = "ARG NODE_VERSION=22\n\
    FROM node:${NODE_VERSION}-bookworm-slim AS build\n\
    RUN echo built > /out\n\
    FROM debian:bookworm-slim\n\
    COPY --from=build /out /out\n";

/// What the stand-ins saw when `analyzer trigger` dispatched the images of `examples/images.yaml`.
struct Dispatches {
    github: testkit::http::Seen,
    gitlab: testkit::http::Seen,
    /// The enrolment, as the example writes it.
    images: Value,
}

/// A factory dir whose images.yaml is `examples/images.yaml`, analyzed, each base seen twice
/// (a baseline, then an update), then `trigger` after the rebuild delay.
fn dispatch_the_examples() -> Dispatches {
    let (github_port, github_seen) = testkit::http::stand_in(4, |_, _, port| {
        let body = format!(
            r#"{{"workflow_run_id":1,"run_url":"http://127.0.0.1:{port}/run/1","html_url":"https://github.com/acme/my-app/actions/runs/1"}}"#
        );
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            body,
        )
    });
    let (gitlab_port, gitlab_seen) = testkit::http::stand_in(4, |_, _, _| {
        let body = r#"{"id":1,"web_url":"https://gitlab.com/acme/my-service/-/pipelines/1"}"#;
        (
            201,
            vec![("Content-Type".into(), "application/json".into())],
            body.to_owned(),
        )
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("factory");
    fs::create_dir_all(&dir).unwrap();
    let images_path = root().join("examples/images.yaml");
    fs::copy(&images_path, dir.join("images.yaml")).unwrap();
    fs::write(
        dir.join("factory.yaml"),
        format!(
            "ci:\n  githubApi: http://127.0.0.1:{github_port}\n  gitlabApi: http://127.0.0.1:{gitlab_port}/api/v4\n"
        ),
    )
    .unwrap();
    let images = yaml(&images_path);
    let sources = tmp.path().join("sources");
    for image in images.as_array().unwrap() {
        let source = &image["source"];
        let repo = source["repo"].as_str().unwrap();
        let file = source["dockerfile"].as_str().unwrap_or("Dockerfile");
        let path = sources.join(repo).join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, DOCKERFILE).unwrap();
    }
    let factory = dir.to_str().unwrap();
    run_ok(
        &[
            "analyze",
            "--factory-dir",
            factory,
            "--source-root",
            sources.to_str().unwrap(),
            "--now",
            "2026-01-01T00:00:00Z",
        ],
        &[],
    );
    let mut bases: Vec<String> = fs::read_dir(dir.join("state/base-images"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    bases.sort();
    assert_eq!(bases.len(), 2, "{bases:?}");
    for (fill, now) in [('a', "2026-01-01T00:00:00Z"), ('b', "2026-01-02T00:00:00Z")] {
        for base in &bases {
            let digest = format!("sha256:{}", fill.to_string().repeat(64));
            run_ok(
                &[
                    "observe",
                    "--factory-dir",
                    factory,
                    "--base",
                    base,
                    "--digest",
                    &digest,
                    "--now",
                    now,
                ],
                &[],
            );
        }
    }
    // The default rebuild delay (7d) has passed.
    run_ok(
        &[
            "trigger",
            "--factory-dir",
            factory,
            "--now",
            "2026-01-10T00:00:00Z",
        ],
        &[
            ("GITHUB_TOKEN", "ghp-example"),
            ("GITLAB_TRIGGER_TOKEN", "glptt-example"),
        ],
    );
    let single = |seen: &std::sync::Mutex<Vec<testkit::http::Seen>>| {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        seen[0].clone()
    };
    Dispatches {
        github: single(&github_seen),
        gitlab: single(&gitlab_seen),
        images,
    }
}

/// The enrolment of the image built on `provider`.
fn entry<'a>(images: &'a Value, provider: &str) -> &'a Value {
    images
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"]["provider"].as_str().unwrap_or("github") == provider)
        .unwrap_or_else(|| panic!("examples/images.yaml has no {provider} image"))
}

/// The pin lines `trigger` sends: `<name>=docker-image://<repository>@<digest>`, the soaked digest.
fn assert_pin_lines(value: &str) {
    let lines: Vec<&str> = value.lines().collect();
    assert_eq!(lines.len(), 2, "{value}");
    for line in lines {
        let (name, target) = line.split_once('=').unwrap();
        assert!(!name.is_empty(), "{line}");
        let (repository, digest) = target
            .strip_prefix("docker-image://")
            .and_then(|t| t.split_once('@'))
            .unwrap_or_else(|| panic!("not a docker-image context: {line}"));
        assert!(name.starts_with(repository), "{line}");
        assert_eq!(digest, format!("sha256:{}", "b".repeat(64)), "{line}");
    }
}

#[test]
fn trigger_sends_what_the_example_build_pipelines_accept() {
    let seen = dispatch_the_examples();

    // GitHub: `workflow_dispatch` of examples/github/build-image.yml.
    let app = entry(&seen.images, "github");
    let workflow_file = app["source"]["workflow"].as_str().unwrap();
    let workflow_path = root().join("examples/github").join(workflow_file);
    assert!(
        workflow_path.is_file(),
        "{} missing",
        workflow_path.display()
    );
    assert_eq!(
        seen.github.path,
        format!(
            "/repos/{}/actions/workflows/{workflow_file}/dispatches",
            app["source"]["repo"].as_str().unwrap()
        )
    );
    let body: Value = serde_json::from_str(&seen.github.body).unwrap();
    assert_eq!(body["ref"], "main");
    let sent = body["inputs"].as_object().unwrap();
    let workflow = yaml(&workflow_path);
    let declared = workflow["on"]["workflow_dispatch"]["inputs"]
        .as_object()
        .expect("build-image.yml declares workflow_dispatch inputs");
    for (name, value) in sent {
        let input = declared
            .get(name)
            .unwrap_or_else(|| panic!("trigger sends input {name:?}, build-image.yml lacks it"));
        let value = value.as_str().unwrap();
        match input["type"].as_str().unwrap_or("string") {
            "boolean" => assert!(value == "true" || value == "false", "{name}={value}"),
            "choice" => assert!(
                input["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o == value),
                "{name}={value}"
            ),
            _ => {}
        }
    }
    for (name, input) in declared {
        if input["required"].as_bool() == Some(true) {
            assert!(sent.contains_key(name), "required input {name} not sent");
        }
    }
    // The pin input carries the soaked digests straight into `build-contexts`.
    let pin = app["source"]["pinInput"].as_str().unwrap();
    assert_pin_lines(sent[pin].as_str().unwrap());
    let steps: Vec<&Value> = workflow["jobs"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|job| job["steps"].as_array().unwrap())
        .collect();
    let build = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("docker/build-push-action@"))
        })
        .expect("build-image.yml builds with docker/build-push-action");
    assert_eq!(
        build["with"]["build-contexts"],
        format!("${{{{ inputs.{pin} }}}}")
    );

    // GitLab: the pipeline trigger of examples/gitlab/build-image.gitlab-ci.yml.
    let service = entry(&seen.images, "gitlab");
    let project = service["source"]["repo"].as_str().unwrap();
    assert_eq!(
        seen.gitlab.path,
        format!(
            "/api/v4/projects/{}/trigger/pipeline",
            project.replace('/', "%2F")
        )
    );
    let form: BTreeMap<String, String> = form_urlencoded::parse(seen.gitlab.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form.get("ref").map(String::as_str), Some("main"));
    let variables: BTreeMap<&str, &str> = form
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("variables[")?.strip_suffix(']')?;
            Some((name, v.as_str()))
        })
        .collect();
    let pipeline_path = root().join("examples/gitlab/build-image.gitlab-ci.yml");
    let pipeline_text = read(&pipeline_path);
    let pipeline = yaml(&pipeline_path);
    let defaults = pipeline["variables"].as_object().unwrap();
    let pin = service["source"]["pinInput"].as_str().unwrap();
    assert!(variables.contains_key(pin), "{variables:?}");
    for (name, value) in &variables {
        assert!(
            defaults.contains_key(*name),
            "trigger sends variable {name}, the pipeline does not declare it"
        );
        assert!(
            pipeline_text.contains(&format!("${name}"))
                || pipeline_text.contains(&format!("${{{name}}}")),
            "the pipeline never uses {name}"
        );
        if *name == pin {
            assert_pin_lines(value);
        }
    }
    // A triggered pipeline is created at all only when the workflow rules let triggers in.
    let rules = pipeline["workflow"]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["if"] == r#"$CI_PIPELINE_SOURCE == "trigger""#),
        "{rules:?}"
    );
}

/// Every shell command of a workflow: GitHub `run`, GitLab `script`/`before_script`.
fn scripts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("run", Value::String(s)) => out.push(s.clone()),
                    ("script" | "before_script" | "after_script", Value::Array(lines)) => {
                        out.extend(lines.iter().filter_map(|l| l.as_str().map(str::to_owned)))
                    }
                    _ => scripts(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| scripts(i, out)),
        _ => {}
    }
}

/// `(subcommand, flags)` of each `analyzer …` command line in `script`.
fn commands(script: &str) -> Vec<(Option<String>, Vec<String>)> {
    let script = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in script.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            let at_command = i == 0 || ["||", "&&", ";", "|", "then", "do"].contains(&words[i - 1]);
            if !at_command || *word != "analyzer" {
                continue;
            }
            let rest = words[i + 1..]
                .iter()
                .take_while(|w| !["||", "&&", ";", "|"].contains(w));
            let mut subcommand = None;
            let mut flags = Vec::new();
            for w in rest {
                if let Some(flag) = w.strip_prefix("--") {
                    flags.push(format!("--{}", flag.split('=').next().unwrap()));
                } else if subcommand.is_none() && flags.is_empty() {
                    subcommand = Some((*w).to_owned());
                }
            }
            found.push((subcommand, flags));
        }
    }
    found
}

#[test]
fn every_analyzer_command_in_the_examples_uses_flags_it_accepts() {
    let mut seen = BTreeSet::new();
    for file in github_files().iter().chain(&gitlab_files()) {
        let mut runs = Vec::new();
        scripts(&yaml(file), &mut runs);
        for (subcommand, flags) in runs.iter().flat_map(|s| commands(s)) {
            let mut help = Command::new(env!("CARGO_BIN_EXE_analyzer"));
            help.args(subcommand.iter()).arg("--help");
            let out = help.output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: analyzer {subcommand:?}: {out:?}",
                file.display()
            );
            let text = String::from_utf8_lossy(&out.stdout);
            for flag in &flags {
                assert!(
                    text.contains(&format!("{flag} ")) || text.contains(&format!("{flag}\n")),
                    "{}: `analyzer {}` has no {flag}",
                    file.display(),
                    subcommand.as_deref().unwrap_or("")
                );
            }
            seen.insert(subcommand.unwrap_or_default());
        }
    }
    for command in ["analyze", "check", "trigger", "validate"] {
        assert!(
            seen.contains(command),
            "no `analyzer {command}` in {seen:?}"
        );
    }
}

#[test]
fn the_examples_run_this_versions_analyzer_image() {
    let image = format!(
        "ghcr.io/image-factory/analyzer:{}",
        env!("CARGO_PKG_VERSION")
    );
    let mut files = github_files();
    files.extend(gitlab_files());
    let mut uses = 0;
    for file in files {
        let text = read(&file);
        for (at, _) in text.match_indices("ghcr.io/image-factory/analyzer") {
            let reference: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"')
                .collect();
            assert_eq!(reference, image, "{}", file.display());
            uses += 1;
        }
    }
    assert!(uses >= 5, "{uses}");
}
