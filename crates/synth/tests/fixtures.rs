//! Synthesis of the example factory dir and of the focused fixtures in `fixtures/synth/`: every
//! output has zero rule and schema violations, is deterministic, re-parses to the same objects, and
//! matches its insta snapshot. The state comes from the state crate's merge of the fixture's
//! `deps.yaml` (`common::merged`), as the analyzer would write it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use image_factory_synth::{parse_objects, synthesize};

fn run(images: &str, factory: Option<&str>, deps: &str) -> image_factory_synth::Manifest {
    let (images, settings) = common::config(images, factory);
    let state = common::merged(&images, &common::deps(deps));
    let manifest = synthesize(&images, &settings, &state).unwrap_or_else(|e| panic!("{e}"));
    common::assert_valid(&manifest.yaml);
    // Deterministic, and the text reads back as the same objects.
    let again = synthesize(&images, &settings, &state).unwrap();
    assert_eq!(again.yaml, manifest.yaml);
    assert_eq!(parse_objects(&manifest.yaml).unwrap(), manifest.objects);
    manifest
}

fn fixture(name: &str) -> image_factory_synth::Manifest {
    let dir = common::root().join("fixtures/synth").join(name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    run(
        &read("images.yaml").unwrap(),
        read("factory.yaml").as_deref(),
        &read("deps.yaml").unwrap(),
    )
}

#[test]
fn example() {
    let root = common::root();
    let read = |p: &Path| std::fs::read_to_string(root.join(p)).unwrap();
    let m = run(
        &read(Path::new("image-factory/images.yaml")),
        Some(&read(Path::new("image-factory/factory.yaml"))),
        &read(Path::new("fixtures/synth/example-deps/deps.yaml")),
    );
    insta::assert_snapshot!("example", m.yaml);
}

macro_rules! fixture_test {
    ($($name:ident => $dir:literal),* $(,)?) => {$(
        #[test]
        fn $name() {
            let m = fixture($dir);
            insta::assert_snapshot!($dir, m.yaml);
        }
    )*};
}

fixture_test! {
    external_image => "external",
    cascade => "cascade",
    gitlab => "gitlab",
    no_auto_rebuild => "manual",
    several_delays_on_one_base => "several-delays",
    updates_of_both_types => "updates",
    pinned_digests => "pinned",
    analyzer_watches_bases => "analyzer-watch",
}
