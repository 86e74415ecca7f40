//! The pure heart of the store: previous [`State`] + enrolment + discovery outcomes (+ a build
//! record) → new state (SPEC §7.4).
//!
//! Rules:
//! - configuration comes from `images.yaml` (`enrollment`, `kind`, `watch` are always rewritten);
//!   runtime data (`enrolledAt`, digests, `lastBuilt`, histories, `rebuild`, base `metadata`,
//!   `rebuildEligibleAt` of current dependents, `firstDiscovered`, ...) is carried over;
//! - an image whose discovery failed keeps its previous dependencies, with `discovery.status: failed`;
//! - removed images are demoted to base images when other managed images build from them, else
//!   archived with all history; re-enrolled images are restored from the archive when the
//!   registry/repository match (otherwise a fresh state is made and the archive kept);
//! - a base image whose registry/repository is enrolled as a managed image is promoted: dependents
//!   list the managed image in `managedParents` and the base file is archived (its watch stops);
//! - a base image without dependents is archived; one that gains dependents again is restored;
//! - an image building FROM its own repository (an earlier version of itself) keeps that reference in
//!   `dependsOn` only: it is neither a base nor a managed parent, so no rebuild loop arises.
//!
//! [`update`] is deterministic and idempotent: applying it to its own result with the same input
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use model::enrollment::{EffectiveImage, ImageKind};
use model::names::BaseIds;
use model::reference::ImageRef;
use model::state::{
    ArchiveReason, Archived, BASE_HISTORY_LIMIT, BaseImageState, DigestSeen, Discovery,
    DiscoveryStatus, HistoryEntry, HistoryEvent, IMAGE_HISTORY_LIMIT, ImageState, OtherRef,
    OtherRefKind, PendingUpdate, RebuildResult, RebuildState, STATE_VERSION, State, Watch,
    WatchStrategy,
};
use model::time::Timestamp;

use crate::discover::Outcome;

/// A new build of a managed image (`analyze --image NAME --built-tag TAG --built-digest DIGEST`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildRecord {
    /// The image.
    pub image: String,
    /// The tag built.
    pub tag: String,
    /// The digest built.
    pub digest: String,
}

/// Everything [`update`] needs besides the previous state.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The effective enrolment (all of `images.yaml`).
    pub enrollment: &'a [EffectiveImage],
    /// Discovery outcomes of the managed images analysed in this run, by name. An image without
    /// an outcome keeps its previous discovery.
    pub outcomes: &'a BTreeMap<String, Outcome>,
    /// `--image`: only these images are updated (the others' files are untouched, no lifecycle).
    pub only: Option<&'a BTreeSet<String>>,
    /// A build to record.
    pub build: Option<&'a BuildRecord>,
    /// Images whose state file could not be loaded: never touched.
    pub frozen_images: &'a BTreeSet<String>,
    /// Base ids whose state file could not be loaded: never touched.
    pub frozen_bases: &'a BTreeSet<String>,
    /// The time of this run.
    pub now: Timestamp,
    /// `coordination.cascadeDelay`: how long the children of a managed image whose build is
    /// recorded wait before they are rebuilt on it.
    pub cascade_delay: model::duration::Duration,
}

/// No names: the default of [`Input::new`]'s frozen sets.
static NONE: BTreeSet<String> = BTreeSet::new();

impl<'a> Input<'a> {
    /// A whole run over `enrollment` with these `outcomes` at `now`: every image in scope, no
    /// build to record, no file that failed to load. Set the other fields for the rest.
    pub fn new(
        enrollment: &'a [EffectiveImage],
        outcomes: &'a BTreeMap<String, Outcome>,
        now: Timestamp,
    ) -> Self {
        Self {
            enrollment,
            outcomes,
            only: None,
            build: None,
            frozen_images: &NONE,
            frozen_bases: &NONE,
            now,
            cascade_delay: model::duration::Duration::ZERO,
        }
    }
}

