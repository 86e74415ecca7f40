//! Crash safety: a crash injected at every step of the write path (temporary-file write, file
//! sync, rename, removal, directory sync) leaves every state file either old or new (never torn;
//! only the crashed writer's temporary files beside them, which the next load removes), and a rerun
//! converges to the state of an uninterrupted run.
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

/// Whether `path` is a temporary file of the write path (`.<name>.tmp-<pid>`).
fn is_temp(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        n.to_string_lossy().starts_with('.') && n.to_string_lossy().contains(".tmp-")
    })
}

/// The kind of a step, for counting.
fn kind(step: &Step<'_>) -> &'static str {
    match step {
        Step::WriteTemp(_) => "write-temp",
        Step::SyncFiles => "sync-files",
        Step::Rename(_) => "rename",
        Step::Delete(_) => "delete",
        Step::SyncDir(_) => "sync-dir",
        _ => "other",
    }
}

/// A factory dir holding the old fleet's state, and the new fleet.
fn old_state() -> (tempfile::TempDir, Vec<Spec>) {
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
    (base_dir, new_fleet)
}

/// A copy of `from` with the new fleet's run crashed at step `fail_at` (0-based): the plan,
/// and the result of the write.
fn crashed_copy(from: &Path, new_fleet: &[Spec], fail_at: usize) -> (tempfile::TempDir, usize) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(from, dir.path());
    let store = Store::new(dir.path());
    let loaded = store.load(at(100)).unwrap();
    let next = run(&loaded.state, new_fleet, at(100)).state;
    let plan = store.plan(&loaded, &next).unwrap();
    let mut n = 0;
    let result = store.apply_with(&plan, &mut |_| {
        n += 1;
        if n > fail_at {
            Err(std::io::Error::other("injected crash"))
        } else {
            Ok(())
        }
    });
    assert!(result.is_err(), "step {fail_at} did not fail");
    (dir, plan.writes.len())
}

#[test]
fn every_file_is_old_or_new_and_a_rerun_converges() {
    let (base_dir, new_fleet) = old_state();
    let old_files = testkit::snapshot(base_dir.path());

    // The uninterrupted run, counting its steps.
    let clean_dir = tempfile::tempdir().unwrap();
    copy_dir(base_dir.path(), clean_dir.path());
    let clean = Store::new(clean_dir.path());
    let loaded = clean.load(at(100)).unwrap();
    let new = run(&loaded.state, &new_fleet, at(100)).state;
    let plan = clean.plan(&loaded, &new).unwrap();
    assert!(
        plan.writes.len() + plan.deletes.len() >= 8,
        "a plan with renames and removals: {:?}",
        plan.paths()
    );
    assert!(!plan.deletes.is_empty());
    let mut kinds = Vec::new();
    clean
        .apply_with(&plan, &mut |step| {
            kinds.push(kind(&step));
            Ok(())
        })
        .unwrap();
    for expected in ["write-temp", "sync-files", "rename", "delete", "sync-dir"] {
        assert!(kinds.contains(&expected), "no {expected} step in {kinds:?}");
    }
    let new_files = testkit::snapshot(clean_dir.path());
    assert!(!new_files.keys().any(|p| is_temp(p)), "{new_files:?}");

    for (fail_at, step) in kinds.iter().enumerate() {
        let (dir, _) = crashed_copy(base_dir.path(), &new_fleet, fail_at);
        let store = Store::new(dir.path());
        let now_files = testkit::snapshot(dir.path());
        let all: std::collections::BTreeSet<&PathBuf> = old_files
            .keys()
            .chain(new_files.keys())
            .chain(now_files.keys())
            .filter(|p| !is_temp(p))
            .collect();
        for path in all {
            let now = now_files.get(path);
            assert!(
                now == old_files.get(path) || now == new_files.get(path),
                "after a crash at step {fail_at} ({step}), {} is neither old nor new",
                path.display()
            );
        }
        // Until the renames, the crashed writer leaves temporary files (a torn one when it
        // crashed while writing them).
        let temps = now_files.keys().filter(|p| is_temp(p)).count();
        if *step == "write-temp" || *step == "sync-files" {
            assert!(
                temps > 0,
                "crash at step {fail_at} ({step}) left no temporary file"
            );
        }

        // The next load removes them; a rerun converges to the uninterrupted result, and then is
        // a no-op.
        let loaded = store.load(at(100)).unwrap();
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let left: Vec<PathBuf> = testkit::snapshot(dir.path())
            .into_keys()
            .filter(|p| is_temp(p))
            .collect();
        assert!(
            left.is_empty(),
            "crash at step {fail_at} ({step}): {left:?} not removed"
        );
        let next = run(&loaded.state, &new_fleet, at(100)).state;
        store.apply(&store.plan(&loaded, &next).unwrap()).unwrap();
        assert_eq!(
            testkit::snapshot(dir.path()),
            new_files,
            "crash at step {fail_at} ({step})"
        );
        let loaded = store.load(at(200)).unwrap();
        let again = run(&loaded.state, &new_fleet, at(200)).state;
        assert!(store.plan(&loaded, &again).unwrap().is_empty());
    }
}

#[test]
fn the_loader_removes_a_crashed_writers_temp_files_and_nothing_else() {
    let (base_dir, new_fleet) = old_state();
    let old_files = testkit::snapshot(base_dir.path());
    let old_state = Store::new(base_dir.path()).load(at(100)).unwrap().state;
    // Crashed at the first rename (every temporary file written), and while writing the second
    // temporary file (one whole, one torn).
    for fail_at in [usize::MAX, 1] {
        let (dir, writes) = if fail_at == usize::MAX {
            // Steps: one per temporary file, the sync, then the first rename.
            let (_, writes) = crashed_copy(base_dir.path(), &new_fleet, 0);
            crashed_copy(base_dir.path(), &new_fleet, writes + 1)
        } else {
            crashed_copy(base_dir.path(), &new_fleet, fail_at)
        };
        // Hidden files that are not temporary files of the write path stay.
        let keep = dir.path().join("state/images/.keep");
        fs::write(&keep, "").unwrap();
        let files = testkit::snapshot(dir.path());
        let temps: Vec<&PathBuf> = files.keys().filter(|p| is_temp(p)).collect();
        let expected = if fail_at == usize::MAX {
            writes
        } else {
            fail_at + 1
        };
        assert_eq!(temps.len(), expected, "{temps:?}");

        let loaded = Store::new(dir.path()).load(at(100)).unwrap();
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert_eq!(loaded.state, old_state, "the targets are untouched");
        let mut after = testkit::snapshot(dir.path());
        assert_eq!(
            after.remove(Path::new("state/images/.keep")),
            Some(String::new())
        );
        assert_eq!(after, old_files, "temporary files left after loading");
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
