//! SPEC §9.1 on state made by the real merge (`state::update`): the first digest is a baseline,
//! a known digest changes nothing, an update gives each dependent one pending entry eligible after
//! its own delay, a newer digest never moves an older entry's clock, and the history is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use image_factory_state::watch::{RecordError, Seen, record};
use model::state::{BASE_HISTORY_LIMIT, State};
use proptest::prelude::*;

const SHARED: &str = "busybox-1-36";

fn digest(n: u64) -> String {
    format!("sha256:{n:064x}")
}

/// The small fleet's state: three managed images (24 h delay) sharing `busybox:1.36`.
fn fleet() -> (State, Vec<model::enrollment::EffectiveImage>) {
    let specs = small_fleet();
    let state = run(&State::default(), &specs, at(0)).state;
    (state, enrollment(&specs))
}

#[test]
fn baseline_then_update_then_known() {
    let (mut state, enrolled) = fleet();
    assert_eq!(
        record(&mut state, &enrolled, SHARED, &digest(1), at(10)),
        Ok(Seen::Baseline)
    );
    assert!(state.images.values().all(|i| i.rebuild.pending.is_empty()));
    let after_baseline = state.clone();
    assert_eq!(
        record(&mut state, &enrolled, SHARED, &digest(1), at(20)),
        Ok(Seen::Known)
    );
    assert_eq!(state, after_baseline, "a known digest changes nothing");

    let seen = record(&mut state, &enrolled, SHARED, &digest(2), at(3600)).unwrap();
    assert_eq!(
        seen,
        Seen::Update {
            previous_digest: Some(digest(1)),
            seen_at: at(3600),
            dependents: vec!["img0".into(), "img1".into(), "img2".into()],
        }
    );
    let base = &state.bases[SHARED];
    assert_eq!(base.current_digest.as_deref(), Some(digest(2).as_str()));
    assert_eq!(base.previous_digest.as_deref(), Some(digest(1).as_str()));
    assert_eq!(base.rebuild_eligible_at["img0"], at(3600 + 24 * 3600));
    for image in ["img0", "img1", "img2"] {
        let pending = &state.images[image].rebuild.pending;
        assert_eq!(pending.len(), 1, "{image}");
        assert_eq!(pending[0].eligible_at, at(3600 + 24 * 3600));
    }
    // Images on other bases are untouched.
    let other = state.bases.keys().find(|k| *k != SHARED).unwrap().clone();
    assert_eq!(
        record(&mut state, &enrolled, &other, &digest(9), at(7200)),
        Ok(Seen::Baseline)
    );

    // A newer digest adds an entry; the older one keeps its clock.
    record(&mut state, &enrolled, SHARED, &digest(3), at(7200)).unwrap();
    let pending = &state.images["img1"].rebuild.pending;
    let clocks: Vec<_> = pending
        .iter()
        .map(|p| (p.digest.clone(), p.eligible_at))
        .collect();
    assert_eq!(
        clocks,
        [
            (digest(2), at(3600 + 24 * 3600)),
            (digest(3), at(7200 + 24 * 3600))
        ]
    );

    // What was recorded survives the state files and the next analysis unchanged.
    let files = image_factory_state::store::render_all(&state).unwrap();
    let mut checked = 0;
    for (path, text) in &files {
        let file = path.to_string_lossy();
        if let Some(name) = file
            .strip_prefix("state/images/")
            .and_then(|f| f.strip_suffix(".yaml"))
        {
            let parsed = image_factory_state::format::parse_image(text, &file).unwrap();
            assert_eq!(parsed, state.images[name], "{file}");
            checked += 1;
        } else if let Some(id) = file
            .strip_prefix("state/base-images/")
            .and_then(|f| f.strip_suffix(".yaml"))
        {
            let parsed = image_factory_state::format::parse_base(text, &file).unwrap();
            assert_eq!(parsed, state.bases[id], "{file}");
            checked += 1;
        }
    }
    assert_eq!(checked, state.images.len() + state.bases.len());
    let analysed = run(&state, &small_fleet(), at(9000)).state;
    assert_eq!(
        analysed, state,
        "a no-op analysis keeps every recorded digest and pending entry"
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (mut state, enrolled) = fleet();
    let before = state.clone();
    assert_eq!(
        record(&mut state, &enrolled, "nope", &digest(1), at(1)),
        Err(RecordError::UnknownBase("nope".into()))
    );
    for bad in ["sha256:abc", "latest", "", "sha256:XYZ"] {
        let err = record(&mut state, &enrolled, SHARED, bad, at(1)).unwrap_err();
        assert!(matches!(err, RecordError::BadDigest { .. }), "{bad}: {err}");
    }
    assert_eq!(state, before);
}

proptest! {
    /// Any sequence of sightings: recording each twice is recording it once (idempotent), the
    /// history stays bounded and newest first, and every update ever recorded is still pending
    /// for each dependent with the clock it got when first seen.
    #[test]
    fn sightings_are_idempotent_bounded_and_keep_their_clocks(
        seq in prop::collection::vec(0u64..30, 1..60)
    ) {
        let (mut once, enrolled) = fleet();
        let mut twice = once.clone();
        let mut updates = Vec::new();
        for (i, n) in seq.iter().enumerate() {
            let now = at(i64::try_from(i).unwrap() * 60);
            let seen = record(&mut once, &enrolled, SHARED, &digest(*n), now).unwrap();
            if matches!(seen, Seen::Update { .. }) && !updates.iter().any(|(d, _)| *d == digest(*n)) {
                updates.push((digest(*n), now));
            }
            record(&mut twice, &enrolled, SHARED, &digest(*n), now).unwrap();
            let again = record(&mut twice, &enrolled, SHARED, &digest(*n), now).unwrap();
            prop_assert_eq!(again, Seen::Known);
        }
        prop_assert_eq!(&once, &twice);
        let history = &once.bases[SHARED].update_history;
        prop_assert!(history.len() <= BASE_HISTORY_LIMIT);
        prop_assert!(history.windows(2).all(|w| w[0].seen_at >= w[1].seen_at));
        let pending: Vec<_> = once.images["img2"]
            .rebuild
            .pending
            .iter()
            .map(|p| (p.digest.clone(), p.seen_at))
            .collect();
        prop_assert_eq!(pending, updates);
    }
}

/// A recorded build closes the rebuild in flight: the entries its dispatch covered move into the
/// history entry, a younger digest stays pending, the last dispatch becomes `built`.
#[test]
fn a_build_incorporates_what_its_dispatch_covered_only() {
    use image_factory_state::update::{BuildRecord, Input, update};
    use model::state::{InFlight, LastRebuild, PinnedBase, RebuildReason, RebuildResult};
    let (mut state, enrolled) = fleet();
    record(&mut state, &enrolled, SHARED, &digest(1), at(10)).unwrap();
    record(&mut state, &enrolled, SHARED, &digest(2), at(100)).unwrap();
    record(&mut state, &enrolled, SHARED, &digest(3), at(200)).unwrap();
    let image = state.images.get_mut("img0").unwrap();
    let older = image.rebuild.pending[0].clone();
    assert_eq!(older.digest, digest(2));
    image.rebuild.in_flight = Some(InFlight {
        at: at(90_000),
        covers: vec![older.clone()],
        attempt: 1,
    });
    image.rebuild.last = Some(LastRebuild {
        at: at(90_000),
        reason: RebuildReason::Scheduled,
        bases: vec![PinnedBase {
            base: SHARED.to_owned(),
            digest: digest(2),
        }],
        provider: "github".to_owned(),
        result: RebuildResult::Dispatched,
        run_url: None,
        attempt: 1,
    });
    let specs = small_fleet();
    let outcomes = outcomes(&specs);
    let build = BuildRecord {
        image: "img0".to_owned(),
        tag: "1.0.1".to_owned(),
        digest: digest(9),
    };
    let next = update(
        &state,
        &Input {
            build: Some(&build),
            ..Input::new(&enrolled, &outcomes, at(95_000))
        },
    )
    .state;
    let image = &next.images["img0"];
    assert_eq!(image.rebuild.in_flight, None);
    assert_eq!(image.history[0].incorporated, vec![older]);
    let pending: Vec<&str> = image
        .rebuild
        .pending
        .iter()
        .map(|p| p.digest.as_str())
        .collect();
    assert_eq!(pending, [digest(3).as_str()]);
    assert_eq!(
        image.rebuild.last.as_ref().unwrap().result,
        RebuildResult::Built
    );
}