/// What changed, for the summary and the commit message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Event {
    /// A new image was enrolled.
    Enrolled {
        /// Image.
        name: String,
    },
    /// A re-enrolled image was restored from the archive.
    Restored {
        /// Image.
        name: String,
    },
    /// A re-enrolled image's archive was not restored (different registry/repository).
    RestoreRefused {
        /// Image.
        name: String,
        /// Why.
        reason: String,
    },
    /// An image was enrolled whose repository was tracked as a base image.
    Promoted {
        /// Image.
        name: String,
        /// The base id archived.
        base: String,
    },
    /// A removed image others build from became a base image.
    Demoted {
        /// Image.
        name: String,
    },
    /// A removed image was archived.
    Archived {
        /// Image.
        name: String,
    },
    /// An image changed registry/repository: its old record was archived.
    Replaced {
        /// Image.
        name: String,
    },
    /// A managed image's discovery failed.
    DiscoveryFailed {
        /// Image.
        name: String,
        /// The error.
        error: String,
    },
    /// A build was recorded.
    Built {
        /// Image.
        name: String,
        /// Tag.
        version: String,
    },
    /// A managed parent's new build became a pending rebuild of this image (SPEC §9.1).
    Cascaded {
        /// The child image.
        name: String,
        /// The managed parent built.
        parent: String,
    },
    /// A new base image is tracked.
    BaseAdded {
        /// Id.
        id: String,
    },
    /// An archived base image is tracked again.
    BaseRestored {
        /// Id.
        id: String,
    },
    /// A base image was archived.
    BaseArchived {
        /// Id.
        id: String,
        /// Why.
        reason: ArchiveReason,
    },
}

/// The result of [`update`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The new state.
    pub state: State,
    /// What changed (lifecycle decisions, new bases, failures), sorted.
    pub events: Vec<Event>,
}

type RepoKey = (String, String);

fn repo_key_of_ref(r: &ImageRef) -> RepoKey {
    (r.domain().to_owned(), r.path().to_owned())
}

/// A parsed reference and its repository key.
struct RefInfo {
    reference: ImageRef,
    key: RepoKey,
}

/// `ImageRef::parse_normalized`, memoised per thread (a fleet names the same bases thousands of
/// times, and parsing is the costliest step of an update).
fn ref_info(text: &str) -> Option<std::rc::Rc<RefInfo>> {
    thread_local! {
        static CACHE: std::cell::RefCell<
            std::collections::HashMap<String, Option<std::rc::Rc<RefInfo>>>,
        > = std::cell::RefCell::new(std::collections::HashMap::new());
    }
    CACHE.with(|cache| {
        if let Some(hit) = cache.borrow().get(text) {
            return hit.clone();
        }
        let parsed = ImageRef::parse_normalized(text).ok().map(|reference| {
            std::rc::Rc::new(RefInfo {
                key: repo_key_of_ref(&reference),
                reference,
            })
        });
        let mut cache = cache.borrow_mut();
        if cache.len() > 200_000 {
            cache.clear();
        }
        cache.insert(text.to_owned(), parsed.clone());
        parsed
    })
}

fn parse_ref(text: &str) -> Option<ImageRef> {
    ref_info(text).map(|info| info.reference.clone())
}

fn base_ref(base: &BaseImageState) -> Option<ImageRef> {
    parse_ref(&base.reference)
}

/// The repository of an enrolled image, normalised like `ImageRef::parse_normalized` would
/// (`index.docker.io` → `docker.io`, official images under `library/`), without parsing: the
/// enrolment was validated already.
fn repo_key(image: &EffectiveImage) -> RepoKey {
    let domain = if image.registry == "index.docker.io" {
        "docker.io"
    } else {
        image.registry.as_str()
    };
    let path = if domain == "docker.io" && !image.repository.contains('/') {
        format!("library/{}", image.repository)
    } else {
        image.repository.clone()
    };
    (domain.to_owned(), path)
}

fn same_repo(a: &EffectiveImage, b: &EffectiveImage) -> bool {
    (a.registry == b.registry && a.repository == b.repository) || repo_key(a) == repo_key(b)
}

fn compatible(old: &ImageState, image: &EffectiveImage) -> bool {
    same_repo(&old.enrollment, image)
}

