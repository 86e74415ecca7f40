//! Properties of SPEC §11 over generated fleets: #3 a Warehouse exists iff something watches it,
//! #5 every discovered base has a state file and a Warehouse, #8 every (image, base) dependency is
//! covered by exactly one observe Stage (`monitoring.bases: kargo`) or `check` entry
//! (`analyzer`), #10 base Warehouses poll no more often than `baseInterval`, #11 intervals on one
//! registry are distinct, #17 git watch paths cover the Dockerfile's directory, #19 every name is a DNS-1123 label ≤ 63,
//! #20 output is deterministic and re-parses to the same objects. Every output also passes the
//! Kargo rules and (when available) the strict JSON Schemas. The state is made by the state
//! crate's merge from the generated enrolment and FROM lists (`common::merged`); lifecycle over
//! several runs is in `properties_state.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use image_factory_synth::kargo::{Object, Subscription};
use image_factory_synth::{fleet, parse_objects, synthesize};
use model::duration::Duration;
use model::enrollment::{EffectiveImage, Provider, UpdateKind, UpdateTarget, dir_of};
use model::names::{MAX_LABEL_LEN, is_dns1123_label};
use model::settings::{BaseWatcher, Settings};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    delay_hours: u64,
    gitlab: bool,
    auto: bool,
    dockerfile: String,
    input: Option<(String, String)>,
    update: Option<(bool, String)>,
    bases: Vec<usize>,
    parent: Option<usize>,
}

fn base_pool() -> Vec<String> {
    vec![
        "node:22-bookworm-slim".into(),
        "node:20".into(),
        "python:3.12-slim".into(),
        "gcr.io/distroless/static-debian12:nonroot".into(),
        "mcr.microsoft.com/playwright:v1.40.0-focal".into(),
        "registry.example.com:5000/some/very/long/path/to/an/image/that/is/long:1.2.3-with-a-long-tag".into(),
        "quay.io/acme/tool:on".into(),
        "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
        "debian".into(),
        "ghcr.io/x/y:1.10".into(),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        "[a-z]([a-z0-9]|-[a-z0-9]){0,19}",
        prop_oneof![Just(0u64), Just(36), Just(72), Just(168), 1u64..400],
        any::<bool>(),
        any::<bool>(),
        "([a-z0-9._-]{1,12}/){0,3}Dockerfile",
        proptest::option::of(("[A-Za-z_][A-Za-z0-9_-]{0,10}", "[ -~]{0,20}")),
        proptest::option::of((
            any::<bool>(),
            "[a-z]{1,8}(/[a-z.]{1,8}){0,2}/[a-z]{1,8}\\.yaml",
        )),
        proptest::collection::vec(0usize..10, 0..4),
        proptest::option::of(0usize..8),
    )
        .prop_map(
            |(name, delay_hours, gitlab, auto, dockerfile, input, update, bases, parent)| Spec {
                name,
                delay_hours,
                gitlab,
                auto,
                dockerfile,
                input,
                update,
                bases,
                parent,
            },
        )
}

fn build(specs: &[Spec]) -> (Vec<EffectiveImage>, BTreeMap<String, Vec<String>>) {
    let pool = base_pool();
    let mut images: Vec<EffectiveImage> = Vec::new();
    let mut deps = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for s in specs {
        if !seen.insert(s.name.clone()) {
            continue;
        }
        let mut image = fleet::managed(&s.name, "acme/repo", Duration::from_hours(s.delay_hours));
        image.auto_rebuild = s.auto;
        let src = image.source.as_mut().unwrap();
        src.dockerfile = s.dockerfile.clone();
        src.context = dir_of(&s.dockerfile);
        if s.gitlab {
            src.provider = Provider::Gitlab;
            src.repo = "acme/group/repo".into();
        }
        if let Some((k, v)) = &s.input
            && !v.contains("{{")
            && !v.contains("}}")
            && !v.contains("${")
            && !v.contains("{%")
        {
            src.inputs.insert(k.clone(), v.clone());
        }
        if let Some((kustomize, path)) = &s.update {
            image.updates.push(UpdateTarget {
                repo: "acme/gitops".into(),
                path: path.clone(),
                kind: if *kustomize {
                    UpdateKind::KustomizeSetImage
                } else {
                    UpdateKind::YamlUpdate
                },
                key: (!kustomize).then(|| "image.tag".into()),
                branch: None,
            });
        }
        let mut refs: Vec<String> = s.bases.iter().map(|i| pool[*i].clone()).collect();
        // Parents only among earlier images: acyclic by construction.
        if let Some(p) = s.parent
            && let Some(parent) = images.get(p)
        {
            refs.push(format!("ghcr.io/acme/{}:1", parent.name));
        }
        deps.insert(s.name.clone(), refs);
        images.push(image);
    }
    (images, deps)
}

