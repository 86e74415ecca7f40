//! Bad input: malformed state YAML (file, line, column; only that file fails), unknown state
//! versions, duplicate ids, Dockerfiles outside their repository.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;

use common::*;
use image_factory_state::discover::{SourceError, read_dockerfile};
use image_factory_state::format::LoadErrorKind;
use image_factory_state::store::Store;
use model::state::State;

/// A factory dir with the state of `small_fleet()` written.
fn written() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let loaded = store.load(at(0)).unwrap();
    let next = run(&loaded.state, &small_fleet(), at(0)).state;
    store.apply(&store.plan(&loaded, &next).unwrap()).unwrap();
    (dir, store)
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn malformed_yaml_fails_only_that_file_with_position() {
    let (dir, store) = written();
    let bad = dir.path().join("state/images/img1.yaml");
    edit(&bad, "kind: managed", "kind: [managed");
    let before = fs::read_to_string(&bad).unwrap();
    let loaded = store.load(at(10)).unwrap();
    assert_eq!(loaded.errors.len(), 1, "{:?}", loaded.errors);
    let err = &loaded.errors[0];
    assert_eq!(err.file, "state/images/img1.yaml");
    assert_eq!(err.kind, LoadErrorKind::Malformed);
    assert!(err.line >= 6 && err.column > 0, "{err}");
    assert!(loaded.frozen_images.contains("img1"));
    assert_eq!(loaded.state.images.len(), 2);

    // The run goes on for the others and never touches the broken file.
    let mut changed = small_fleet();
    for s in &mut changed {
        s.deps = vec![3];
    }
    let enrollment = enrollment(&changed);
    let outcomes = outcomes(&changed);
    let frozen_bases = loaded.frozen_bases.clone();
    let update = image_factory_state::update::update(
        &loaded.state,
        &image_factory_state::update::Input {
            frozen_images: &loaded.frozen_images,
            frozen_bases: &frozen_bases,
            ..image_factory_state::update::Input::new(&enrollment, &outcomes, at(10))
        },
    );
    let plan = store.plan(&loaded, &update.state).unwrap();
    assert!(!plan.paths().iter().any(|p| p.ends_with("img1.yaml")));
    store.apply(&plan).unwrap();
    assert_eq!(fs::read_to_string(&bad).unwrap(), before);
    assert_eq!(update.state.images["img0"].base_images, vec!["alpine-3-20"]);
}

#[test]
fn wrong_types_report_line_and_column() {
    let (dir, store) = written();
    let bad = dir.path().join("state/base-images/busybox-1-36.yaml");
    edit(&bad, "lastChecked: null", "lastChecked: yesterday");
    let loaded = store.load(at(10)).unwrap();
    assert_eq!(loaded.errors.len(), 1);
    let err = &loaded.errors[0];
    assert_eq!(err.file, "state/base-images/busybox-1-36.yaml");
    let text = fs::read_to_string(&bad).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("lastChecked"))
        .unwrap()
        + 1;
    assert_eq!(err.line, line, "{err}");
    assert!(
        err.message.contains("yesterday") || err.message.contains("timestamp"),
        "{err}"
    );
    assert!(loaded.frozen_bases.contains("busybox-1-36"));
}

#[test]
fn unknown_state_version_is_refused() {
    let (dir, store) = written();
    let bad = dir.path().join("state/images/img0.yaml");
    edit(&bad, "version: 1", "version: 7");
    let loaded = store.load(at(10)).unwrap();
    assert_eq!(loaded.errors.len(), 1);
    let err = &loaded.errors[0];
    assert_eq!(err.kind, LoadErrorKind::UnknownVersion);
    assert_eq!((err.line, err.column), (4, 10), "{err}");
    assert!(
        err.to_string().contains("unknown state version `7`"),
        "{err}"
    );
    assert!(loaded.frozen_images.contains("img0"));
}

