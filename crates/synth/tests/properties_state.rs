//! SPEC §11 properties of synthesis on state made by the state crate's real merge
//! ([`image_factory_state::update::update`]), not by `synth::fleet`'s builder: generated
//! enrolments and discovery results go through three analyzer runs (so images are enrolled, removed,
//! demoted to bases, promoted back, fail their analysis and keep their previous
//! dependencies), and synthesis of each resulting state must satisfy #3 a Warehouse exists iff
//! something watches it, #5 every discovered base has a state file and a Warehouse, #8 every
//! (managed image, watched base) dependency is covered by exactly one observe Stage, #19
//! every name is a DNS-1123 label ≤ 63, #20 output is deterministic, re-parses to the same objects,
//! and (with #2) does not change when the merge is re-applied. Every output also passes the Kargo
//! rules and (when available) the strict JSON Schemas.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use image_factory_synth::kargo::{Object, Stage};
use image_factory_synth::{parse_objects, synthesize};
use model::enrollment::EffectiveImage;
use model::names::{self, MAX_LABEL_LEN, is_dns1123_label};
use model::reference::ImageRef;
use model::settings::Settings;
use model::state::State;
use model::time::Timestamp;
use proptest::prelude::*;
use state::discover::{Discovered, Outcome};
use state::update::{Input, update};

/// Upstream references: tagged, untagged, digest-pinned, several registries, and one long enough
/// that every name derived from it must be shortened.
const POOL: &[&str] = &[
    "node:22-bookworm-slim",
    "python:3.12-slim",
    "golang:1.23",
    "debian",
    "gcr.io/distroless/static-debian12:nonroot",
    "mcr.microsoft.com/playwright:v1.40.0-focal",
    "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "registry.example.com:5000/some/very/long/path/to/an/image/that/is/long:1.2.3-with-a-long-tag",
];

/// Analyzer runs per case: enough for remove → demote → re-enrol → promote.
const RUNS: usize = 3;

/// One image slot (`img<N>`) in each of the [`RUNS`] runs.
#[derive(Clone, Debug)]
struct Slot {
    /// External (watched upstream image) instead of managed.
    external: bool,
    /// Rebuild delay in hours.
    delay_hours: u32,
    /// Per run: enrolled, analysis fails, FROM references.
    runs: [Run; RUNS],
}

#[derive(Clone, Debug)]
struct Run {
    enrolled: bool,
    fails: bool,
    /// Indexes into [`POOL`].
    bases: Vec<usize>,
    /// Earlier slots built FROM (`ghcr.io/acme/img<k>`, k < this slot: acyclic), and whether the
    /// image builds FROM an earlier version of itself.
    parents: Vec<usize>,
    itself: bool,
}

fn run() -> impl Strategy<Value = Run> {
    (
        prop::bool::weighted(0.75),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..POOL.len(), 0..4),
        prop::collection::vec(0usize..8, 0..3),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(enrolled, fails, bases, parents, itself)| Run {
            enrolled,
            fails,
            bases,
            parents,
            itself,
        })
}

fn slot() -> impl Strategy<Value = Slot> {
    (
        prop::bool::weighted(0.15),
        prop_oneof![Just(0u32), Just(36), Just(168), 1u32..400],
        run(),
        run(),
        run(),
    )
        .prop_map(|(external, delay_hours, a, b, c)| Slot {
            external,
            delay_hours,
            runs: [a, b, c],
        })
}

/// images.yaml of run `r`.
fn images_yaml(slots: &[Slot], r: usize) -> String {
    let mut text = String::new();
    for (i, s) in slots.iter().enumerate().filter(|(_, s)| s.runs[r].enrolled) {
        if s.external {
            text.push_str(&format!(
                "- name: img{i}\n  registry: docker.io\n  repository: acme/ext{i}\n  tag: \"{i}\"\n"
            ));
        } else {
            text.push_str(&format!(
                "- name: img{i}\n  repository: acme/img{i}\n  source:\n    repo: acme/img{i}\n  rebuildDelay: {}h\n",
                s.delay_hours
            ));
        }
    }
    text
}

fn enrollment(slots: &[Slot], r: usize) -> Vec<EffectiveImage> {
    let text = images_yaml(slots, r);
    if text.is_empty() {
        return Vec::new();
    }
    common::config(&text, None).0
}

