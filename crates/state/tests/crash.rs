//! Crash safety: a failure injected at every step of the write path leaves every state file either
//! old or new (never torn, no stray files), and a rerun converges to the state of an uninterrupted
//! run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use image_factory_state::store::{Step, Store};

fn spec(index: usize, enrolled: bool, deps: Vec<usize>) -> Spec {
    Spec {
        index,
        enrolled,
        external: false,
        deps,
        fails: false,
        delay_hours: 24,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, text) in testkit::snapshot(from) {
        let target = to.join(rel);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, text).unwrap();
    }
}

#[test]
fn every_file_is_old_or_new_and_a_rerun_converges() {
    // Old: img0..img3; img3 builds FROM img0 (cascade), img2 will be removed, img0 removed
    // (demoted), img4 added, img1 changes its bases.
    let old_fleet = vec![
        spec(0, true, vec![0]),
        spec(1, true, vec![1, 4]),
        spec(2, true, vec![2]),
        spec(3, true, vec![6, 3]),
    ];
    let new_fleet = vec![
        spec(0, false, vec![0]),
        spec(1, true, vec![5]),
        spec(2, false, vec![2]),
        spec(3, true, vec![6, 3]),
        spec(4, true, vec![0, 3]),
    ];
    let base_dir = tempfile::tempdir().unwrap();
    let store = Store::new(base_dir.path());
    let loaded = store.load(at(0)).unwrap();
    let mut old = run(&loaded.state, &old_fleet, at(0)).state;
    add_runtime(&mut old, 7, 2);
    store.apply(&store.plan(&loaded, &old).unwrap()).unwrap();
    let old_files = testkit::snapshot(base_dir.path());

    // The uninterrupted run.
    let clean_dir = tempfile::tempdir().unwrap();
    copy_dir(base_dir.path(), clean_dir.path());
    let clean = Store::new(clean_dir.path());
    let loaded = clean.load(at(100)).unwrap();
    let new = run(&loaded.state, &new_fleet, at(100)).state;
    let plan = clean.plan(&loaded, &new).unwrap();
    let steps = plan.writes.len() + plan.deletes.len();
    assert!(
        steps >= 8,
        "a plan with renames and removals: {:?}",
        plan.paths()
    );
    assert!(!plan.deletes.is_empty());
    clean.apply(&plan).unwrap();
    let new_files = testkit::snapshot(clean_dir.path());

    for fail_at in 0..steps {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(base_dir.path(), dir.path());
        let store = Store::new(dir.path());
        let loaded = store.load(at(100)).unwrap();
        let next = run(&loaded.state, &new_fleet, at(100)).state;
        let plan = store.plan(&loaded, &next).unwrap();
        let mut n = 0;
        let result = store.apply_with(&plan, &mut |step: Step<'_>| {
            let _ = step;
            n += 1;
            if n > fail_at {
                Err(std::io::Error::other("injected crash"))
            } else {
                Ok(())
            }
        });
        assert!(result.is_err(), "step {fail_at} did not fail");

        let now_files = testkit::snapshot(dir.path());
        let all: std::collections::BTreeSet<&PathBuf> = old_files
            .keys()
            .chain(new_files.keys())
            .chain(now_files.keys())
            .collect();
        for path in all {
            let now = now_files.get(path);
            assert!(
                now == old_files.get(path) || now == new_files.get(path),
                "after a crash at step {fail_at}, {} is neither old nor new",
                path.display()
            );
        }

        // Rerun converges to the uninterrupted result, and then is a no-op.
        let loaded = store.load(at(100)).unwrap();
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let next = run(&loaded.state, &new_fleet, at(100)).state;
        store.apply(&store.plan(&loaded, &next).unwrap()).unwrap();
        assert_eq!(
            testkit::snapshot(dir.path()),
            new_files,
            "crash at step {fail_at}"
        );
        let loaded = store.load(at(200)).unwrap();
        let again = run(&loaded.state, &new_fleet, at(200)).state;
        assert!(store.plan(&loaded, &again).unwrap().is_empty());
    }
}

#[test]
fn a_second_writer_waits_for_the_lock_or_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let lock = store.lock(std::time::Duration::from_secs(1)).unwrap();
    let other = Store::new(dir.path());
    let err = other
        .lock(std::time::Duration::from_millis(200))
        .unwrap_err();
    assert!(err.to_string().contains("another analyzer"), "{err}");
    drop(lock);
    assert!(other.lock(std::time::Duration::from_millis(200)).is_ok());
}