/// A fresh state for a newly enrolled image.
pub fn fresh_image(image: &EffectiveImage, now: Timestamp) -> ImageState {
    ImageState {
        version: STATE_VERSION,
        name: image.name.clone(),
        kind: image.kind,
        enrolled_at: now,
        enrollment: image.clone(),
        watch: None,
        discovery: None,
        depends_on: Vec::new(),
        base_images: Vec::new(),
        other_refs: Vec::new(),
        managed_parents: Vec::new(),
        current_version: None,
        current_digest: None,
        last_built: None,
        rebuild: RebuildState::default(),
        history: Vec::new(),
        archived: None,
    }
}

/// A fresh base state for `reference` with id `id`.
pub fn fresh_base(id: &str, reference: &ImageRef, now: Timestamp) -> BaseImageState {
    let mut base = BaseImageState {
        version: STATE_VERSION,
        id: id.to_owned(),
        reference: reference.canonical(),
        registry: String::new(),
        repository: String::new(),
        tag: None,
        pinned_digest: None,
        watch: None,
        first_discovered: now,
        last_checked: None,
        current_digest: None,
        previous_digest: None,
        last_updated: None,
        dependents: Vec::new(),
        rebuild_eligible_at: BTreeMap::new(),
        update_history: Vec::new(),
        metadata: BTreeMap::new(),
        demoted_from: None,
        archived: None,
    };
    apply_reference(&mut base, reference);
    base
}

/// Sets the fields derived from the reference (configuration of a base).
fn apply_reference(base: &mut BaseImageState, reference: &ImageRef) {
    base.reference = reference.canonical();
    base.registry = reference.domain().to_owned();
    base.repository = reference.path().to_owned();
    base.tag = reference.tag().map(str::to_owned);
    base.pinned_digest = reference.digest().map(str::to_owned);
    base.watch = if reference.tag().is_none() && reference.digest().is_some() {
        None
    } else {
        Some(Watch {
            strategy: WatchStrategy::Digest,
            constraint: reference.tag_or_latest().to_owned(),
        })
    };
}

fn push_history(history: &mut Vec<HistoryEntry>, entry: HistoryEntry) {
    history.insert(0, entry);
    history.truncate(IMAGE_HISTORY_LIMIT);
}

fn lifecycle_entry(at: Timestamp, event: HistoryEvent, note: String) -> HistoryEntry {
    HistoryEntry {
        at,
        event,
        version: None,
        digest: None,
        incorporated: Vec::new(),
        note: Some(note),
    }
}

fn archive_image(
    archive: &mut BTreeMap<String, ImageState>,
    mut image: ImageState,
    reason: ArchiveReason,
    now: Timestamp,
) {
    image.archived = Some(Archived { at: now, reason });
    let name = image.name.clone();
    if let Some(existing) = archive.remove(&name)
        && !same_repo(&existing.enrollment, &image.enrollment)
    {
        // Keep the older record of a different repository under a distinct name.
        let at = existing
            .archived
            .as_ref()
            .map_or(0, |a| a.at.as_unix_seconds());
        archive.insert(format!("{name}.replaced-{at}"), existing);
    }
    archive.insert(name, image);
}

/// The archived record a re-enrolled `image` can be restored from: `<name>`, else the newest
/// `<name>.replaced-<time>` (an older record kept when the name was reused), when compatible.
fn archived_match<'a>(
    archive: &'a BTreeMap<String, ImageState>,
    name: &str,
    image: &EffectiveImage,
) -> Option<(String, &'a ImageState)> {
    if let Some(archived) = archive.get(name).filter(|a| compatible(a, image)) {
        return Some((name.to_owned(), archived));
    }
    let prefix = format!("{name}.replaced-");
    archive
        .range(prefix.clone()..)
        .take_while(|(key, _)| key.starts_with(&prefix))
        .filter(|(_, a)| compatible(a, image))
        .max_by_key(|(_, a)| a.archived.as_ref().map(|x| x.at))
        .map(|(key, a)| (key.clone(), a))
}

/// Computes the new state (see the module documentation), in named phases.
pub fn update(prev: &State, input: &Input<'_>) -> Update {
    let mut run = Run::new(prev, input);
    run.enrolled_images();
    run.drop_restore_leftovers();
    let demoted = run.removed_images();
    let base_refs = run.classify_dependencies();
    run.base_images(&base_refs, &demoted);
    run.archive_unused_bases();
    run.cascade();
    let mut events = run.events;
    events.sort();
    Update {
        state: run.next,
        events,
    }
}