#[test]
fn duplicate_ids_and_references_are_refused() {
    let (dir, store) = written();
    let bases = dir.path().join("state/base-images");
    // Same content under another file name: the id inside does not match the file.
    fs::copy(bases.join("golang-1-23.yaml"), bases.join("golang.yaml")).unwrap();
    // Same reference recorded under a second id.
    let text = fs::read_to_string(bases.join("busybox-1-36.yaml")).unwrap();
    fs::write(
        bases.join("zz-busybox.yaml"),
        text.replace("id: busybox-1-36", "id: zz-busybox"),
    )
    .unwrap();
    let loaded = store.load(at(10)).unwrap();
    let mut files: Vec<&str> = loaded.errors.iter().map(|e| e.file.as_str()).collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            "state/base-images/golang.yaml",
            "state/base-images/zz-busybox.yaml"
        ]
    );
    assert!(
        loaded
            .errors
            .iter()
            .all(|e| e.kind == LoadErrorKind::Duplicate)
    );
    assert!(loaded.state.bases.contains_key("golang-1-23"));
    assert!(loaded.state.bases.contains_key("busybox-1-36"));
    // A rerun leaves both the good files and the refused ones alone.
    let next = run(&loaded.state, &small_fleet(), at(10)).state;
    let plan = store.plan(&loaded, &next).unwrap();
    assert!(plan.is_empty(), "{:?}", plan.paths());
}

#[test]
fn dockerfile_outside_the_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("acme/app");
    fs::create_dir_all(repo.join("docker")).unwrap();
    fs::write(repo.join("docker/Dockerfile"), "FROM alpine:3.20\n").unwrap();
    fs::write(dir.path().join("secret"), "FROM alpine\n").unwrap();
    assert!(read_dockerfile(&repo, "docker/Dockerfile", 1 << 20).is_ok());
    assert!(read_dockerfile(&repo, "./docker/Dockerfile", 1 << 20).is_ok());
    for bad in ["../../secret", "docker/../../../secret", "/etc/passwd", ""] {
        assert!(
            matches!(
                read_dockerfile(&repo, bad, 1 << 20),
                Err(SourceError::Escape(_))
            ),
            "{bad} accepted"
        );
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("secret"), repo.join("Dockerfile")).unwrap();
        assert!(matches!(
            read_dockerfile(&repo, "Dockerfile", 1 << 20),
            Err(SourceError::Escape(_))
        ));
        // A symlink inside the repository is fine.
        std::os::unix::fs::symlink(repo.join("docker/Dockerfile"), repo.join("Inner")).unwrap();
        assert!(read_dockerfile(&repo, "Inner", 1 << 20).is_ok());
    }
    assert!(matches!(
        read_dockerfile(&repo, "missing/Dockerfile", 1 << 20),
        Err(SourceError::Read { .. })
    ));
    assert!(image_factory_state::discover::repo_dir(dir.path(), "acme/../etc").is_err());
    let _ = State::default();
}

#[test]
fn hand_edited_values_that_reach_manifests_fail_their_file() {
    let (dir, store) = written();
    let bases = dir.path().join("state/base-images");
    let base = fs::read_dir(&bases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| fs::read_to_string(p).unwrap().contains("constraint:"))
        .expect("a watched base");
    let text = fs::read_to_string(&base).unwrap();
    let line = text.lines().find(|l| l.contains("constraint:")).unwrap();
    edit(&base, line, "  constraint: \"${{ secrets.x }}\"");
    let before = fs::read_to_string(&base).unwrap();
    let loaded = store.load(at(10)).unwrap();
    assert_eq!(loaded.errors.len(), 1, "{:?}", loaded.errors);
    let err = &loaded.errors[0];
    assert_eq!(err.kind, LoadErrorKind::Malformed);
    assert!(
        err.message.contains("`watch.constraint`"),
        "{}",
        err.message
    );
    assert!(err.message.contains("not an image tag"), "{}", err.message);
    assert_eq!(fs::read_to_string(&base).unwrap(), before);
}
