//! The generated build workflows (SPEC §8.3): pinned by insta snapshots for the example factory dir
//! and a fleet covering every `local` shape; every file valid against the shared GitHub workflow
//! and GitLab CI schemas; dispatch inputs never interpolated into scripts; unsafe values refused;
//! the same input gives the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image_factory_synth::workflows::{self, WorkflowError, WorkflowFile};
use model::config::validate_factory;
use model::enrollment::EffectiveImage;
use model::settings::Settings;

fn load(images: &str, factory: Option<&str>) -> (Vec<EffectiveImage>, Settings) {
    let config = validate_factory(images, "images.yaml", factory.map(|f| (f, "factory.yaml")));
    let errors: Vec<_> = config.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    (config.resolved().unwrap(), config.settings.unwrap())
}

fn example() -> Vec<WorkflowFile> {
    let root = testkit::workspace_root().join("image-factory");
    let images = std::fs::read_to_string(root.join("images.yaml")).unwrap();
    let factory = std::fs::read_to_string(root.join("factory.yaml")).unwrap();
    let (images, settings) = load(&images, Some(&factory));
    workflows::generate(&images, &settings).unwrap()
}

/// Every `local` shape, both providers, a registry other than ghcr.io, inputs and build args.
const FLEET: &str = "\
- name: patched
  repository: acme/patched
  source:
    repo: upstream/tool
    branch: release/2.x
    dockerfile: docker/Dockerfile
    context: .
    buildArgs: {VARIANT: slim}
    inputs: {channel: stable}
  local: {dir: local/patched, patchFiles: [a.patch, b.patch], versionFile: VERSION}
- name: ours
  registry: registry.example.com
  repository: acme/ours
  source: {repo: upstream/other, pinInput: pins, platform: linux/arm64}
  local: {dir: local/ours, dockerfile: Dockerfile}
- name: plain
  repository: acme/plain
  source: {repo: upstream/plain}
- name: own-workflow
  repository: acme/own
  source: {repo: acme/own, workflow: build.yml}
  local: {dir: local/own, dockerfile: Dockerfile}
- name: gl
  registry: registry.gitlab.com
  repository: acme/team/gl
  source: {provider: gitlab, repo: upstream/team/gl, host: gitlab.example.com, inputs: {DEPLOY: 'no'}}
  local: {dir: ., patchFiles: [gl.patch], versionFile: gl/VERSION}
- name: gl-own-pipeline
  registry: registry.gitlab.com
  repository: acme/team/own
  source: {provider: gitlab, repo: acme/team/own}
- name: postgres
  registry: docker.io
  repository: library/postgres
";

const FLEET_FACTORY: &str = "\
stateRepo: {url: 'git@github.com:acme/platform.git', path: factories/main, author: 'Build Bot <bot@acme.example>'}
analyzer: {image: ghcr.io/acme/analyzer:1.2.3}
";

fn fleet() -> Vec<WorkflowFile> {
    let (images, settings) = load(FLEET, Some(FLEET_FACTORY));
    workflows::generate(&images, &settings).unwrap()
}

#[test]
fn example_workflows_are_pinned() {
    let files = example();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [".github/workflows/build-reports.yml",],
        "only `reports` has neither a workflow nor (GitLab) a pipeline of its own"
    );
    for file in &files {
        insta::assert_snapshot!(
            format!("example__{}", file.path.replace('/', "__")),
            file.text
        );
    }
}

#[test]
fn fleet_workflows_are_pinned() {
    let files = fleet();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            ".github/workflows/build-ours.yml",
            ".github/workflows/build-patched.yml",
            ".github/workflows/build-plain.yml",
            ".gitlab/build-gl.yml",
            ".gitlab/image-factory-builds.yml",
        ]
    );
    for file in &files {
        assert!(workflows::is_generated(&file.text), "{}", file.path);
        assert!(workflows::is_owned_path(&file.path), "{}", file.path);
        insta::assert_snapshot!(
            format!("fleet__{}", file.path.replace('/', "__")),
            file.text
        );
    }
}

