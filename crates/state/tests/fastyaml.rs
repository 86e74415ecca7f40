//! The fast reader of state files agrees with serde-saphyr wherever it answers, on arbitrary
//! strings in every free-text field, and answers for the files the tools write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use image_factory_state::fastyaml;
use image_factory_state::format::{parse_yaml_slow, render_base, render_image};
use model::state::{BaseImageState, HistoryEntry, HistoryEvent, ImageState, State};
use proptest::prelude::*;

fn fleet() -> Vec<Spec> {
    (0..5)
        .map(|index| Spec {
            index,
            enrolled: true,
            external: index == 4,
            deps: vec![index, 6, 8],
            fails: index == 2,
            delay_hours: 30,
        })
        .collect()
}

fn sample() -> State {
    let mut s = run(&State::default(), &fleet(), at(0)).state;
    add_runtime(&mut s, 3, 2);
    s
}

fn check_image(image: &ImageState) -> Result<bool, TestCaseError> {
    let text = render_image(image).unwrap();
    let slow: ImageState = parse_yaml_slow(&text, "x.yaml").unwrap();
    prop_assert_eq!(&slow, image, "serde-saphyr round trip");
    Ok(match fastyaml::parse(&text) {
        Some(value) => {
            let fast: ImageState = serde_json::from_value(value).unwrap();
            prop_assert_eq!(&fast, image, "fast reader disagrees on\n{}", text);
            true
        }
        None => false,
    })
}

fn check_base(base: &BaseImageState) -> Result<bool, TestCaseError> {
    let text = render_base(base).unwrap();
    let slow: BaseImageState = parse_yaml_slow(&text, "x.yaml").unwrap();
    prop_assert_eq!(&slow, base);
    Ok(match fastyaml::parse(&text) {
        Some(value) => {
            let fast: BaseImageState = serde_json::from_value(value).unwrap();
            prop_assert_eq!(&fast, base, "fast reader disagrees on\n{}", text);
            true
        }
        None => false,
    })
}

#[test]
fn answers_for_what_the_tools_write() {
    let state = sample();
    for image in state.images.values() {
        assert!(check_image(image).unwrap(), "{}", image.name);
    }
    for base in state.bases.values() {
        assert!(check_base(base).unwrap(), "{}", base.id);
    }
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../image-factory/state");
    for dir in ["images", "base-images"] {
        for entry in std::fs::read_dir(example.join(dir)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(fastyaml::parse(&text).is_some());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn agrees_with_serde_saphyr(
        note in "\\PC{0,40}|[ -~]{0,40}|[a-z0-9:#'\" .-]{0,20}",
        version in "\\PC{0,12}|[0-9.eE+-]{1,8}|(null|true|false|yes|no|on|off|~|Null|TRUE|0x1f|0o7|1_000|.inf)",
        key in "[a-z.]{1,10}|\\PC{1,8}",
        number in any::<i64>(),
    ) {
        let state = sample();
        let mut image = state.images["img0"].clone();
        image.current_version = Some(version.clone());
        image.history.insert(0, HistoryEntry {
            at: at(1),
            event: HistoryEvent::Imported,
            version: Some(version.clone()),
            digest: None,
            incorporated: Vec::new(),
            note: Some(note.clone()),
        });
        check_image(&image)?;
        let mut base = state.bases.values().next().unwrap().clone();
        base.metadata.insert(key.clone(), serde_json::json!(note));
        base.metadata.insert(format!("{key}-n"), serde_json::json!(number));
        base.metadata.insert(format!("{key}-v"), serde_json::json!({"labels": {key.clone(): version}}));
        base.rebuild_eligible_at.insert(key, at(5));
        check_base(&base)?;
    }
}