fn names_of(objects: &[Object], kind: &str) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|o| o.kind() == kind)
        .map(|o| o.name().to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn synthesis_properties(
        specs in proptest::collection::vec(spec(), 1..8),
        stagger in any::<bool>(),
        analyzer in any::<bool>(),
    ) {
        let (images, deps) = build(&specs);
        let state = common::merged(&images, &deps);
        let mut settings = Settings::default();
        settings.state_repo.url = Some("https://github.com/acme/factory.git".into());
        settings.monitoring.stagger = stagger;
        if analyzer {
            settings.monitoring.bases = BaseWatcher::Analyzer;
        }
        let m = synthesize(&images, &settings, &state)
            .unwrap_or_else(|e| panic!("{e}"));
        common::assert_valid(&m.yaml);

        // #20 deterministic, re-parses to the same objects.
        let again = synthesize(&images, &settings, &state).unwrap();
        prop_assert_eq!(&again.yaml, &m.yaml);
        prop_assert_eq!(&parse_objects(&m.yaml).unwrap(), &m.objects);

        // #19 names.
        for o in &m.objects {
            prop_assert!(is_dns1123_label(o.name(), MAX_LABEL_LEN), "{}", o.name());
        }

        // #3 / #5: base Warehouses = watched bases with dependents (none when the analyzer
        // watches); each has a state file.
        let watched: BTreeSet<String> = state
            .images
            .values()
            .flat_map(|s| s.base_images.iter())
            .filter(|id| state.bases[*id].watch.is_some())
            .map(|id| model::names::base_warehouse(id))
            .collect();
        let warehouses = names_of(&m.objects, "Warehouse");
        let base_wh: BTreeSet<String> =
            warehouses.iter().filter(|n| n.starts_with("base-")).cloned().collect();
        if analyzer {
            prop_assert!(base_wh.is_empty(), "{base_wh:?}");
        } else {
            prop_assert_eq!(&base_wh, &watched);
        }
        for id in state.images.values().flat_map(|s| s.base_images.iter()) {
            prop_assert!(state.bases.contains_key(id));
        }
        let image_wh: BTreeSet<String> =
            images.iter().map(|i| model::names::image_warehouse(&i.name)).collect();
        let image_wh_out: BTreeSet<String> =
            warehouses.iter().filter(|n| n.starts_with("image-")).cloned().collect();
        prop_assert_eq!(image_wh_out, image_wh);

        // #8: every (managed image, watched base) dependency is covered exactly once: by the
        // base's one observe Stage (Freight straight from `base-<id>`, verified with the observe
        // template, which records the digest), or, with the analyzer watching, by `analyzer
        // check` in the trigger CronJob (it checks every base with a watch).
        let stages: BTreeMap<&str, &image_factory_synth::kargo::Stage> = m
            .objects
            .iter()
            .filter_map(|o| match o { Object::Stage(s) => Some((s.metadata.name.as_str(), s)), _ => None })
            .collect();
        let cron = m.objects.iter().find_map(|o| match o { Object::CronJob(c) => Some(c), _ => None }).expect("CronJob");
        let main = &cron.spec.job_template.spec.template.spec.containers[0];
        let runs_check = main.args.iter().any(|a| a.contains(" check "));
        prop_assert_eq!(runs_check, analyzer);
        for s in state.images.values() {
            for id in s.base_images.iter().filter(|id| state.bases[*id].watch.is_some()) {
                let wh = model::names::base_warehouse(id);
                let observing: Vec<&&image_factory_synth::kargo::Stage> = stages
                    .values()
                    .filter(|st| st.spec.requested_freight.iter().any(|r| r.origin.name == wh))
                    .collect();
                if analyzer {
                    prop_assert!(observing.is_empty());
                    continue;
                }
                prop_assert_eq!(observing.len(), 1, "{} observed by {:?}", id, observing.len());
                let stage = observing[0];
                prop_assert_eq!(&stage.metadata.name, &model::names::observe_stage(id));
                prop_assert!(stage.spec.requested_freight[0].sources.direct);
                let v = stage.spec.verification.as_ref().expect("verification");
                prop_assert_eq!(&v.analysis_templates[0].name, "image-factory-observe");
                prop_assert_eq!(&v.args[0].value, id);
            }
        }
        // The old design's Stages are gone: Kargo neither soaks nor dispatches.
        prop_assert!(stages.keys().all(|n| n.starts_with("analyze-") || n.starts_with("observe-") || n.starts_with("update-")), "{:?}", stages.keys());

        // #10 / #11 intervals.
        let mut per_registry: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for o in &m.objects {
            let Object::Warehouse(w) = o else { continue };
            let Some(Subscription::Image(sub)) = w.spec.subscriptions.first() else { continue };
            if sub.image_selection_strategy != "Digest" { continue; }
            let interval = w.spec.interval.clone();
            let secs = parse_go(&interval);
            prop_assert!(secs >= settings.monitoring.base_interval.as_secs(), "{interval}");
            let registry = sub.repo_url.split('/').next().unwrap().to_owned();
            per_registry.entry(registry).or_default().push(interval);
        }
        if stagger {
            for (registry, intervals) in per_registry {
                let distinct: BTreeSet<&String> = intervals.iter().collect();
                prop_assert_eq!(distinct.len(), intervals.len(), "{}", registry);
            }
        }

        // #17 git watch paths cover the Dockerfile's directory.
        for image in &images {
            let src = image.source.as_ref().unwrap();
            let wh = m.objects.iter().find(|o| o.name() == model::names::image_warehouse(&image.name));
            let Some(Object::Warehouse(w)) = wh else { panic!("no warehouse") };
            let git = w.spec.subscriptions.iter().find_map(|s| match s { Subscription::Git(g) => Some(g), _ => None }).unwrap();
            let dir = format!("{}/", dir_of(&src.dockerfile));
            let dir = dir.trim_start_matches("./");
            prop_assert!(
                git.include_paths.is_empty() || git.include_paths.iter().any(|p| dir.starts_with(p.as_str())),
                "{:?} does not cover {}", git.include_paths, dir
            );
        }

        // Workflow inputs are the engine's business: no manifest carries them.
        for image in &images {
            for v in image.source.as_ref().unwrap().inputs.values() {
                if v.len() < 12 { continue; }
                prop_assert!(!m.yaml.contains(v.as_str()), "{v} in the manifests");
            }
        }
    }
}