/// Discovery results of run `r`, as the analyzer hands them to the merge.
fn outcomes(slots: &[Slot], r: usize) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    for (i, s) in slots.iter().enumerate() {
        let run = &s.runs[r];
        if !run.enrolled || s.external {
            continue;
        }
        let outcome = if run.fails {
            Outcome::failed(state::discover::DiscoveryError::Dockerfile(vec![
                "Dockerfile:1: unknown instruction: FORM".to_owned(),
            ]))
        } else {
            let mut refs: Vec<String> = run.bases.iter().map(|b| POOL[*b].to_owned()).collect();
            refs.extend(
                run.parents
                    .iter()
                    .filter(|k| **k < i)
                    .map(|k| format!("ghcr.io/acme/img{k}:1")),
            );
            if run.itself {
                refs.push(format!("ghcr.io/acme/img{i}:0.9"));
            }
            let mut from: Vec<ImageRef> = Vec::new();
            for r in refs {
                let r = ImageRef::parse_normalized(&r).unwrap();
                if !from.contains(&r) {
                    from.push(r);
                }
            }
            Outcome::Success(Discovered {
                dockerfile_digest: format!("sha256:{:064x}", i + 1000 * r),
                from,
                other: Vec::new(),
            })
        };
        out.insert(format!("img{i}"), outcome);
    }
    out
}

fn merge(
    prev: &State,
    enrollment: &[EffectiveImage],
    outcomes: &BTreeMap<String, Outcome>,
    now: i64,
) -> State {
    update(
        prev,
        &Input::new(
            enrollment,
            outcomes,
            Timestamp::from_unix_seconds(1_767_225_600 + now).unwrap(),
        ),
    )
    .state
}

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.state_repo.url = Some("https://github.com/acme/factory.git".into());
    settings
}

