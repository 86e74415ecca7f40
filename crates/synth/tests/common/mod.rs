//! Shared helpers of the synth tests: the JSON Schemas of `../shared/kargo/json-schema` and a
//! validator running every check on a manifest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    dead_code
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image_factory_synth::schema::SchemaSet;
use model::config::validate_factory;
use model::enrollment::EffectiveImage;
use model::reference::ImageRef;
use model::settings::Settings;
use model::state::State;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Kargo examples dir (`../shared/kargo/examples`, beside the schemas), or `None` (skip)
/// outside CI when the shared data is missing.
pub fn examples_dir() -> Option<PathBuf> {
    testkit::shared(testkit::SharedData::KargoSchemas).map(|dir| dir.join("../examples"))
}

fn load(dir: &Path) -> SchemaSet {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                files.push((rel, value));
            }
        }
    }
    SchemaSet::new(files).unwrap()
}

/// The schema set, or `None` (test skipped) when the directory is missing outside CI. Under `CI`
/// a missing directory fails the test.
pub fn schemas() -> Option<&'static SchemaSet> {
    static SET: OnceLock<Option<SchemaSet>> = OnceLock::new();
    SET.get_or_init(|| testkit::shared(testkit::SharedData::KargoSchemas).map(|dir| load(&dir)))
        .as_ref()
}

/// Every problem of a manifest text: YAML, Kargo rules, JSON Schemas (when available).
pub fn problems(yaml: &str) -> Vec<String> {
    let docs = image_factory_synth::parse_documents(yaml).unwrap();
    let mut out: Vec<String> = image_factory_synth::check::check_documents(&docs)
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(set) = schemas() {
        for (i, doc) in docs.iter().enumerate() {
            for e in set.validate(doc) {
                out.push(format!(
                    "document {} ({}/{}): {e}",
                    i + 1,
                    doc["kind"].as_str().unwrap_or("?"),
                    doc["metadata"]["name"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    out
}

/// Asserts a manifest has no problem at all.
pub fn assert_valid(yaml: &str) {
    let p = problems(yaml);
    assert!(p.is_empty(), "{} problem(s):\n{}", p.len(), p.join("\n"));
}

/// Parses images.yaml (+ factory.yaml) text into the effective images and settings.
pub fn config(images: &str, factory: Option<&str>) -> (Vec<EffectiveImage>, Settings) {
    let c = validate_factory(images, "images.yaml", factory.map(|f| (f, "factory.yaml")));
    assert!(c.is_ok(), "{:#?}", c.diagnostics);
    (c.resolved().unwrap(), c.settings.clone().unwrap())
}

/// Reads `deps.yaml` (image name → FROM references) of a fixture dir.
pub fn deps(text: &str) -> BTreeMap<String, Vec<String>> {
    serde_saphyr::from_str(text).unwrap()
}

/// The state the analyzer would write for `images` on a first run where `deps` maps an image name
/// to the references its Dockerfile builds FROM: the state crate's real merge (`state::update`),
/// not a hand-made state.
pub fn merged(images: &[EffectiveImage], deps: &BTreeMap<String, Vec<String>>) -> State {
    use state::discover::{Discovered, Outcome};
    let outcomes: BTreeMap<String, Outcome> = images
        .iter()
        .filter(|i| i.is_managed())
        .map(|i| {
            let mut from: Vec<ImageRef> = Vec::new();
            for r in deps.get(&i.name).into_iter().flatten() {
                let r = ImageRef::parse_normalized(r).unwrap();
                if !from.contains(&r) {
                    from.push(r);
                }
            }
            let discovered = Discovered {
                dockerfile_digest: format!("sha256:{:064x}", 1),
                from,
                other: Vec::new(),
            };
            (i.name.clone(), Outcome::Success(discovered))
        })
        .collect();
    state::update::update(
        &State::default(),
        &state::update::Input::new(
            images,
            &outcomes,
            model::time::Timestamp::from_unix_seconds(1_767_225_600).unwrap(),
        ),
    )
    .state
}