/// An enrolled image's record brought up to date: its configuration from `images.yaml`, its
/// discovery (managed) or watch (external), and the build this run records.
fn settle(
    state: &mut ImageState,
    image: &EffectiveImage,
    input: &Input<'_>,
    now: Timestamp,
    events: &mut Vec<Event>,
) {
    let name = image.name.as_str();
    state.version = STATE_VERSION;
    state.name = name.to_owned();
    state.kind = image.kind;
    if state.enrollment != *image {
        state.enrollment = image.clone();
    }
    match image.kind {
        ImageKind::External => {
            state.watch = Some(Watch {
                strategy: WatchStrategy::Digest,
                constraint: image.tag.clone().unwrap_or_else(|| "latest".to_owned()),
            });
            state.discovery = None;
            state.depends_on.clear();
            state.base_images.clear();
            state.other_refs.clear();
            state.managed_parents.clear();
        }
        ImageKind::Managed => {
            state.watch = None;
            apply_discovery(state, image, input.outcomes.get(name), now, events);
        }
    }
    if let Some(build) = input.build.filter(|b| b.image == name) {
        record_build(state, build, now, events);
    }
}

/// One computation of [`update`]: its inputs, the state being built and what happened so far.
struct Run<'a> {
    prev: &'a State,
    input: &'a Input<'a>,
    now: Timestamp,
    next: State,
    events: Vec<Event>,
    /// Managed images by registry/repository (promotion, managed parents).
    managed_by_repo: BTreeMap<RepoKey, &'a str>,
    /// Base ids, seeded with every id recorded in state (stable ids).
    ids: BaseIds,
}

impl<'a> Run<'a> {
    fn new(prev: &'a State, input: &'a Input<'a>) -> Self {
        let managed_by_repo = input
            .enrollment
            .iter()
            .filter(|i| i.is_managed())
            .map(|i| (repo_key(i), i.name.as_str()))
            .collect();
        let mut ids = BaseIds::new();
        for (id, base) in prev.bases.iter().chain(prev.archived_bases.iter()) {
            if let Some(r) = base_ref(base) {
                let _ = ids.record(id, &r);
            }
        }
        Self {
            prev,
            input,
            now: input.now,
            next: State {
                images: BTreeMap::new(),
                bases: BTreeMap::new(),
                archived_images: prev.archived_images.clone(),
                archived_bases: prev.archived_bases.clone(),
            },
            events: Vec::new(),
            managed_by_repo,
            ids,
        }
    }

    /// Whether this run updates `name` (all images, or those of `--image`).
    fn selected(input: &Input<'_>, name: &str) -> bool {
        input.only.is_none_or(|only| only.contains(name))
    }

