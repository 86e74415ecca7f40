//! Builders of in-memory state, for tests, property tests and benchmarks: state files for given
//! dependencies ([`image_state`], [`base_state`], [`state_for`]) and a synthetic fleet of any size
//! ([`generate`]). Pure and deterministic.
//!
//! Not API: compiled only with the `test-util` feature, which this crate's own tests and examples
//! and other crates' tests enable as a dev-dependency feature. Tests of synthesis on realistic
//! state use the state crate's merge instead (`merged` in `tests/common/mod.rs`, and `tests/properties_state.rs`);
//! what remains here is the benchmark fleet and hand-made states for focused tests.

use std::collections::BTreeMap;

use model::duration::Duration;
use model::enrollment::{
    EffectiveImage, EffectiveSource, ImageKind, Priority, Provider, TagPolicy, UpdateKind,
    UpdateTarget,
};
use model::names;
use model::reference::ImageRef;
use model::state::{
    BaseImageState, ImageState, RebuildState, STATE_VERSION, State, Watch, WatchStrategy,
};
use model::time::Timestamp;

/// 2026-01-01T00:00:00Z, the time every generated state file carries.
pub fn epoch() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600).unwrap_or_else(|| Timestamp::from_jiff(jiff_zero()))
}

fn jiff_zero() -> jiff::Timestamp {
    jiff::Timestamp::UNIX_EPOCH
}

/// The state file of an enrolled image depending on base ids `bases` and managed `parents`.
pub fn image_state(image: &EffectiveImage, bases: &[String], parents: &[String]) -> ImageState {
    let mut bases = bases.to_vec();
    bases.sort();
    bases.dedup();
    let mut parents = parents.to_vec();
    parents.sort();
    parents.dedup();
    ImageState {
        version: STATE_VERSION,
        name: image.name.clone(),
        kind: image.kind,
        enrolled_at: epoch(),
        enrollment: image.clone(),
        watch: (!image.is_managed()).then(|| Watch {
            strategy: WatchStrategy::Digest,
            constraint: image.tag.clone().unwrap_or_else(|| "latest".to_owned()),
        }),
        discovery: None,
        depends_on: Vec::new(),
        base_images: bases,
        other_refs: Vec::new(),
        managed_parents: parents,
        current_version: None,
        current_digest: None,
        last_built: None,
        rebuild: RebuildState::default(),
        history: Vec::new(),
        archived: None,
    }
}

/// The state file of a base image (`None` when `reference` does not parse). A reference with a
/// digest is pinned and not watched.
pub fn base_state(reference: &str, dependents: &[String]) -> Option<BaseImageState> {
    let r = ImageRef::parse_normalized(reference).ok()?;
    let mut dependents = dependents.to_vec();
    dependents.sort();
    dependents.dedup();
    Some(BaseImageState {
        version: STATE_VERSION,
        id: names::base_id(&r),
        reference: r.canonical(),
        registry: r.domain().to_owned(),
        repository: r.path().to_owned(),
        tag: r.tag().map(str::to_owned),
        pinned_digest: r.digest().map(str::to_owned),
        watch: r.digest().is_none().then(|| Watch {
            strategy: WatchStrategy::Digest,
            constraint: r.tag_or_latest().to_owned(),
        }),
        first_discovered: epoch(),
        last_checked: None,
        current_digest: None,
        previous_digest: None,
        last_updated: None,
        dependents,
        rebuild_eligible_at: BTreeMap::new(),
        update_history: Vec::new(),
        metadata: BTreeMap::new(),
        demoted_from: None,
        archived: None,
    })
}