#[test]
fn every_generated_file_is_valid_against_the_ci_schemas() {
    let mut checked = 0;
    for file in example().iter().chain(&fleet()) {
        let problems = if file.path.starts_with(".github/") {
            testkit::ci_schema::github_workflow_problems(&file.text)
        } else {
            testkit::ci_schema::gitlab_ci_problems(&file.text)
        };
        assert!(problems.is_empty(), "{}: {problems:#?}", file.path);
        checked += 1;
    }
    assert_eq!(checked, 6);
    // The check can fail: a workflow without `jobs` or with an unknown top-level key is refused.
    let broken = &fleet()[0].text.replace("\njobs:", "\njobz:");
    assert!(!testkit::ci_schema::github_workflow_problems(broken).is_empty());
    let broken = fleet()[3]
        .text
        .replace("stage: build", "stage: build\n  when: sometimes");
    assert!(!testkit::ci_schema::gitlab_ci_problems(&broken).is_empty());
}

/// Each `run:` script (GitHub) and `script` line (GitLab) of a file.
fn scripts(file: &WorkflowFile) -> Vec<String> {
    let value: serde_json::Value = serde_saphyr::from_str(&file.text).unwrap();
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("run", serde_json::Value::String(s)) => out.push(s.clone()),
                        ("script", serde_json::Value::Array(lines)) => {
                            out.extend(lines.iter().filter_map(|l| l.as_str().map(str::to_owned)))
                        }
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(&value, &mut out);
    out
}

#[test]
fn dispatch_inputs_reach_scripts_only_through_env() {
    let files = fleet();
    let mut runs = 0;
    for file in &files {
        for script in scripts(file) {
            assert!(
                !script.contains("${{"),
                "{}: an expression inside a script (script injection):\n{script}",
                file.path
            );
            runs += 1;
        }
    }
    assert!(runs > 10, "{runs}");
    // The inputs are used, through `env:` of the steps that need them.
    let patched = &files[1].text;
    assert!(
        patched.contains("SUFFIX: ${{ inputs.suffix }}"),
        "{patched}"
    );
    assert!(patched.contains("BUMP: ${{ inputs.bump }}"), "{patched}");
}

#[test]
fn unsafe_values_are_refused_by_the_generator_too() {
    // Validation refuses these first; a caller that builds the images itself meets the guard.
    let (mut images, settings) = load(FLEET, Some(FLEET_FACTORY));
    let source = images[2].source.as_mut().unwrap();
    source
        .build_args
        .insert("X".to_owned(), "${{ secrets.TOKEN }}".to_owned());
    let err = workflows::generate(&images, &settings).unwrap_err();
    assert!(
        matches!(&err, WorkflowError::UnsafeText { image, .. } if image == "plain"),
        "{err:?}"
    );
    let (mut images, settings) = load(FLEET, Some(FLEET_FACTORY));
    images[0].local.as_mut().unwrap().patch_files[0] = "$(curl x).patch".to_owned();
    assert!(workflows::generate(&images, &settings).is_err());
}

#[test]
fn output_is_deterministic_and_ignores_images_with_their_own_workflow() {
    assert_eq!(fleet(), fleet());
    let (images, _) = load(FLEET, Some(FLEET_FACTORY));
    let eligible: Vec<&str> = images
        .iter()
        .filter(|i| workflows::is_eligible(i))
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(eligible, ["patched", "ours", "plain", "gl"]);
    for owned in [
        ".github/workflows/build-x.yml",
        ".gitlab/build-x.yml",
        ".gitlab/image-factory-builds.yml",
    ] {
        assert!(workflows::is_owned_path(owned), "{owned}");
    }
    for not_owned in [
        ".github/workflows/ci.yml",
        ".github/workflows/build-.yml",
        ".github/workflows/x/build-a.yml",
        ".gitlab-ci.yml",
        ".github/workflows/build-a.yaml",
    ] {
        assert!(!workflows::is_owned_path(not_owned), "{not_owned}");
    }
}