    /// Phase 1: the state of every enrolled image — carried over, replaced, restored from the
    /// archive, promoted from a base or fresh — with its configuration and discovery applied.
    fn enrolled_images(&mut self) {
        let active_base_by_repo: BTreeMap<RepoKey, &str> = self
            .prev
            .bases
            .iter()
            .filter_map(|(id, b)| base_ref(b).map(|r| (repo_key_of_ref(&r), id.as_str())))
            .collect();
        // In name order, collected and built into the map in one go: inserting a fleet's large
        // records one by one in file order shifted them around inside the map's nodes.
        let mut enrollment: Vec<&EffectiveImage> = self.input.enrollment.iter().collect();
        enrollment.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        // The common case, image by image on every core (they are independent here): carried
        // over, with the configuration and discovery applied.
        let (prev, input, now) = (self.prev, self.input, self.now);
        let carried = model::par::map(&enrollment, |image| {
            let name = image.name.as_str();
            if input.frozen_images.contains(name) || !Self::selected(input, name) {
                return None;
            }
            let old = prev.images.get(name).filter(|old| compatible(old, image))?;
            let mut state = old.clone();
            let mut events = Vec::new();
            settle(&mut state, image, input, now, &mut events);
            Some((state, events))
        });
        let mut images = Vec::with_capacity(enrollment.len());
        for (image, carried) in enrollment.into_iter().zip(carried) {
            let name = image.name.as_str();
            if let Some((state, events)) = carried {
                self.events.extend(events);
                images.push((name.to_owned(), state));
                continue;
            }
            if self.input.frozen_images.contains(name) {
                continue;
            }
            if !Self::selected(self.input, name) {
                if let Some(old) = self.prev.images.get(name) {
                    images.push((name.to_owned(), old.clone()));
                }
                continue;
            }
            let mut state = match self.prev.images.get(name) {
                Some(old) => {
                    archive_image(
                        &mut self.next.archived_images,
                        old.clone(),
                        ArchiveReason::Replaced,
                        self.now,
                    );
                    self.events.push(Event::Replaced {
                        name: name.to_owned(),
                    });
                    fresh_image(image, self.now)
                }
                None => match archived_match(&self.next.archived_images, name, image) {
                    Some((key, archived)) => {
                        let mut restored = archived.clone();
                        let note = format!(
                            "re-enrolled: restored from state/_archive/images/{key}.yaml{}",
                            archived
                                .archived
                                .as_ref()
                                .map(|a| format!(" (archived {})", a.at))
                                .unwrap_or_default()
                        );
                        restored.archived = None;
                        push_history(
                            &mut restored.history,
                            lifecycle_entry(self.now, HistoryEvent::Restored, note),
                        );
                        self.next.archived_images.remove(&key);
                        self.events.push(Event::Restored {
                            name: name.to_owned(),
                        });
                        restored
                    }
                    None => {
                        if let Some(archived) = self.next.archived_images.get(name) {
                            self.events.push(Event::RestoreRefused {
                                name: name.to_owned(),
                                reason: format!(
                                    "archived record is for {}/{}, now {}/{}",
                                    archived.enrollment.registry,
                                    archived.enrollment.repository,
                                    image.registry,
                                    image.repository
                                ),
                            });
                        }
                        let mut fresh = fresh_image(image, self.now);
                        match active_base_by_repo.get(&repo_key(image)) {
                            Some(base) if image.is_managed() => {
                                push_history(
                                    &mut fresh.history,
                                    lifecycle_entry(
                                        self.now,
                                        HistoryEvent::Promoted,
                                        format!("enrolled while tracked as base image `{base}`"),
                                    ),
                                );
                                self.events.push(Event::Promoted {
                                    name: name.to_owned(),
                                    base: (*base).to_owned(),
                                });
                            }
                            _ => self.events.push(Event::Enrolled {
                                name: name.to_owned(),
                            }),
                        }
                        fresh
                    }
                },
            };
            settle(&mut state, image, self.input, self.now, &mut self.events);
            images.push((name.to_owned(), state));
        }
        // Sorted and unique already (names are unique in a valid enrolment): a bulk build.
        self.next.images = images.into_iter().collect();
    }

    /// A new build of a managed image becomes a pending rebuild of every managed image built FROM
    /// it (`seenAt` = now, eligible after `coordination.cascadeDelay`: the parent's own base already
    /// waited its delay). Children whose file failed to load are left alone.
    fn cascade(&mut self) {
        let Some(build) = self.input.build else {
            return;
        };
        let recorded = self
            .events
            .iter()
            .any(|e| matches!(e, Event::Built { name, .. } if *name == build.image));
        if !recorded {
            return;
        }
        let entry = PendingUpdate {
            base: build.image.clone(),
            digest: build.digest.clone(),
            seen_at: self.now,
            eligible_at: self.now.add(self.input.cascade_delay),
        };
        for (name, child) in &mut self.next.images {
            if child.kind != ImageKind::Managed
                || self.input.frozen_images.contains(name)
                || !child.managed_parents.contains(&build.image)
                || child
                    .rebuild
                    .pending
                    .iter()
                    .any(|p| p.base == entry.base && p.digest == entry.digest)
            {
                continue;
            }
            // An emergency covers its cascade: the child's entry is eligible at once.
            let mut entry = entry.clone();
            if child.rebuild.bypass.is_some() {
                entry.eligible_at = self.now;
            }
            child.rebuild.pending.push(entry);
            child.rebuild.pending.sort_by(|a, b| {
                (&a.base, a.seen_at, &a.digest).cmp(&(&b.base, b.seen_at, &b.digest))
            });
            self.events.push(Event::Cascaded {
                name: name.clone(),
                parent: build.image.clone(),
            });
        }
    }

