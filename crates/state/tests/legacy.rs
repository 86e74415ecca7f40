//! Legacy import of every state file of the Python system (`../shared/legacy/`, or
//! `IMAGE_FACTORY_LEGACY`), with snapshots of the converted files, and a whole legacy factory dir
//! migrated by the store. Skipped when the data is missing, except under `CI`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use image_factory_state::format::{render_base, render_image};
use image_factory_state::legacy::{import_base, import_image};
use image_factory_state::store::Store;
use image_factory_state::update::{Input, update};
use model::time::Timestamp;

fn legacy_dir() -> Option<PathBuf> {
    testkit::shared(testkit::SharedData::Legacy)
}

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

/// Legacy state files: (short name, text), bases and images.
fn files(dir: &PathBuf, kind: &str) -> Vec<(String, String)> {
    let prefix = format!("eda-mesh__state__{kind}__");
    let mut out: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| {
            let short = name.strip_prefix(&prefix)?.to_owned();
            Some((short, fs::read_to_string(dir.join(&name)).unwrap()))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_legacy_state_file_converts() {
    let Some(dir) = legacy_dir() else {
        return;
    };
    let bases = files(&dir, "base-images");
    let images = files(&dir, "images");
    assert!(bases.len() >= 5 && images.len() >= 5);
    let mut names = BTreeMap::new();
    for (short, text) in &bases {
        let file = format!("state/base-images/{short}");
        let imported = import_base(text, &file, now()).unwrap();
        names.insert(
            imported.legacy_name.clone(),
            imported.state.reference.clone(),
        );
        let rendered = render_base(&imported.state).unwrap();
        insta::assert_snapshot!(format!("base__{short}"), rendered);
        // The converted file reads back as the current format.
        let back = image_factory_state::format::parse_base(&rendered, &file).unwrap();
        assert_eq!(back, imported.state);
    }
    for (short, text) in &images {
        let file = format!("state/images/{short}");
        let image = import_image(text, &file, &names, now()).unwrap();
        let rendered = render_image(&image).unwrap();
        insta::assert_snapshot!(format!("image__{short}"), rendered);
        let back = image_factory_state::format::parse_image(&rendered, &file).unwrap();
        assert_eq!(back, image);
    }
}

#[test]
fn repairs_none_strings_timestamps_and_allow_tags() {
    let Some(dir) = legacy_dir() else {
        return;
    };
    let text = fs::read_to_string(dir.join("eda-mesh__state__base-images__python-3.12-slim.yaml"))
        .unwrap();
    assert!(text.contains(r"allowTags: ^3\\.12-slim$"));
    let python = import_base(&text, "python.yaml", now()).unwrap().state;
    assert_eq!(python.id, "python-3-12-slim");
    assert_eq!(python.watch.as_ref().unwrap().constraint, "3.12-slim");
    assert_eq!(python.first_discovered.to_string(), "2025-12-29T19:25:06Z");

    let text =
        fs::read_to_string(dir.join("eda-mesh__state__base-images__node-22-bookworm-slim.yaml"))
            .unwrap();
    assert!(text.contains("currentDigest: None"));
    let node = import_base(&text, "node.yaml", now()).unwrap().state;
    assert_eq!(node.current_digest, None);
    assert_eq!(node.last_updated, None);

    let text = fs::read_to_string(
        dir.join("eda-mesh__state__base-images__node-22-bookworm-slim.example.yaml"),
    )
    .unwrap();
    let example = import_base(&text, "node.example.yaml", now())
        .unwrap()
        .state;
    assert!(
        example
            .current_digest
            .as_deref()
            .unwrap()
            .starts_with("sha256:64ba3c3c")
    );
    assert_eq!(example.metadata["architecture"], serde_json::json!("amd64"));
    assert_eq!(
        example.last_checked.unwrap().to_string(),
        "2024-12-04T15:30:00Z"
    );
}

#[test]
fn a_legacy_factory_dir_is_migrated_once() {
    let Some(dir) = legacy_dir() else {
        return;
    };
    let factory = tempfile::tempdir().unwrap();
    for kind in ["images", "base-images"] {
        let target = factory.path().join("state").join(kind);
        fs::create_dir_all(&target).unwrap();
        for (short, text) in files(&dir, kind) {
            fs::write(target.join(short), text).unwrap();
        }
    }
    let images_text = fs::read_to_string(dir.join("eda-mesh__images.yaml")).unwrap();
    let config = model::config::validate_factory(&images_text, "images.yaml", None);
    let enrollment = config.resolved().unwrap();
    let store = Store::new(factory.path());
    let loaded = store.load(now()).unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.imported.len(), 8, "{:?}", loaded.imported);
    let outcomes = BTreeMap::new();
    let input = Input::new(&enrollment, &outcomes, now());
    let next = update(&loaded.state, &input).state;
    let plan = store.plan(&loaded, &next).unwrap();
    assert!(
        plan.deletes
            .iter()
            .any(|p| p.ends_with("python-3.12-slim.yaml"))
    );
    store.apply(&plan).unwrap();

    let loaded = store.load(now()).unwrap();
    assert!(loaded.imported.is_empty());
    let backstage = &loaded.state.images["backstage"];
    assert_eq!(backstage.enrolled_at.to_string(), "2025-12-29T19:25:06Z");
    assert_eq!(backstage.current_version.as_deref(), Some("0.6.5"));
    assert_eq!(
        backstage.last_built.unwrap().to_string(),
        "2024-12-03T12:00:00Z"
    );
    assert_eq!(backstage.base_images, vec!["node-22-bookworm-slim"]);
    let uv = &loaded.state.images["uv"];
    assert_eq!(uv.base_images.len(), 2);
    assert!(uv.base_images[0].starts_with("gcr-io-distroless-python3-debia-"));
    assert_eq!(uv.base_images[1], "python-3-12-slim");
    assert_eq!(
        loaded.state.bases["python-3-12-slim"].dependents,
        vec!["metrics-service", "uv"]
    );
    // Migrated once: the next run changes nothing.
    let input = Input {
        now: Timestamp::parse("2026-02-01T00:00:00Z").unwrap(),
        ..input
    };
    let again = update(&loaded.state, &input).state;
    assert!(store.plan(&loaded, &again).unwrap().is_empty());
}
