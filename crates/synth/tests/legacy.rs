//! The Python system's deployment (`../shared/legacy/`: images.yaml and state files), imported with
//! the state crate's legacy import, synthesises valid manifests: one observe Stage per watched base
//! instead of one rebuild Stage per (base, image) edge, names ≤ 63, no `allowTags`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use image_factory_synth::synthesize;
use model::state::State;

#[test]
fn legacy_deployment_synthesises_valid_manifests() {
    let Some(dir) = testkit::shared(testkit::SharedData::Legacy) else {
        return;
    };
    let entries = std::fs::read_dir(&dir).unwrap();
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    let now = model::time::Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let images_text = std::fs::read_to_string(dir.join("eda-mesh__images.yaml")).unwrap();
    let (images, settings) = common::config(&images_text, None);

    let mut state = State::default();
    let mut legacy_names = BTreeMap::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("eda-mesh__state__base-images__") && !name.contains(".example.") {
            let text = std::fs::read_to_string(path).unwrap();
            let base = state::legacy::import_base(&text, &name, now).unwrap();
            legacy_names.insert(base.legacy_name.clone(), base.state.reference.clone());
            state.bases.insert(base.state.id.clone(), base.state);
        }
    }
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("eda-mesh__state__images__") && !name.contains(".example.") {
            let text = std::fs::read_to_string(path).unwrap();
            let image = state::legacy::import_image(&text, &name, &legacy_names, now).unwrap();
            state.images.insert(image.name.clone(), image);
        }
    }
    assert!(!state.images.is_empty() && !state.bases.is_empty());
    let m = synthesize(&images, &settings, &state).unwrap_or_else(|e| panic!("{e}"));
    common::assert_valid(&m.yaml);
    assert!(!m.yaml.contains("allowTags"));
    // One observe Stage per watched base, no Stage that rebuilds.
    let stages = |prefix: &str| -> Vec<&str> {
        m.objects
            .iter()
            .filter(|o| o.kind() == "Stage" && o.name().starts_with(prefix))
            .map(|o| o.name())
            .collect()
    };
    assert_eq!(stages("observe-").len(), m.plan.bases.len());
    assert!(!m.plan.bases.is_empty());
    assert!(stages("rebuild-").is_empty() && stages("soak-").is_empty());
    insta::assert_snapshot!("legacy", m.yaml);
}
