//! SPEC §11 properties of the state store: #1 merge preserves runtime fields, #2 merge is
//! idempotent (and merging a state with itself is the identity), #4 managed entries never carry
//! upstream-watch config, #7 promotion/demotion keep history, #14 archive then re-enrol restores
//! all history, #18 one bad image never stops the others, and "an unchanged second run writes zero
//! bytes". (#9, one commit per run, is in the analyzer's git tests.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::*;
use image_factory_state::store::Store;
use model::state::{ArchiveReason, DiscoveryStatus, HistoryEvent, State};
use proptest::prelude::*;

fn spec(index: usize) -> impl Strategy<Value = Spec> {
    (
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..POOL.len(), 1..4),
        prop::bool::weighted(0.2),
        1u32..400,
    )
        .prop_map(move |(enrolled, external, deps, fails, delay_hours)| Spec {
            index,
            enrolled,
            external,
            deps,
            fails,
            delay_hours,
        })
}

fn fleet() -> impl Strategy<Value = Vec<Spec>> {
    (spec(0), spec(1), spec(2), spec(3), spec(4)).prop_map(|(a, b, c, d, e)| vec![a, b, c, d, e])
}

fn prior_state(specs: &[Spec], seed: u64) -> State {
    let mut s = run(&State::default(), specs, at(0)).state;
    add_runtime(&mut s, seed, 3);
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// #1: configuration changes in images.yaml win; runtime fields are carried over untouched.
    #[test]
    fn p1_merge_preserves_runtime_fields(
        before in fleet(),
        seed in any::<u32>(),
        delays in prop::collection::vec(1u32..400, 5),
    ) {
        let s1 = prior_state(&before, u64::from(seed));
        let mut after = before.clone();
        for (s, d) in after.iter_mut().zip(delays) {
            s.delay_hours = d;
        }
        let config = enrollment(&after);
        let s2 = run(&s1, &after, at(5000)).state;
        for (name, old) in &s1.images {
            let new = &s2.images[name];
            prop_assert_eq!(new.enrolled_at, old.enrolled_at);
            prop_assert_eq!(&new.current_version, &old.current_version);
            prop_assert_eq!(&new.current_digest, &old.current_digest);
            prop_assert_eq!(new.last_built, old.last_built);
            prop_assert_eq!(&new.history, &old.history);
            prop_assert_eq!(&new.rebuild, &old.rebuild);
            prop_assert_eq!(&new.depends_on, &old.depends_on);
            let wanted = config.iter().find(|i| &i.name == name).unwrap();
            prop_assert_eq!(&new.enrollment, wanted, "images.yaml wins");
        }
        for (id, old) in &s1.bases {
            let new = &s2.bases[id];
            prop_assert_eq!(new.first_discovered, old.first_discovered);
            prop_assert_eq!(new.last_checked, old.last_checked);
            prop_assert_eq!(&new.current_digest, &old.current_digest);
            prop_assert_eq!(&new.previous_digest, &old.previous_digest);
            prop_assert_eq!(new.last_updated, old.last_updated);
            prop_assert_eq!(&new.update_history, &old.update_history);
            prop_assert_eq!(&new.metadata, &old.metadata);
            prop_assert_eq!(&new.rebuild_eligible_at, &old.rebuild_eligible_at);
        }
    }

    /// #2: update is idempotent, and merging a state with itself (same inputs, any later time)
    /// is the identity.
    #[test]
    fn p2_merge_is_idempotent(prior in fleet(), next in fleet(), seed in any::<u32>()) {
        let s = prior_state(&prior, u64::from(seed));
        let once = run(&s, &next, at(7000)).state;
        let twice = run(&once, &next, at(7000)).state;
        prop_assert_eq!(&twice, &once);
        let later = run(&once, &next, at(90_000)).state;
        prop_assert_eq!(&later, &once);
    }

    /// #4: managed images never carry an upstream watch, and no tracked base image is a managed
    /// image (its upstream watch stopped when it was promoted).
    #[test]
    fn p4_managed_entries_never_carry_upstream_watch(prior in fleet(), next in fleet(), seed in any::<u32>()) {
        let s = prior_state(&prior, u64::from(seed));
        let out = run(&s, &next, at(7000)).state;
        let managed: BTreeSet<(String, String)> = enrollment(&next)
            .iter()
            .filter(|i| i.is_managed())
            .map(|i| (i.registry.clone(), i.repository.clone()))
            .collect();
        for image in out.images.values() {
            if image.is_managed() {
                prop_assert!(image.watch.is_none(), "{} has a watch", image.name);
            } else {
                prop_assert!(image.watch.is_some());
            }
        }
        for base in out.bases.values() {
            prop_assert!(
                !managed.contains(&(base.registry.clone(), base.repository.clone())),
                "base {} is a managed image", base.id
            );
            prop_assert!(!base.dependents.is_empty(), "base {} without dependents", base.id);
        }
    }

    /// #7: removing a managed parent demotes it to a base image (its builds become the base's
    /// update history, its own file is archived with all history); re-enrolling promotes it back
    /// with every history entry, and the base (with its history) goes to the archive.
    #[test]
    fn p7_promotion_and_demotion_keep_history(
        builds in 1usize..8,
        parent_deps in prop::collection::vec(0usize..6, 1..3),
        child_deps in prop::collection::vec(0usize..6, 0..3),
        seed in any::<u32>(),
    ) {
        let mut child_deps = child_deps;
        child_deps.push(6); // ghcr.io/acme/img0:1, the managed parent
        let with = vec![
            Spec { index: 0, enrolled: true, external: false, deps: parent_deps, fails: false, delay_hours: 24 },
            Spec { index: 1, enrolled: true, external: false, deps: child_deps, fails: false, delay_hours: 24 },
        ];
        let mut without = with.clone();
        without[0].enrolled = false;

        let s1 = prior_state(&with, u64::from(seed).max(1) + builds as u64 * 1000);
        prop_assert_eq!(&s1.images["img1"].managed_parents, &vec!["img0".to_owned()]);
        let original = s1.images["img0"].clone();

        // Demotion.
        let s2 = run(&s1, &without, at(8000)).state;
        prop_assert!(!s2.images.contains_key("img0"));
        let archived = &s2.archived_images["img0"];
        prop_assert_eq!(archived.archived.as_ref().unwrap().reason, ArchiveReason::Demoted);
        prop_assert_eq!(&archived.history[1..], &original.history[..]);
        let base = s2.bases.values().find(|b| b.repository == "acme/img0").expect("demoted base");
        prop_assert_eq!(base.demoted_from.as_deref(), Some("img0"));
        prop_assert_eq!(&base.current_digest, &original.current_digest);
        for entry in original.history.iter().filter(|h| h.event == HistoryEvent::Built) {
            prop_assert!(base.update_history.iter().any(|d| Some(&d.digest) == entry.digest.as_ref()));
        }
        prop_assert!(s2.images["img1"].base_images.contains(&base.id));
        prop_assert!(s2.images["img1"].managed_parents.is_empty());
        let base_id = base.id.clone();
        let base_history = base.update_history.clone();

        // Promotion back.
        let s3 = run(&s2, &with, at(9000)).state;
        let restored = &s3.images["img0"];
        prop_assert_eq!(restored.enrolled_at, original.enrolled_at);
        prop_assert_eq!(&restored.history[2..], &original.history[..]);
        prop_assert_eq!(restored.history[0].event, HistoryEvent::Restored);
        prop_assert_eq!(&s3.images["img1"].managed_parents, &vec!["img0".to_owned()]);
        prop_assert!(!s3.bases.contains_key(&base_id));
        let archived_base = &s3.archived_bases[&base_id];
        prop_assert_eq!(archived_base.archived.as_ref().unwrap().reason, ArchiveReason::Promoted);
        prop_assert_eq!(&archived_base.update_history, &base_history);
    }

    /// #14: archive then re-enrol restores enrolledAt, the current build and all history.
    #[test]
    fn p14_archive_then_reenrol_restores_history(
        fleet in fleet(),
        builds in 0usize..10,
        seed in any::<u32>(),
    ) {
        let mut fleet = fleet;
        // img4 is managed, enrolled, and nothing builds from it (no POOL entry points at it).
        fleet[4].enrolled = true;
        fleet[4].fails = false;
        let s1 = {
            let mut s = run(&State::default(), &fleet, at(0)).state;
            add_runtime(&mut s, u64::from(seed), builds);
            s
        };
        let original = s1.images["img4"].clone();
        let mut removed = fleet.clone();
        removed[4].enrolled = false;
        let s2 = run(&s1, &removed, at(3000)).state;
        prop_assert!(!s2.images.contains_key("img4"));
        prop_assert_eq!(
            s2.archived_images["img4"].archived.as_ref().unwrap().reason,
            ArchiveReason::Removed
        );
        let s3 = run(&s2, &fleet, at(6000)).state;
        let back = &s3.images["img4"];
        prop_assert_eq!(back.enrolled_at, original.enrolled_at);
        prop_assert_eq!(&back.current_digest, &original.current_digest);
        prop_assert_eq!(&back.current_version, &original.current_version);
        prop_assert_eq!(back.last_built, original.last_built);
        prop_assert_eq!(&back.rebuild, &original.rebuild);
        let kept = original.history.len().min(model::state::IMAGE_HISTORY_LIMIT - 1);
        prop_assert_eq!(&back.history[1..], &original.history[..kept]);
        prop_assert!(!s3.archived_images.contains_key("img4"));
    }

    /// #18: images whose analysis fails keep their previous dependencies with status `failed`;
    /// every other image is analysed as if they did not exist.
    #[test]
    fn p18_one_bad_image_never_stops_the_others(fleet in fleet(), seed in any::<u32>()) {
        let mut good = fleet.clone();
        for s in &mut good {
            s.fails = false;
        }
        let prior = prior_state(&good, u64::from(seed));
        let mut changed = fleet.clone();
        for s in &mut changed {
            s.deps.reverse();
            s.deps.push(4);
        }
        let all_good = {
            let mut g = changed.clone();
            for s in &mut g {
                s.fails = false;
            }
            run(&prior, &g, at(4000)).state
        };
        let out = run(&prior, &changed, at(4000)).state;
        for s in changed.iter().filter(|s| s.enrolled && !s.external) {
            let name = format!("img{}", s.index);
            let image = &out.images[&name];
            let discovery = image.discovery.as_ref().unwrap();
            if s.fails {
                prop_assert_eq!(discovery.status, DiscoveryStatus::Failed);
                prop_assert!(discovery.error.is_some());
                let before = prior.images.get(&name).map(|i| i.depends_on.clone()).unwrap_or_default();
                prop_assert_eq!(&image.depends_on, &before);
            } else {
                prop_assert_eq!(discovery.status, DiscoveryStatus::Success);
                prop_assert_eq!(image, &all_good.images[&name]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// An unchanged second run writes zero bytes (and the first run's files load back to the
    /// same state).
    #[test]
    fn unchanged_second_run_writes_zero_bytes(fleet in fleet(), later in 0i64..1_000_000) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let loaded = store.load(at(0)).unwrap();
        let first = run(&loaded.state, &fleet, at(0)).state;
        let plan = store.plan(&loaded, &first).unwrap();
        let written = store.apply(&plan).unwrap();
        prop_assert_eq!(written, plan.bytes());

        let reloaded = store.load(at(later)).unwrap();
        prop_assert!(reloaded.errors.is_empty(), "{:?}", reloaded.errors);
        prop_assert_eq!(&reloaded.state, &first);
        let second = run(&reloaded.state, &fleet, at(later)).state;
        let plan = store.plan(&reloaded, &second).unwrap();
        prop_assert!(plan.is_empty(), "second run would write {:?}", plan.paths());
        prop_assert_eq!(store.apply(&plan).unwrap(), 0);
    }
}