fn parse_go(s: &str) -> u64 {
    let mut total = 0;
    let mut n = 0;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            n = n * 10 + u64::from(d);
        } else {
            total += n * match c {
                'h' => 3600,
                'm' => 60,
                _ => 1,
            };
            n = 0;
        }
    }
    total
}

#[test]
fn cycles_are_named() {
    let a = fleet::managed("a", "acme/a", Duration::from_days(7));
    let b = fleet::managed("b", "acme/b", Duration::from_days(7));
    let deps = BTreeMap::from([
        (
            "a".to_owned(),
            vec!["node:22".to_owned(), "ghcr.io/acme/b:1".to_owned()],
        ),
        ("b".to_owned(), vec!["ghcr.io/acme/a:1".to_owned()]),
    ]);
    let images = vec![a, b];
    let state = common::merged(&images, &deps);
    let err = synthesize(&images, &Settings::default(), &state).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("cycle") && text.contains("a → b → a") || text.contains("b → a → b"),
        "{text}"
    );
}

#[test]
fn generated_fleet_has_no_violations() {
    // A few hundred images of the benchmark fleet (the 10,000-image run is `examples/fleet_bench`).
    let (images, state) = fleet::generate(400, 120);
    let mut settings = Settings::default();
    settings.state_repo.url = Some("https://github.com/acme/factory.git".into());
    let m = synthesize(&images, &settings, &state).unwrap();
    common::assert_valid(&m.yaml);
    let count = |prefix: &str| {
        m.objects
            .iter()
            .filter(|o| o.kind() == "Stage" && o.name().starts_with(prefix))
            .count()
    };
    assert_eq!(count("analyze-"), 400);
    assert_eq!(count("observe-"), m.plan.bases.len());
    assert!(count("observe-") > 0);
}