    /// An archive entry beside an active compatible image is the leftover of an interrupted
    /// restore (the active file was written, the archive not yet removed): drop it.
    fn drop_restore_leftovers(&mut self) {
        for (name, image) in &self.next.images {
            while let Some((key, _)) =
                archived_match(&self.next.archived_images, name, &image.enrollment)
            {
                self.next.archived_images.remove(&key);
            }
        }
    }

    /// Phase 2: removed images (full runs only; `--image` runs leave them as they are) are
    /// archived, or demoted to bases when other images build from them. Returns the demoted
    /// images by registry/repository.
    fn removed_images(&mut self) -> BTreeMap<RepoKey, ImageState> {
        let full = self.input.only.is_none();
        let enrolled: BTreeSet<&str> = self
            .input
            .enrollment
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        let mut demoted: BTreeMap<RepoKey, ImageState> = BTreeMap::new();
        if !full {
            for (name, old) in &self.prev.images {
                if !enrolled.contains(name.as_str()) {
                    self.next.images.insert(name.clone(), old.clone());
                }
            }
        } else {
            let depended: BTreeSet<RepoKey> = self
                .next
                .images
                .values()
                .filter(|i| i.is_managed())
                .flat_map(|i| i.depends_on.iter().map(String::as_str))
                .collect::<std::collections::HashSet<&str>>()
                .into_iter()
                .filter_map(ref_info)
                .map(|info| info.key.clone())
                .collect();
            for (name, old) in &self.prev.images {
                if enrolled.contains(name.as_str()) || self.input.frozen_images.contains(name) {
                    continue;
                }
                let key = repo_key(&old.enrollment);
                let mut old = old.clone();
                if old.is_managed() && depended.contains(&key) {
                    push_history(
                        &mut old.history,
                        lifecycle_entry(
                            self.now,
                            HistoryEvent::Demoted,
                            "removed from images.yaml while other images build from it: tracked \
                             as a base image"
                                .to_owned(),
                        ),
                    );
                    demoted.insert(key, old.clone());
                    archive_image(
                        &mut self.next.archived_images,
                        old,
                        ArchiveReason::Demoted,
                        self.now,
                    );
                    self.events.push(Event::Demoted { name: name.clone() });
                } else {
                    archive_image(
                        &mut self.next.archived_images,
                        old,
                        ArchiveReason::Removed,
                        self.now,
                    );
                    self.events.push(Event::Archived { name: name.clone() });
                }
            }
        }
        demoted
    }

    /// Phase 3: the dependencies of the updated managed images, classified into bases (ids
    /// assigned) and managed parents. Returns every known base reference by id.
    fn classify_dependencies(&mut self) -> BTreeMap<String, ImageRef> {
        let mut base_refs: BTreeMap<String, ImageRef> = BTreeMap::new();
        for (id, base) in &self.prev.bases {
            if let Some(r) = base_ref(base) {
                base_refs.insert(id.clone(), r);
            }
        }
        for (name, state) in self.next.images.iter_mut() {
            if !Self::selected(self.input, name) || !state.is_managed() {
                continue;
            }
            let mut bases = BTreeSet::new();
            let mut parents = BTreeSet::new();
            for text in &state.depends_on {
                let Some(info) = ref_info(text) else {
                    continue;
                };
                match self.managed_by_repo.get(&info.key) {
                    // Building FROM an earlier version of itself: recorded in `dependsOn`, but
                    // neither a base nor a parent (watching it would rebuild it after every build).
                    Some(parent) if *parent == name.as_str() => {}
                    Some(parent) => {
                        parents.insert((*parent).to_owned());
                    }
                    None => {
                        let id = self.ids.assign(&info.reference);
                        if !base_refs.contains_key(&id) {
                            base_refs.insert(id.clone(), info.reference.clone());
                        }
                        bases.insert(id);
                    }
                }
            }
            state.base_images = bases.into_iter().collect();
            state.managed_parents = parents.into_iter().collect();
            let deps: BTreeSet<&String> = state
                .base_images
                .iter()
                .chain(state.managed_parents.iter())
                .collect();
            state.rebuild.pending.retain(|p| deps.contains(&p.base));
        }
        base_refs
    }