/// Checks SPEC §11 #3, #5, #8, #19, #20 for one (enrolment, state) pair.
fn check(images: &[EffectiveImage], state: &State) -> Result<(), TestCaseError> {
    let settings = settings();
    let m = synthesize(images, &settings, state).map_err(|e| TestCaseError::fail(e.to_string()))?;
    common::assert_valid(&m.yaml);

    // #20: deterministic, re-parses to the same objects.
    let again = synthesize(images, &settings, state).unwrap();
    prop_assert_eq!(&again.yaml, &m.yaml);
    prop_assert_eq!(&parse_objects(&m.yaml).unwrap(), &m.objects);

    // #19: every name (and namespace) is a DNS-1123 label ≤ 63.
    for o in &m.objects {
        prop_assert!(is_dns1123_label(o.name(), MAX_LABEL_LEN), "{}", o.name());
    }

    let managed: Vec<&EffectiveImage> = images.iter().filter(|i| i.is_managed()).collect();
    let warehouses: BTreeSet<&str> = m
        .objects
        .iter()
        .filter(|o| o.kind() == "Warehouse")
        .map(|o| o.name())
        .collect();
    let stages: BTreeMap<&str, &Stage> = m
        .objects
        .iter()
        .filter_map(|o| match o {
            Object::Stage(s) => Some((s.metadata.name.as_str(), s)),
            _ => None,
        })
        .collect();

    // #5: every base an enrolled managed image depends on has a state file (live, not archived);
    // #3: base Warehouses are exactly the watched ones among them.
    let mut watched = BTreeSet::new();
    for image in &managed {
        let s = &state.images[&image.name];
        prop_assert!(
            s.archived.is_none(),
            "{} is enrolled but archived",
            image.name
        );
        for id in &s.base_images {
            let base = state.bases.get(id);
            prop_assert!(
                base.is_some(),
                "{}: base {id} has no state file",
                image.name
            );
            let base = base.unwrap();
            prop_assert!(
                base.archived.is_none(),
                "{}: base {id} is archived",
                image.name
            );
            prop_assert!(
                base.dependents.contains(&image.name),
                "{id} does not list {}",
                image.name
            );
            if base.watch.is_some() {
                prop_assert!(
                    warehouses.contains(names::base_warehouse(id).as_str()),
                    "no Warehouse for {id}"
                );
                watched.insert(names::base_warehouse(id));
            } else {
                prop_assert!(
                    base.pinned_digest.is_some(),
                    "{id} is neither watched nor pinned"
                );
            }
        }
    }
    let base_warehouses: BTreeSet<String> = warehouses
        .iter()
        .filter(|w| w.starts_with("base-"))
        .map(|w| (*w).to_owned())
        .collect();
    prop_assert_eq!(&base_warehouses, &watched);
    // #3 for images: one Warehouse per enrolled image, none for anything else.
    let image_warehouses: BTreeSet<String> = warehouses
        .iter()
        .filter(|w| !w.starts_with("base-"))
        .map(|w| (*w).to_owned())
        .collect();
    let enrolled: BTreeSet<String> = images
        .iter()
        .map(|i| names::image_warehouse(&i.name))
        .collect();
    prop_assert_eq!(&image_warehouses, &enrolled);

    // #8: each (managed image, watched base) dependency is covered by exactly one Stage, the
    // base's `observe-<id>`, which takes the base's Freight directly; a managed parent's builds
    // are recorded by its own `analyze-<parent>` (the engine cascades from that record).
    for image in &managed {
        let s = &state.images[&image.name];
        for id in s
            .base_images
            .iter()
            .filter(|id| state.bases[*id].watch.is_some())
        {
            let wh = names::base_warehouse(id);
            let observing: Vec<&str> = stages
                .iter()
                .filter(|(_, st)| {
                    st.spec
                        .requested_freight
                        .iter()
                        .any(|r| r.origin.name == wh)
                })
                .map(|(n, _)| *n)
                .collect();
            let observe = names::observe_stage(id);
            prop_assert_eq!(observing, vec![observe.as_str()], "{}", id);
        }
        for parent in s.managed_parents.iter().filter(|p| **p != image.name) {
            let analyze = names::analyze_stage(parent);
            prop_assert!(stages.contains_key(analyze.as_str()), "{analyze} missing");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn synthesis_of_merged_state(slots in prop::collection::vec(slot(), 1..9)) {
        let mut state = State::default();
        for r in 0..RUNS {
            let images = enrollment(&slots, r);
            let outcomes = outcomes(&slots, r);
            state = merge(&state, &images, &outcomes, 3600 * r as i64);
            check(&images, &state)?;
            // #2 with #20: re-applying the merge changes nothing, so neither does the output.
            let again = merge(&state, &images, &outcomes, 3600 * r as i64 + 60);
            let settings = settings();
            prop_assert_eq!(
                synthesize(&images, &settings, &again).unwrap().yaml,
                synthesize(&images, &settings, &state).unwrap().yaml
            );
        }
    }
}

/// The lifecycle the generated cases reach only sometimes, spelled out: `app` builds FROM the
/// managed `lib`; `lib` leaves the enrolment (demoted: `app` now watches it as a base), then comes
/// back (promoted: `app` cascades from it again).
#[test]
fn demotion_and_promotion_reach_the_manifests() {
    let slot = |bases: Vec<usize>, parents: Vec<usize>, enrolled: [bool; RUNS]| Slot {
        external: false,
        delay_hours: 24,
        runs: enrolled.map(|enrolled| Run {
            enrolled,
            fails: false,
            bases: bases.clone(),
            parents: parents.clone(),
            itself: false,
        }),
    };
    let slots = [
        slot(vec![0], vec![], [true, false, true]),
        slot(vec![1], vec![0], [true, true, true]),
    ];
    let lib_base = names::base_id(&ImageRef::parse_normalized("ghcr.io/acme/img0:1").unwrap());
    let mut state = State::default();
    // What watches `lib` in each run: its own analyze Stage (cascade) or an observe Stage.
    let mut watchers = Vec::new();
    for r in 0..RUNS {
        let images = enrollment(&slots, r);
        state = merge(&state, &images, &outcomes(&slots, r), 3600 * r as i64);
        check(&images, &state).unwrap();
        let m = synthesize(&images, &settings(), &state).unwrap();
        let has = |name: String| {
            m.objects
                .iter()
                .any(|o| o.kind() == "Stage" && o.name() == name)
        };
        watchers.push((
            has(names::analyze_stage("img0")),
            has(names::observe_stage(&lib_base)),
        ));
    }
    assert_eq!(watchers, [(true, false), (false, true), (true, false)]);
}
