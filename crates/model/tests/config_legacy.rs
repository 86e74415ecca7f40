//! Configurations that must load: the bundled example factory dir and the `images.yaml` of the
//! Python system this product replaces (`../shared/legacy/`, or `IMAGE_FACTORY_LEGACY`; the test is
//! skipped when that directory is missing, except under `CI`, where it fails).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use image_factory_model as model;

use std::path::{Path, PathBuf};

use model::config::validate_factory;
use model::enrollment::{Enrollment, ImageKind, Provider};
use model::settings::Settings;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn legacy_dir() -> Option<PathBuf> {
    testkit::shared(testkit::SharedData::Legacy)
}

#[test]
fn legacy_images_yaml_loads() {
    let Some(dir) = legacy_dir() else { return };
    let text = std::fs::read_to_string(dir.join("eda-mesh__images.yaml")).unwrap();
    let result = validate_factory(&text, "images.yaml", None);
    assert!(result.is_ok(), "{:#?}", result.diagnostics);
    let images = result.resolved().unwrap();
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "backstage",
            "uv",
            "e2e-test-runner",
            "code-server-dev",
            "metrics-service"
        ]
    );
    let backstage = &images[0];
    assert_eq!(backstage.kind, ImageKind::Managed);
    assert_eq!(backstage.rebuild_delay.to_kargo(), "168h");
    let source = backstage.source.as_ref().unwrap();
    assert_eq!(source.provider, Provider::Github);
    assert_eq!(source.context, "backstage/app/packages/backend");
    assert_eq!(source.workflow, "backstage.yml");
    assert_eq!(images[4].updates.len(), 1);
    assert_eq!(
        images[4].image_ref().unwrap().canonical(),
        "ghcr.io/craigedmunds/market-making/metrics-service"
    );
}

#[test]
fn legacy_keys_load_with_warnings() {
    let text = "\
- name: python
  registry: docker.io
  repository: library/python
  tag: 3.12-slim
  allowTags: ^3\\\\.12-slim$
  imageSelectionStrategy: Lexical
- name: distroless
  repoURL: gcr.io/distroless/python3-debian12
- name: web
  repository: acme/web
  imageSelectionStrategy: Digest
  source:
    repo: acme/web
";
    let (enrollment, diags) = model::enrollment::parse(text, "images.yaml");
    let enrollment = enrollment.expect("legacy keys are warnings, not errors");
    assert_eq!(diags.len(), 4, "{diags:#?}");
    assert!(diags.iter().all(|d| !d.is_error()));
    let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
    assert_eq!(lines, [5, 6, 8, 11]);
    let images = enrollment.resolve(&Settings::default());
    assert_eq!(images[1].registry, "gcr.io");
    assert_eq!(images[1].repository, "distroless/python3-debian12");
    assert_eq!(
        images[2].tag_policy.strategy,
        model::enrollment::TagStrategy::Digest
    );
}

#[test]
fn example_factory_dir_is_clean() {
    let dir = repo_root().join("image-factory");
    let images = std::fs::read_to_string(dir.join("images.yaml")).unwrap();
    let factory = std::fs::read_to_string(dir.join("factory.yaml")).ok();
    let result = validate_factory(
        &images,
        "images.yaml",
        factory.as_deref().map(|t| (t, "factory.yaml")),
    );
    assert!(result.diagnostics.is_empty(), "{:#?}", result.diagnostics);
    assert!(result.resolved().is_some_and(|i| i.len() >= 6));
}

/// The derived serde implementations (what the JSON Schemas describe) agree with the
/// diagnostic-collecting decoder on valid files, and a typed value survives a YAML round trip.
#[test]
fn derived_serde_agrees_with_decoder() {
    let mut texts =
        vec![std::fs::read_to_string(repo_root().join("image-factory/images.yaml")).unwrap()];
    if let Some(dir) = legacy_dir() {
        texts.push(std::fs::read_to_string(dir.join("eda-mesh__images.yaml")).unwrap());
    }
    for text in texts {
        let (decoded, _) = model::enrollment::parse(&text, "images.yaml");
        let decoded = decoded.unwrap();
        let derived: Enrollment = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(decoded, derived);
        let written = serde_saphyr::to_string(&decoded).unwrap();
        let (again, diags) = model::enrollment::parse(&written, "images.yaml");
        assert!(diags.is_empty(), "{diags:#?}\n{written}");
        assert_eq!(again.unwrap(), decoded);
    }
    let factory = std::fs::read_to_string(repo_root().join("image-factory/factory.yaml")).unwrap();
    let (decoded, _) = model::settings::parse(&factory, "factory.yaml");
    let derived: Settings = serde_saphyr::from_str(&factory).unwrap();
    assert_eq!(decoded.unwrap(), derived);
    let written = serde_saphyr::to_string(&derived).unwrap();
    let (again, diags) = model::settings::parse(&written, "factory.yaml");
    assert!(diags.is_empty(), "{diags:#?}\n{written}");
    assert_eq!(again.unwrap(), derived);
}