    /// Phase 4: the state of every base with dependents — carried over, restored from the
    /// archive or fresh (seeded from a demoted image).
    fn base_images(
        &mut self,
        base_refs: &BTreeMap<String, ImageRef>,
        demoted: &BTreeMap<RepoKey, ImageState>,
    ) {
        let mut dependents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for state in self.next.images.values().filter(|i| i.is_managed()) {
            for id in &state.base_images {
                dependents
                    .entry(id.clone())
                    .or_default()
                    .insert(state.name.clone());
            }
        }
        for (id, deps) in &dependents {
            if self.input.frozen_bases.contains(id) {
                continue;
            }
            let (mut base, fresh) = if let Some(old) = self.prev.bases.get(id) {
                (old.clone(), false)
            } else if let Some(mut archived) = self.next.archived_bases.remove(id) {
                archived.archived = None;
                self.events.push(Event::BaseRestored { id: id.clone() });
                (archived, false)
            } else if let Some(reference) = base_refs.get(id) {
                self.events.push(Event::BaseAdded { id: id.clone() });
                (fresh_base(id, reference, self.now), true)
            } else {
                // Referenced by an untouched image but its file is gone: nothing to rebuild it from.
                continue;
            };
            if let Some(reference) = base_ref(&base) {
                apply_reference(&mut base, &reference);
                if let Some(image) = demoted.get(&repo_key_of_ref(&reference)) {
                    seed_from_demoted(&mut base, image, fresh);
                }
            }
            base.version = STATE_VERSION;
            base.id = id.clone();
            base.dependents = deps.iter().cloned().collect();
            base.rebuild_eligible_at.retain(|k, _| deps.contains(k));
            self.next.bases.insert(id.clone(), base);
        }
    }

    /// Phase 5: an active base wins over a leftover archive of the same id; bases without
    /// dependents are archived (promoted ones too), unless some image's dependencies are unknown.
    fn archive_unused_bases(&mut self) {
        for id in self.next.bases.keys() {
            self.next.archived_bases.remove(id);
        }
        for (id, old) in &self.prev.bases {
            if self.next.bases.contains_key(id) || self.input.frozen_bases.contains(id) {
                continue;
            }
            if !self.input.frozen_images.is_empty() {
                // Some images' dependencies are unknown: archive nothing this run.
                self.next.bases.insert(id.clone(), old.clone());
                continue;
            }
            let reason = match base_ref(old) {
                Some(r) if self.managed_by_repo.contains_key(&repo_key_of_ref(&r)) => {
                    ArchiveReason::Promoted
                }
                _ => ArchiveReason::NoDependents,
            };
            let mut archived = old.clone();
            archived.dependents.clear();
            archived.rebuild_eligible_at.clear();
            archived.archived = Some(Archived {
                at: self.now,
                reason,
            });
            self.next.archived_bases.insert(id.clone(), archived);
            self.events.push(Event::BaseArchived {
                id: id.clone(),
                reason,
            });
        }
    }
}

