//! Helpers shared by the state tests: fleets described compactly, turned into enrolment and
//! discovery outcomes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use image_factory_state::discover::{Discovered, DiscoveryError, Outcome};
use image_factory_state::update::{Input, Update, update};
use model::enrollment::EffectiveImage;
use model::reference::ImageRef;
use model::state::{HistoryEntry, HistoryEvent, State};
use model::time::Timestamp;

/// Upstream images and, for `ghcr.io/acme/img<N>`, the managed images themselves (cascades).
pub const POOL: &[&str] = &[
    "node:22-bookworm-slim",
    "python:3.12-slim",
    "golang:1.23",
    "alpine:3.20",
    "busybox:1.36",
    "gcr.io/distroless/static-debian12:nonroot",
    "ghcr.io/acme/img0:1",
    "ghcr.io/acme/img1:1",
    "ghcr.io/acme/img2",
];

/// One image of a generated fleet.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Index (name `img<N>`).
    pub index: usize,
    /// Whether it is enrolled.
    pub enrolled: bool,
    /// External instead of managed.
    pub external: bool,
    /// Indexes into [`POOL`] of its FROM images.
    pub deps: Vec<usize>,
    /// Whether its analysis fails.
    pub fails: bool,
    /// Rebuild delay in hours (a configuration value).
    pub delay_hours: u32,
}

pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600 + seconds).unwrap()
}

/// images.yaml text of the enrolled specs.
pub fn images_yaml(specs: &[Spec]) -> String {
    let mut text = String::new();
    for s in specs.iter().filter(|s| s.enrolled) {
        if s.external {
            text.push_str(&format!(
                "- name: img{i}\n  registry: docker.io\n  repository: acme/ext{i}\n  tag: \"{i}\"\n",
                i = s.index
            ));
        } else {
            text.push_str(&format!(
                "- name: img{i}\n  repository: acme/img{i}\n  source:\n    repo: acme/img{i}\n  rebuildDelay: {h}h\n",
                i = s.index,
                h = s.delay_hours.max(1)
            ));
        }
    }
    text
}

pub fn enrollment(specs: &[Spec]) -> Vec<EffectiveImage> {
    enrollment_of(&images_yaml(specs))
}

pub fn enrollment_of(text: &str) -> Vec<EffectiveImage> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let config = model::config::validate_factory(text, "images.yaml", None);
    config
        .resolved()
        .unwrap_or_else(|| panic!("invalid test enrolment: {:?}", config.diagnostics))
}

pub fn outcome_of(spec: &Spec) -> Outcome {
    if spec.fails {
        return Outcome::Failed {
            dockerfile_digest: Some(format!("sha256:{:064x}", spec.index)),
            error: DiscoveryError::Dockerfile(vec![
                "Dockerfile:1: unknown instruction: FORM".to_owned(),
            ]),
        };
    }
    Outcome::Success(Discovered {
        dockerfile_digest: format!("sha256:{:064x}", spec.index + 1000),
        from: spec
            .deps
            .iter()
            .map(|d| ImageRef::parse_normalized(POOL[*d]).unwrap())
            .collect(),
        other: Vec::new(),
    })
}

pub fn outcomes(specs: &[Spec]) -> BTreeMap<String, Outcome> {
    specs
        .iter()
        .filter(|s| s.enrolled && !s.external)
        .map(|s| (format!("img{}", s.index), outcome_of(s)))
        .collect()
}

/// Runs [`update`] on a fleet with nothing frozen.
pub fn run(prev: &State, specs: &[Spec], now: Timestamp) -> Update {
    let enrollment = enrollment(specs);
    let outcomes = outcomes(specs);
    run_with(prev, &enrollment, &outcomes, now)
}

pub fn run_with(
    prev: &State,
    enrollment: &[EffectiveImage],
    outcomes: &BTreeMap<String, Outcome>,
    now: Timestamp,
) -> Update {
    update(prev, &Input::new(enrollment, outcomes, now))
}

/// Simulates `check`/`trigger`: runtime data on every image and base, derived from `seed`.
pub fn add_runtime(state: &mut State, seed: u64, builds: usize) {
    for (n, image) in state.images.values_mut().enumerate() {
        let k = seed.wrapping_add(n as u64);
        image.current_version = Some(format!("1.{k}.0"));
        image.current_digest = Some(format!("sha256:{:064x}", k));
        image.last_built = Some(at(100 + k as i64 % 1000));
        for b in 0..builds {
            image.history.insert(
                0,
                HistoryEntry {
                    at: at(10 + b as i64),
                    event: HistoryEvent::Built,
                    version: Some(format!("1.{b}.0")),
                    digest: Some(format!("sha256:{:064x}", k * 100 + b as u64)),
                    incorporated: Vec::new(),
                    note: None,
                },
            );
        }
    }
    for (n, base) in state.bases.values_mut().enumerate() {
        let k = seed.wrapping_add(n as u64 * 7);
        base.current_digest = Some(format!("sha256:{:064x}", k + 5));
        base.previous_digest = Some(format!("sha256:{:064x}", k + 4));
        base.last_updated = Some(at(50));
        base.last_checked = Some(at(60));
        base.update_history = vec![model::state::DigestSeen {
            digest: format!("sha256:{:064x}", k + 5),
            seen_at: at(50),
        }];
        base.metadata
            .insert("architecture".to_owned(), serde_json::json!("amd64"));
        for dependent in base.dependents.clone() {
            base.rebuild_eligible_at.insert(dependent, at(50 + 3600));
        }
    }
}

/// Three enrolled managed images, each on its own base plus one shared base.
#[allow(dead_code)] // not every test binary uses every helper
pub fn small_fleet() -> Vec<Spec> {
    (0..3)
        .map(|index| Spec {
            index,
            enrolled: true,
            external: false,
            deps: vec![index, 4],
            fails: false,
            delay_hours: 24,
        })
        .collect()
}