/// State for `images` where `deps` maps an image name to the references it builds FROM; a
/// reference naming an enrolled managed image (same registry/repository) becomes a managed parent.
pub fn state_for(images: &[EffectiveImage], deps: &BTreeMap<String, Vec<String>>) -> State {
    let managed: BTreeMap<String, String> = images
        .iter()
        .filter(|i| i.is_managed())
        .filter_map(|i| i.image_ref().map(|r| (r.name(), i.name.clone())))
        .collect();
    let mut state = State::default();
    let mut dependents: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for image in images {
        let mut bases = Vec::new();
        let mut parents = Vec::new();
        for reference in deps.get(&image.name).into_iter().flatten() {
            let Ok(r) = ImageRef::parse_normalized(reference) else {
                continue;
            };
            if let Some(parent) = managed.get(&r.name()) {
                parents.push(parent.clone());
                continue;
            }
            let id = names::base_id(&r);
            dependents
                .entry(id.clone())
                .or_insert_with(|| (reference.clone(), Vec::new()))
                .1
                .push(image.name.clone());
            bases.push(id);
        }
        let mut s = image_state(image, &bases, &parents);
        s.depends_on = deps
            .get(&image.name)
            .into_iter()
            .flatten()
            .filter_map(|r| ImageRef::parse_normalized(r).ok().map(|r| r.canonical()))
            .collect();
        s.depends_on.sort();
        s.depends_on.dedup();
        state.images.insert(image.name.clone(), s);
    }
    for (id, (reference, deps)) in dependents {
        if let Some(b) = base_state(&reference, &deps) {
            state.bases.insert(id, b);
        }
    }
    state
}

/// A managed image with defaults like those of `factory.yaml`'s defaults.
pub fn managed(name: &str, repo: &str, delay: Duration) -> EffectiveImage {
    EffectiveImage {
        name: name.to_owned(),
        kind: ImageKind::Managed,
        registry: "ghcr.io".to_owned(),
        repository: format!("acme/{name}"),
        tag: None,
        source: Some(EffectiveSource {
            provider: Provider::Github,
            repo: repo.to_owned(),
            branch: "main".to_owned(),
            dockerfile: format!("images/{name}/Dockerfile"),
            context: format!("images/{name}"),
            workflow: format!("{name}.yml"),
            generated_workflow: false,
            inputs: BTreeMap::new(),
            build_args: BTreeMap::new(),
            platform: "linux/amd64".to_owned(),
            pin_input: None,
            host: None,
        }),
        rebuild_delay: delay,
        auto_rebuild: true,
        priority: Priority::Normal,
        updates: Vec::new(),
        tag_policy: TagPolicy::default(),
        local: None,
    }
}

/// A synthetic fleet: `images` managed images over `bases` distinct upstream tags on a handful of
/// registries, each image with 1–3 bases, every tenth with a managed parent, every fifth on
/// GitLab, mixed delays and `updates`.
pub fn generate(images: usize, bases: usize) -> (Vec<EffectiveImage>, State) {
    let registries = [
        "docker.io/library/",
        "docker.io/bitnami/",
        "gcr.io/distroless/",
        "mcr.microsoft.com/dotnet/",
        "quay.io/acme/",
    ];
    let base_refs: Vec<String> = (0..bases.max(1))
        .map(|i| {
            let reg = registries[i % registries.len()];
            format!("{reg}img{}:{}.{}-slim", i / 7, i % 7, i % 13)
        })
        .collect();
    let delays = [
        Duration::from_days(7),
        Duration::from_hours(36),
        Duration::from_days(3),
        Duration::ZERO,
    ];
    let mut fleet = Vec::with_capacity(images);
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0..images {
        let name = format!("svc-{i:05}");
        let mut image = managed(&name, &format!("acme/repo-{}", i / 3), delays[i % 4]);
        if i % 5 == 0
            && let Some(s) = image.source.as_mut()
        {
            s.provider = Provider::Gitlab;
            s.repo = format!("acme/group-{}/repo-{i}", i % 11);
            s.inputs.insert("DEPLOY".to_owned(), "no".to_owned());
        }
        if i % 6 == 0 {
            image.auto_rebuild = false;
        }
        if i % 8 == 0 {
            image.updates.push(UpdateTarget {
                repo: "acme/gitops".to_owned(),
                path: format!("apps/{name}/kustomization.yaml"),
                kind: UpdateKind::KustomizeSetImage,
                key: None,
                branch: None,
            });
        }
        let n = base_refs.len();
        let mut refs: Vec<String> = (0..=(i % 3))
            .map(|k| base_refs[(i * 7 + k * 131) % n].clone())
            .collect();
        if i % 10 == 9 {
            // Cascade: build FROM an earlier managed image.
            refs.push(format!("ghcr.io/acme/svc-{:05}:1.0.0", i - 9));
        }
        deps.insert(name, refs);
        fleet.push(image);
    }
    let state = state_for(&fleet, &deps);
    (fleet, state)
}