fn apply_discovery(
    state: &mut ImageState,
    image: &EffectiveImage,
    outcome: Option<&Outcome>,
    now: Timestamp,
    events: &mut Vec<Event>,
) {
    // `local.dockerfile` (in the factory dir) is the file analysed when it is set.
    let dockerfile = image
        .local_dockerfile()
        .or_else(|| image.source.as_ref().map(|s| s.dockerfile.clone()))
        .unwrap_or_default();
    let mut discovery = match outcome {
        Some(Outcome::Success(found)) => {
            let mut depends = BTreeSet::new();
            let mut others = BTreeSet::new();
            for r in &found.from {
                depends.insert(r.canonical());
            }
            for (kind, r) in &found.other {
                if *kind != OtherRefKind::Syntax {
                    depends.insert(r.canonical());
                }
                others.insert(OtherRef {
                    reference: r.canonical(),
                    kind: *kind,
                });
            }
            state.depends_on = depends.into_iter().collect();
            state.other_refs = others.into_iter().collect();
            Discovery {
                status: DiscoveryStatus::Success,
                at: None,
                dockerfile,
                dockerfile_digest: Some(found.dockerfile_digest.clone()),
                error: None,
            }
        }
        Some(Outcome::Failed {
            dockerfile_digest,
            error,
        }) => {
            let error = error.to_string();
            events.push(Event::DiscoveryFailed {
                name: state.name.clone(),
                error: error.clone(),
            });
            Discovery {
                status: DiscoveryStatus::Failed,
                at: None,
                dockerfile,
                dockerfile_digest: dockerfile_digest.clone(),
                error: Some(error),
            }
        }
        None => match &state.discovery {
            Some(previous) => previous.clone(),
            None => Discovery {
                status: DiscoveryStatus::Pending,
                at: None,
                dockerfile,
                dockerfile_digest: None,
                error: None,
            },
        },
    };
    // The time of an unchanged outcome is kept, so an unchanged run rewrites nothing.
    discovery.at = match &state.discovery {
        Some(previous) if same_outcome(previous, &discovery) => previous.at,
        _ if outcome.is_some() => Some(now),
        _ => discovery.at,
    };
    state.discovery = Some(discovery);
}

/// Whether two discoveries differ only in their time.
fn same_outcome(a: &Discovery, b: &Discovery) -> bool {
    a.status == b.status
        && a.dockerfile == b.dockerfile
        && a.dockerfile_digest == b.dockerfile_digest
        && a.error == b.error
}

fn record_build(
    state: &mut ImageState,
    build: &BuildRecord,
    now: Timestamp,
    events: &mut Vec<Event>,
) {
    if state.current_digest.as_deref() == Some(build.digest.as_str())
        && state.current_version.as_deref() == Some(build.tag.as_str())
    {
        return; // already recorded: a rerun of the same analysis
    }
    // A build we dispatched incorporates what the dispatch covered (eligible and pinned then);
    // younger entries stay pending. A build nobody dispatched was built from whatever the tags
    // pointed at: it covers everything seen so far.
    let in_flight = state.rebuild.in_flight.take();
    let covered = |p: &PendingUpdate| match &in_flight {
        Some(flight) => flight.covers.contains(p),
        None => p.seen_at <= now,
    };
    let (incorporated, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut state.rebuild.pending)
        .into_iter()
        .partition(covered);
    state.rebuild.pending = pending;
    if let Some(last) = state.rebuild.last.as_mut()
        && last.result == RebuildResult::Dispatched
        && last.at <= now
    {
        last.result = RebuildResult::Built;
    }
    push_history(
        &mut state.history,
        HistoryEntry {
            at: now,
            event: HistoryEvent::Built,
            version: Some(build.tag.clone()),
            digest: Some(build.digest.clone()),
            incorporated,
            note: None,
        },
    );
    state.current_version = Some(build.tag.clone());
    state.current_digest = Some(build.digest.clone());
    state.last_built = Some(now);
    events.push(Event::Built {
        name: state.name.clone(),
        version: build.tag.clone(),
    });
}

/// A base made from a demoted managed image starts from that image's builds.
fn seed_from_demoted(base: &mut BaseImageState, image: &ImageState, fresh: bool) {
    base.demoted_from = Some(image.name.clone());
    let mut seen: BTreeMap<String, Timestamp> = base
        .update_history
        .iter()
        .map(|d| (d.digest.clone(), d.seen_at))
        .collect();
    for entry in &image.history {
        if let (HistoryEvent::Built, Some(digest)) = (entry.event, &entry.digest) {
            seen.entry(digest.clone()).or_insert(entry.at);
        }
    }
    let mut history: Vec<DigestSeen> = seen
        .into_iter()
        .map(|(digest, seen_at)| DigestSeen { digest, seen_at })
        .collect();
    history.sort_by(|a, b| b.seen_at.cmp(&a.seen_at).then(a.digest.cmp(&b.digest)));
    history.truncate(BASE_HISTORY_LIMIT);
    base.update_history = history;
    if fresh {
        base.current_digest = image.current_digest.clone();
        base.last_updated = image.last_built;
    }
}
