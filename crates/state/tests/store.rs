//! Which files a run rewrites: files in the tools' format are rewritten only when their content
//! changes; hand-formatted ones are normalised; failed ones are never touched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;

use common::*;
use image_factory_state::store::Store;

#[test]
fn unchanged_tidy_files_are_left_alone_and_others_normalised() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let loaded = store.load(at(0)).unwrap();
    let next = run(&loaded.state, &small_fleet(), at(0)).state;
    store.apply(&store.plan(&loaded, &next).unwrap()).unwrap();

    // A comment added at column 0: still the tools' format, same content: left alone.
    let commented = dir.path().join("state/images/img0.yaml");
    let text = fs::read_to_string(&commented).unwrap();
    let with_note = format!("{text}# reviewed by the platform team\n");
    fs::write(&commented, &with_note).unwrap();
    // A flow mapping written by hand: same content, not the tools' format: normalised.
    let flowed = dir.path().join("state/images/img1.yaml");
    let canonical = fs::read_to_string(&flowed).unwrap();
    fs::write(
        &flowed,
        canonical.replace(
            "rebuild:\n  pending: []\n  last: null\n",
            "rebuild: {pending: [], last: null}\n",
        ),
    )
    .unwrap();
    assert_ne!(fs::read_to_string(&flowed).unwrap(), canonical);

    let loaded = store.load(at(10)).unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let again = run(&loaded.state, &small_fleet(), at(10)).state;
    let plan = store.plan(&loaded, &again).unwrap();
    let paths: Vec<String> = plan
        .paths()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths, vec!["state/images/img1.yaml"]);
    store.apply(&plan).unwrap();
    assert_eq!(fs::read_to_string(&flowed).unwrap(), canonical);
    assert_eq!(fs::read_to_string(&commented).unwrap(), with_note);

    // When its content changes, the commented file is rewritten in the canonical form.
    let mut changed = small_fleet();
    changed[0].deps = vec![3];
    let loaded = store.load(at(20)).unwrap();
    let next = run(&loaded.state, &changed, at(20)).state;
    store.apply(&store.plan(&loaded, &next).unwrap()).unwrap();
    let text = fs::read_to_string(&commented).unwrap();
    assert!(!text.contains("reviewed by"));
    assert_eq!(
        text,
        image_factory_state::format::render_image(&next.images["img0"]).unwrap()
    );
}

#[test]
fn an_image_run_leaves_removed_images_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let loaded = store.load(at(0)).unwrap();
    let next = run(&loaded.state, &small_fleet(), at(0)).state;
    store.apply(&store.plan(&loaded, &next).unwrap()).unwrap();

    // img2 leaves images.yaml, but the run is limited to img0: img2 stays as it was.
    let mut fewer = small_fleet();
    fewer[2].enrolled = false;
    let loaded = store.load(at(10)).unwrap();
    let enrollment = enrollment(&fewer);
    let outcomes = outcomes(&fewer);
    let only: std::collections::BTreeSet<String> = ["img0".to_owned()].into();
    let update = image_factory_state::update::update(
        &loaded.state,
        &image_factory_state::update::Input {
            only: Some(&only),
            ..image_factory_state::update::Input::new(&enrollment, &outcomes, at(10))
        },
    );
    assert_eq!(update.state.images["img2"], loaded.state.images["img2"]);
    assert_eq!(update.state.bases, loaded.state.bases);
    assert!(store.plan(&loaded, &update.state).unwrap().is_empty());
    // A full run archives it.
    let full = run(&loaded.state, &fewer, at(10)).state;
    assert!(full.archived_images.contains_key("img2"));
}

#[test]
fn a_new_repository_under_an_old_name_starts_fresh_and_keeps_the_archive() {
    let specs = small_fleet();
    let mut s = run(&model::state::State::default(), &specs, at(0)).state;
    add_runtime(&mut s, 9, 2);
    let history = s.images["img0"].history.clone();
    // img0 now points at another repository: its record is archived, a fresh one starts.
    let text = images_yaml(&specs).replace("repository: acme/img0\n", "repository: acme/other0\n");
    let moved = enrollment_of(&text);
    let outcomes = outcomes(&specs);
    let update = run_with(&s, &moved, &outcomes, at(100));
    assert!(
        update
            .events
            .contains(&image_factory_state::update::Event::Replaced {
                name: "img0".into()
            })
    );
    let fresh = &update.state.images["img0"];
    assert_eq!(fresh.enrolled_at, at(100));
    assert!(fresh.history.is_empty());
    let archived = &update.state.archived_images["img0"];
    assert_eq!(archived.history, history);
    assert_eq!(
        archived.archived.as_ref().unwrap().reason,
        model::state::ArchiveReason::Replaced
    );
    // Removed, then enrolled again with the old repository: the newer record (acme/other0) is
    // archived under `img0`; the old one, kept beside it, is the one restored.
    let without: Vec<Spec> = specs.iter().skip(1).cloned().collect();
    let removed = run_with(&update.state, &enrollment(&without), &outcomes, at(200)).state;
    assert!(
        removed
            .archived_images
            .keys()
            .any(|k| k.starts_with("img0.replaced-"))
    );
    let back = run_with(&removed, &enrollment(&specs), &outcomes, at(300)).state;
    assert_eq!(back.images["img0"].history[1..], history[..]);
    assert_eq!(back.images["img0"].enrollment.repository, "acme/img0");
    assert_eq!(
        back.archived_images["img0"].enrollment.repository,
        "acme/other0"
    );
    // Enrolled with a third repository: nothing to restore; refused and logged.
    let text = images_yaml(&specs).replace("repository: acme/img0\n", "repository: acme/third0\n");
    let third = run_with(&removed, &enrollment_of(&text), &outcomes, at(300));
    assert!(third.events.iter().any(|e| matches!(
        e,
        image_factory_state::update::Event::RestoreRefused { name, .. } if name == "img0"
    )));
}
