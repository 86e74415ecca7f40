//! The JSON Schemas in `docs/schema/` are generated from the Rust types and must not drift
//! (`cargo xtask schema` rewrites them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image_factory_model as model;

use std::path::Path;

#[test]
fn schemas_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema");
    for (file, text) in [
        ("images.schema.json", model::config::images_schema()),
        ("factory.schema.json", model::config::factory_schema()),
    ] {
        let path = dir.join(file);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "docs/schema/{file} is out of date: run `cargo xtask schema`"
        );
    }
}

#[test]
fn schemas_describe_the_files() {
    let images: serde_json::Value = serde_json::from_str(&model::config::images_schema()).unwrap();
    assert_eq!(images["type"], "array");
    let entry = &images["$defs"]["ImageEntry"];
    assert_eq!(entry["additionalProperties"], false);
    for key in [
        "name",
        "registry",
        "repository",
        "source",
        "rebuildDelay",
        "updates",
        "tagPolicy",
    ] {
        assert!(
            entry["properties"].get(key).is_some(),
            "images schema lacks {key}"
        );
    }
    let factory: serde_json::Value =
        serde_json::from_str(&model::config::factory_schema()).unwrap();
    assert_eq!(factory["type"], "object");
    assert_eq!(factory["properties"]["project"]["default"], "image-factory");
}
