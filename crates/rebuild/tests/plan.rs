//! `rebuild::plan` (SPEC §9.2, §11 #16): scenarios for each rule, then properties over random
//! fleets — pure and deterministic, parents before children, one rebuild per image, every cover
//! eligible and pinned, and a newer digest never delaying an older eligible one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image_factory_rebuild::{Hold, Plan, plan};
use model::duration::Duration;
use model::enrollment::EffectiveImage;
use model::settings::Settings;
use model::state::{
    BaseImageState, Bypass, DigestSeen, HistoryEntry, HistoryEvent, ImageState, InFlight,
    LastRebuild, PendingUpdate, PinnedBase, RebuildReason, RebuildResult, STATE_VERSION, State,
    Watch, WatchStrategy,
};
use model::time::Timestamp;
use proptest::prelude::*;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600 + seconds).unwrap()
}

fn digest(n: u64) -> String {
    format!("sha256:{n:064x}")
}

/// Enrolment of managed images `names` (delay in hours, priority, autoRebuild per image).
fn enrolled(specs: &[(&str, u64, &str, bool)]) -> Vec<EffectiveImage> {
    let mut text = String::new();
    for (name, delay, priority, auto) in specs {
        text.push_str(&format!(
            "- name: {name}\n  repository: acme/{name}\n  source: {{repo: acme/{name}}}\n  \
             rebuildDelay: {delay}h\n  priority: {priority}\n  autoRebuild: {auto}\n"
        ));
    }
    model::config::validate_factory(&text, "images.yaml", None)
        .resolved()
        .unwrap()
}

fn image(enrollment: &EffectiveImage, bases: &[&str], parents: &[&str]) -> ImageState {
    let mut state = state::update::fresh_image(enrollment, at(0));
    state.base_images = bases.iter().map(|b| (*b).to_owned()).collect();
    state.managed_parents = parents.iter().map(|p| (*p).to_owned()).collect();
    state
}

/// A watched base whose history holds `(digest, seenAt)`, given oldest first.
fn base(id: &str, seen: &[(u64, i64)]) -> BaseImageState {
    let mut history: Vec<DigestSeen> = seen
        .iter()
        .map(|(d, t)| DigestSeen {
            digest: digest(*d),
            seen_at: at(*t),
        })
        .collect();
    history.reverse();
    BaseImageState {
        version: STATE_VERSION,
        id: id.to_owned(),
        reference: format!("docker.io/library/{id}:1"),
        registry: "docker.io".to_owned(),
        repository: format!("library/{id}"),
        tag: Some("1".to_owned()),
        pinned_digest: None,
        watch: Some(Watch {
            strategy: WatchStrategy::Digest,
            constraint: "1".to_owned(),
        }),
        first_discovered: at(0),
        last_checked: None,
        current_digest: history.first().map(|h| h.digest.clone()),
        previous_digest: None,
        last_updated: None,
        dependents: Vec::new(),
        rebuild_eligible_at: Default::default(),
        update_history: history,
        metadata: Default::default(),
        demoted_from: None,
        archived: None,
    }
}

fn pending(base: &str, d: u64, seen: i64, delay_hours: i64) -> PendingUpdate {
    PendingUpdate {
        base: base.to_owned(),
        digest: digest(d),
        seen_at: at(seen),
        eligible_at: at(seen + delay_hours * HOUR),
    }
}

fn last(at_s: i64, result: RebuildResult, attempt: u32) -> LastRebuild {
    LastRebuild {
        at: at(at_s),
        reason: RebuildReason::Scheduled,
        bases: vec![PinnedBase {
            base: "node".to_owned(),
            digest: digest(1),
        }],
        provider: "github".to_owned(),
        result,
        run_url: None,
        attempt,
    }
}

fn due_names(plan: &Plan) -> Vec<&str> {
    plan.due.iter().map(|d| d.image.as_str()).collect()
}

/// `web` (48 h) on node, whose tag moved at day 1 (digest 2) and again at day 2.5 (digest 3).
fn moved_twice() -> State {
    let e = enrolled(&[("web", 48, "normal", true)]);
    let mut web = image(&e[0], &["node"], &[]);
    web.rebuild.pending = vec![
        pending("node", 2, DAY, 48),
        pending("node", 3, 60 * HOUR, 48),
    ];
    let mut state = State::default();
    state.images.insert("web".into(), web);
    state.bases.insert(
        "node".into(),
        base("node", &[(1, 0), (2, DAY), (3, 60 * HOUR)]),
    );
    state
}

#[test]
fn an_older_eligible_digest_is_built_without_waiting_for_the_newer() {
    let state = moved_twice();
    let settings = Settings::default();
    // Day 2.9: nothing soaked yet beyond the baseline.
    let early = plan(&state, &settings, at(DAY + 47 * HOUR));
    assert!(early.due.is_empty());
    assert_eq!(early.pending[0].due_at, at(3 * DAY));
    // Day 3: digest 2 has soaked; digest 3 (seen at day 2.5) has not: pin 2, cover 2 only.
    let p = plan(&state, &settings, at(3 * DAY));
    assert_eq!(due_names(&p), ["web"]);
    let due = &p.due[0];
    assert_eq!(due.pins.len(), 1);
    assert_eq!(due.pins[0].digest, digest(2));
    assert_eq!(due.covers, vec![pending("node", 2, DAY, 48)]);
    assert_eq!(due.reason, RebuildReason::Scheduled);
    assert_eq!(due.attempt, 1);
    // Once both soaked, one rebuild pins the newest and covers both.
    let p = plan(&state, &settings, at(60 * HOUR + 48 * HOUR));
    assert_eq!(p.due[0].pins[0].digest, digest(3));
    assert_eq!(p.due[0].covers.len(), 2);
}

#[test]
fn every_base_is_pinned_even_those_that_did_not_move() {
    let mut state = moved_twice();
    state.images.get_mut("web").unwrap().base_images = vec!["node".into(), "python".into()];
    // python moved an hour ago: its baseline is pinned, not the tag's young digest.
    state.bases.insert(
        "python".into(),
        base("python", &[(7, 0), (8, 3 * DAY - HOUR)]),
    );
    let p = plan(&state, &Settings::default(), at(3 * DAY));
    let pins: Vec<(&str, &str)> = p.due[0]
        .pins
        .iter()
        .map(|p| (p.base.as_str(), p.digest.as_str()))
        .collect();
    assert_eq!(
        pins,
        [("node", digest(2).as_str()), ("python", digest(7).as_str())]
    );
}

/// `base-img` → `app` (a managed parent) → `leaf`, all with pending updates of their own.
fn cascade() -> State {
    let e = enrolled(&[
        ("base-img", 0, "normal", true),
        ("app", 0, "critical", true),
        ("leaf", 0, "high", true),
    ]);
    let mut state = State::default();
    let mut parent = image(&e[0], &["node"], &[]);
    parent.rebuild.pending = vec![pending("node", 2, DAY, 0)];
    let mut app = image(&e[1], &["node"], &["base-img"]);
    app.rebuild.pending = vec![pending("node", 2, DAY, 0)];
    let mut leaf = image(&e[2], &["node"], &["app"]);
    leaf.rebuild.pending = vec![pending("node", 2, DAY, 0)];
    state.images.insert("base-img".into(), parent);
    state.images.insert("app".into(), app);
    state.images.insert("leaf".into(), leaf);
    state
        .bases
        .insert("node".into(), base("node", &[(1, 0), (2, DAY)]));
    state
}

#[test]
fn parents_first_then_one_rebuild_of_the_child_for_everything() {
    let mut state = cascade();
    let settings = Settings::default();
    let p = plan(&state, &settings, at(2 * DAY));
    // Only the root is due, whatever the priorities; the others wait for their parent.
    assert_eq!(due_names(&p), ["base-img"]);
    let holds: Vec<(&str, &Hold)> = p
        .blocked
        .iter()
        .map(|b| (b.image.as_str(), &b.reason))
        .collect();
    assert_eq!(
        holds,
        [
            (
                "app",
                &Hold::Parent {
                    parent: "base-img".into()
                }
            ),
            (
                "leaf",
                &Hold::Parent {
                    parent: "app".into()
                }
            ),
        ]
    );
    // Dispatched: in flight, the children still wait.
    let root = state.images.get_mut("base-img").unwrap();
    root.rebuild.in_flight = Some(InFlight {
        at: at(2 * DAY),
        covers: root.rebuild.pending.clone(),
        attempt: 1,
    });
    root.rebuild.last = Some(last(2 * DAY, RebuildResult::Dispatched, 1));
    let p = plan(&state, &settings, at(2 * DAY + HOUR));
    assert!(p.due.is_empty());
    assert!(
        p.blocked
            .iter()
            .any(|b| b.image == "base-img" && b.reason == Hold::InFlight)
    );
    // Built: the cascade entry joins app's own; app gets ONE rebuild covering both.
    let root = state.images.get_mut("base-img").unwrap();
    root.rebuild.in_flight = None;
    root.rebuild.pending.clear();
    root.rebuild.last.as_mut().unwrap().result = RebuildResult::Built;
    root.current_digest = Some(digest(50));
    root.history.push(HistoryEntry {
        at: at(2 * DAY + 2 * HOUR),
        event: HistoryEvent::Built,
        version: Some("2".into()),
        digest: Some(digest(50)),
        incorporated: Vec::new(),
        note: None,
    });
    let app = state.images.get_mut("app").unwrap();
    app.rebuild.pending.push(PendingUpdate {
        base: "base-img".into(),
        digest: digest(50),
        seen_at: at(2 * DAY + 2 * HOUR),
        eligible_at: at(2 * DAY + 2 * HOUR),
    });
    let p = plan(&state, &settings, at(2 * DAY + 3 * HOUR));
    assert_eq!(due_names(&p), ["app"]);
    let due = &p.due[0];
    assert_eq!(due.covers.len(), 2);
    assert_eq!(due.depth, 1);
    let parent_pin = due.pins.iter().find(|p| p.base == "base-img").unwrap();
    assert_eq!(parent_pin.digest, digest(50));
    assert!(p.blocked.iter().any(|b| b.image == "leaf"));
}

#[test]
fn window_in_flight_timeout_backoff_and_rejection() {
    let base_state = moved_twice();
    let settings = Settings::default(); // window 30m, buildTimeout 6h
    let now = 5 * DAY;
    let with = |f: &dyn Fn(&mut ImageState)| {
        let mut state = base_state.clone();
        f(state.images.get_mut("web").unwrap());
        plan(&state, &settings, at(now))
    };
    // Dispatched 10 minutes ago and built: the window holds it.
    let p = with(&|i| i.rebuild.last = Some(last(now - 600, RebuildResult::Built, 1)));
    assert_eq!(p.blocked[0].reason, Hold::Window);
    assert_eq!(p.blocked[0].until, Some(at(now - 600 + 1800)));
    // In flight for an hour: held until the build timeout.
    let in_flight = |i: &mut ImageState, since: i64| {
        i.rebuild.in_flight = Some(InFlight {
            at: at(now - since),
            covers: Vec::new(),
            attempt: 1,
        });
        i.rebuild.last = Some(last(now - since, RebuildResult::Dispatched, 1));
    };
    let p = with(&|i| in_flight(i, HOUR));
    assert_eq!(p.blocked[0].reason, Hold::InFlight);
    assert_eq!(p.blocked[0].until, Some(at(now - HOUR + 6 * HOUR)));
    // The build never came: after the timeout, dispatched again as attempt 2.
    let p = with(&|i| in_flight(i, 7 * HOUR));
    assert_eq!(due_names(&p), ["web"]);
    assert_eq!(p.due[0].attempt, 2);
    // A failed dispatch 10 minutes ago: backoff (the window, doubled per attempt).
    let p = with(&|i| i.rebuild.last = Some(last(now - 600, RebuildResult::Failed, 1)));
    assert_eq!(p.blocked[0].reason, Hold::Backoff { attempt: 2 });
    let p = with(&|i| i.rebuild.last = Some(last(now - 3 * HOUR, RebuildResult::Failed, 3)));
    assert_eq!(p.due[0].attempt, 4, "{p:?}");
    // Rejected: held until something newer arrives.
    let p = with(&|i| i.rebuild.last = Some(last(now - DAY, RebuildResult::Rejected, 1)));
    assert_eq!(
        (p.blocked[0].reason.clone(), p.blocked[0].until),
        (Hold::Rejected, None)
    );
    let p = with(&|i| {
        i.rebuild.last = Some(last(2 * DAY, RebuildResult::Rejected, 1));
    });
    assert_eq!(
        due_names(&p),
        ["web"],
        "digest 3 was seen after the rejection"
    );
}

#[test]
fn approval_emergency_order_and_max_per_run() {
    let e = enrolled(&[
        ("zeta", 0, "low", true),
        ("alpha", 0, "normal", true),
        ("beta", 0, "normal", true),
        ("crit", 0, "critical", true),
        ("manual", 0, "high", false),
    ]);
    let mut state = State::default();
    for enrollment in &e {
        let mut i = image(enrollment, &["node"], &[]);
        i.rebuild.pending = vec![pending("node", 2, DAY, 0)];
        state.images.insert(enrollment.name.clone(), i);
    }
    state
        .bases
        .insert("node".into(), base("node", &[(1, 0), (2, DAY)]));
    let mut settings = Settings::default();
    settings.trigger.max_per_run = 3;
    let p = plan(&state, &settings, at(2 * DAY));
    assert_eq!(due_names(&p), ["crit", "alpha", "beta", "zeta"]);
    let deferred: Vec<bool> = p.due.iter().map(|d| d.deferred).collect();
    assert_eq!(deferred, [false, false, false, true]);
    assert!(
        p.pending
            .iter()
            .any(|w| w.image == "manual" && w.needs_approval)
    );
    // An emergency bypasses the approval (and the window), and is counted.
    let manual = state.images.get_mut("manual").unwrap();
    manual.rebuild.bypass = Some(Bypass {
        at: at(2 * DAY),
        reason: "CVE-2026-0001".into(),
        actor: "alice".into(),
    });
    manual.rebuild.last = Some(last(2 * DAY - 60, RebuildResult::Built, 1));
    let p = plan(&state, &settings, at(2 * DAY));
    let due = p.due.iter().find(|d| d.image == "manual").unwrap();
    assert_eq!(due.reason, RebuildReason::Emergency);
    assert_eq!(p.bypasses_30d, 1);
    assert_eq!(due_names(&p)[..2], ["crit", "manual"]);
}

// Properties over random fleets.

/// A random fleet: images `i0..iN`, each on some of bases `b0..b3` and with parents among the
/// earlier images (a DAG), random histories, pending entries, last dispatches and in-flights.
fn fleet() -> impl Strategy<Value = (State, Settings, i64)> {
    let one = (
        prop::collection::vec(0usize..4, 1..3), // bases
        prop::collection::vec(0usize..8, 0..3), // parents (indices, kept when earlier)
        prop::collection::vec((0usize..4, 0u64..5, 0i64..20), 0..4), // pending (base, digest, seen day)
        0u64..96,                                                    // delay hours
        0usize..4,                                                   // priority
        any::<bool>(),                                               // auto
        prop::option::of((0i64..20, 0usize..4)),                     // last dispatch (day, result)
        prop::option::of(0i64..20),                                  // in flight since (day)
    );
    (prop::collection::vec(one, 1..8), 0i64..25).prop_map(|(images, now_day)| {
        let priorities = ["critical", "high", "normal", "low"];
        let specs: Vec<(String, u64, &str, bool)> = images
            .iter()
            .enumerate()
            .map(|(i, im)| (format!("i{i}"), im.3, priorities[im.4], im.5))
            .collect();
        let spec_refs: Vec<(&str, u64, &str, bool)> = specs
            .iter()
            .map(|(n, d, p, a)| (n.as_str(), *d, *p, *a))
            .collect();
        let e = enrolled(&spec_refs);
        let mut state = State::default();
        for b in 0..4 {
            let seen: Vec<(u64, i64)> = (0..5).map(|d| (d, d as i64 * 3 * DAY)).collect();
            state
                .bases
                .insert(format!("b{b}"), base(&format!("b{b}"), &seen));
        }
        for (i, im) in images.iter().enumerate() {
            let bases: Vec<String> = im.0.iter().map(|b| format!("b{b}")).collect();
            let parents: Vec<String> =
                im.1.iter()
                    .filter(|p| **p < i)
                    .map(|p| format!("i{p}"))
                    .collect();
            let base_refs: Vec<&str> = bases.iter().map(String::as_str).collect();
            let parent_refs: Vec<&str> = parents.iter().map(String::as_str).collect();
            let mut s = image(&e[i], &base_refs, &parent_refs);
            let delay = i64::try_from(im.3).unwrap();
            for (b, d, day) in &im.2 {
                let entry = pending(&format!("b{b}"), *d, day * DAY, delay);
                if !s.rebuild.pending.contains(&entry) {
                    s.rebuild.pending.push(entry);
                }
            }
            s.rebuild.pending.sort();
            if let Some((day, r)) = im.6 {
                let result = [
                    RebuildResult::Dispatched,
                    RebuildResult::Failed,
                    RebuildResult::Rejected,
                    RebuildResult::Built,
                ][r];
                s.rebuild.last = Some(last(day * DAY, result, 1));
            }
            if let Some(day) = im.7 {
                s.rebuild.in_flight = Some(InFlight {
                    at: at(day * DAY),
                    covers: Vec::new(),
                    attempt: 1,
                });
            }
            state.images.insert(format!("i{i}"), s);
        }
        let mut settings = Settings::default();
        settings.coordination.window = Duration::from_hours(12);
        (state, settings, now_day * DAY)
    })
}

fn ancestors(state: &State, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut queue = state.images[name].managed_parents.clone();
    while let Some(p) = queue.pop() {
        if !out.contains(&p) {
            queue.extend(state.images[&p].managed_parents.clone());
            out.push(p);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 1_000_000, ..ProptestConfig::default() })]

    #[test]
    fn plan_is_pure_and_keeps_its_promises((state, settings, now) in fleet()) {
        let p = plan(&state, &settings, at(now));
        prop_assert_eq!(&p, &plan(&state.clone(), &settings, at(now)), "deterministic");
        let due: Vec<&str> = due_names(&p);
        let unique: std::collections::BTreeSet<&&str> = due.iter().collect();
        prop_assert_eq!(unique.len(), due.len(), "one rebuild per image");
        for d in &p.due {
            let image = &state.images[&d.image];
            // Parents first: no ancestor is due or in flight.
            for a in ancestors(&state, &d.image) {
                prop_assert!(!due.contains(&a.as_str()), "{} due with its ancestor {}", d.image, a);
                let flying = state.images[&a].rebuild.in_flight.as_ref().is_some_and(|f| {
                    at(now) < f.at.add(settings.coordination.build_timeout)
                });
                prop_assert!(!flying, "{} due while {} is in flight", d.image, a);
            }
            prop_assert!(!d.covers.is_empty());
            for c in &d.covers {
                prop_assert!(c.eligible_at <= at(now), "covers only eligible entries");
                // The pin of the cover's base is at least as new as the cover.
                if let Some(pin) = d.pins.iter().find(|p| p.base == c.base) {
                    let seen = |digest: &str| state.bases[&c.base].update_history.iter()
                        .find(|h| h.digest == digest).map(|h| h.seen_at);
                    prop_assert!(seen(&pin.digest) >= seen(&c.digest), "pin older than a cover");
                }
            }
            prop_assert!(image.enrollment.auto_rebuild || image.rebuild.bypass.is_some());
        }
        // Ordered by priority, then depth, then name.
        for w in p.due.windows(2) {
            prop_assert!((w[0].priority, w[0].depth, &w[0].image) < (w[1].priority, w[1].depth, &w[1].image));
        }
    }

    #[test]
    fn a_newer_digest_never_delays_an_older_eligible_one(
        (state, settings, now) in fleet(),
        pick in any::<prop::sample::Index>(),
    ) {
        let before = plan(&state, &settings, at(now));
        prop_assume!(!before.due.is_empty());
        let chosen = pick.get(&before.due).clone();
        let base = state.images[&chosen.image].base_images[0].clone();
        // The base moves again right now: a newer digest, not eligible for a while.
        let mut later = state.clone();
        let mut history = later.bases[&base].update_history.clone();
        history.insert(0, DigestSeen { digest: digest(99), seen_at: at(now) });
        later.bases.get_mut(&base).unwrap().update_history = history;
        for image in later.images.values_mut() {
            if image.base_images.contains(&base) {
                // Not eligible yet (even with a zero delay: a parent made due by it would rightly
                // hold its children, which is not what this property is about).
                let delay = image.enrollment.rebuild_delay.max(Duration::from_hours(1));
                image.rebuild.pending.push(PendingUpdate {
                    base: base.clone(),
                    digest: digest(99),
                    seen_at: at(now),
                    eligible_at: at(now).add(delay),
                });
            }
        }
        let after = plan(&later, &settings, at(now));
        let again = after.due.iter().find(|d| d.image == chosen.image);
        // Still due (a zero delay makes the new digest eligible too, and then it is covered).
        prop_assert!(again.is_some(), "{} no longer due", chosen.image);
        for c in &chosen.covers {
            prop_assert!(again.unwrap().covers.contains(c), "older cover dropped");
        }
    }
}

// ---- emergency (SPEC §9.3, §11 #15) and what-if (§9.2) ----

use image_factory_rebuild::{Emergency, EmergencyError, Scope, declare, what_if};

fn declared(scope: Scope, reason: &str, when: i64) -> Emergency {
    Emergency {
        scope,
        reason: reason.to_owned(),
        actor: "alice".to_owned(),
        at: at(when),
    }
}

#[test]
fn an_emergency_on_a_base_covers_its_dependents_and_their_cascade_only() {
    let mut state = cascade();
    // `other` on python, whose young update must not slip in; `manual` waits for approval.
    let e = enrolled(&[("other", 0, "normal", true), ("manual", 500, "low", false)]);
    let mut other = image(&e[0], &["python"], &[]);
    other.rebuild.pending = vec![pending("python", 8, 3 * DAY, 0)];
    state.images.insert("other".into(), other);
    let mut manual = image(&e[1], &["node", "python"], &[]);
    manual.rebuild.pending = vec![
        pending("node", 2, DAY, 500),
        pending("python", 8, 3 * DAY - HOUR, 500),
    ];
    state.images.insert("manual".into(), manual);
    state.bases.insert(
        "python".into(),
        base("python", &[(7, 0), (8, 3 * DAY - HOUR)]),
    );
    let before = state.clone();
    // No reason: refused, nothing changed.
    for reason in ["", "  \t"] {
        let err = declare(
            &mut state,
            &declared(Scope::Base("node".into()), reason, 3 * DAY),
        );
        assert_eq!(err, Err(EmergencyError::NoReason));
        assert_eq!(state, before);
    }
    assert_eq!(
        declare(
            &mut state,
            &declared(Scope::Base("nope".into()), "x", 3 * DAY)
        ),
        Err(EmergencyError::UnknownBase("nope".into()))
    );
    assert_eq!(state, before);

    let affected = declare(
        &mut state,
        &declared(Scope::Base("node".into()), " CVE-1 ", 3 * DAY),
    )
    .unwrap();
    let names: Vec<(&str, Option<&str>)> = affected
        .iter()
        .map(|a| (a.image.as_str(), a.via.as_deref()))
        .collect();
    // Every image with a pending node entry; none is a descendant of another here but `app` and
    // `leaf` (direct too: they have node entries of their own).
    assert_eq!(
        names,
        [
            ("app", None),
            ("base-img", None),
            ("leaf", None),
            ("manual", None)
        ]
    );
    assert!(state.images["other"].rebuild.bypass.is_none());
    let bypass = state.images["manual"].rebuild.bypass.clone().unwrap();
    assert_eq!(
        (bypass.reason.as_str(), bypass.actor.as_str()),
        ("CVE-1", "alice")
    );
    // manual: its node entry is eligible now, its python entry keeps its clock.
    let eligible: Vec<(&str, Timestamp)> = state.images["manual"]
        .rebuild
        .pending
        .iter()
        .map(|p| (p.base.as_str(), p.eligible_at))
        .collect();
    assert_eq!(
        eligible,
        [
            ("node", at(3 * DAY)),
            ("python", at(3 * DAY - HOUR + 500 * HOUR))
        ]
    );
    // The plan: manual due now (approval bypassed) as an emergency, python pinned to its soaked
    // baseline; the bypasses counted.
    let p = plan(&state, &Settings::default(), at(3 * DAY));
    let manual = p.due.iter().find(|d| d.image == "manual").unwrap();
    assert_eq!(manual.reason, RebuildReason::Emergency);
    let pins: Vec<(&str, String)> = manual
        .pins
        .iter()
        .map(|p| (p.base.as_str(), p.digest.clone()))
        .collect();
    assert_eq!(pins, [("node", digest(2)), ("python", digest(7))]);
    assert_eq!(p.bypasses_30d, 4);
}

#[test]
fn an_emergency_on_an_image_reaches_its_children_through_the_cascade() {
    let mut state = cascade();
    for name in ["app", "leaf"] {
        state.images.get_mut(name).unwrap().rebuild.pending.clear();
    }
    let affected = declare(
        &mut state,
        &declared(Scope::Image("base-img".into()), "fix", 2 * DAY),
    )
    .unwrap();
    let names: Vec<(&str, Option<&str>)> = affected
        .iter()
        .map(|a| (a.image.as_str(), a.via.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("base-img", None),
            ("app", Some("base-img")),
            ("leaf", Some("app"))
        ]
    );
    // A child with a bypass and nothing eligible is not due: it waits for the parent's build.
    let p = plan(&state, &Settings::default(), at(2 * DAY));
    assert_eq!(due_names(&p), ["base-img"]);
    // Nothing pending: refused with a hint.
    let err = declare(
        &mut state,
        &declared(Scope::Image("app".into()), "x", 2 * DAY),
    );
    assert_eq!(
        err,
        Err(EmergencyError::NothingPending("image `app`".into()))
    );
    assert!(err.unwrap_err().to_string().contains("analyzer check"));
    assert_eq!(
        declare(&mut state, &declared(Scope::Image("ghost".into()), "x", 0)),
        Err(EmergencyError::UnknownImage("ghost".into()))
    );
}

#[test]
fn what_if_lists_dependents_by_delay_and_the_cascade_after_the_parent() {
    let e = enrolled(&[
        ("parent", 48, "high", true),
        ("child", 24, "normal", true),
        ("slow", 168, "critical", true),
        ("manual", 24, "low", false),
        ("unrelated", 1, "normal", true),
    ]);
    let mut state = State::default();
    state
        .images
        .insert("parent".into(), image(&e[0], &["node"], &[]));
    // child: on node itself too, due a day before its parent's rebuild: rebuilt twice.
    state
        .images
        .insert("child".into(), image(&e[1], &["node"], &["parent"]));
    state
        .images
        .insert("slow".into(), image(&e[2], &["node"], &[]));
    state
        .images
        .insert("manual".into(), image(&e[3], &["node"], &[]));
    state
        .images
        .insert("unrelated".into(), image(&e[4], &["python"], &[]));
    state.bases.insert("node".into(), base("node", &[(1, 0)]));
    let settings = Settings::default();
    let w = what_if(&state, &settings, &Scope::Base("node".into()), at(0));
    let rows: Vec<(&str, Timestamp, Option<&str>, bool)> = w
        .rebuilds
        .iter()
        .map(|r| {
            (
                r.image.as_str(),
                r.due_at,
                r.after.as_deref(),
                r.needs_approval,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("child", at(DAY), None, false),
            ("manual", at(DAY), None, true),
            ("parent", at(2 * DAY), None, false),
            ("child", at(2 * DAY), Some("parent"), false),
            ("slow", at(7 * DAY), None, false),
        ]
    );
    // A child whose own delay ends after its parent's: one rebuild, after the parent.
    state
        .images
        .get_mut("child")
        .unwrap()
        .enrollment
        .rebuild_delay = Duration::from_hours(72);
    let w = what_if(&state, &settings, &Scope::Base("node".into()), at(0));
    let child: Vec<(Timestamp, Option<&str>)> = w
        .rebuilds
        .iter()
        .filter(|r| r.image == "child")
        .map(|r| (r.due_at, r.after.as_deref()))
        .collect();
    assert_eq!(child, [(at(3 * DAY), Some("parent"))]);
    // A managed image's new build: its children only.
    let w = what_if(&state, &settings, &Scope::Image("parent".into()), at(0));
    assert_eq!(w.rebuilds.len(), 1);
    assert_eq!(w.rebuilds[0].image, "child");
    assert_eq!(w.rebuilds[0].due_at, at(0));
    // Pure.
    assert_eq!(
        w,
        what_if(&state, &settings, &Scope::Image("parent".into()), at(0))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// SPEC §11 #15: an emergency without a reason is refused and changes nothing; with one, every
    /// affected image carries the bypass with that reason, its covered entries are eligible, and
    /// the next plan makes each directly affected image due or holds it only for a rebuild in
    /// flight or a parent.
    #[test]
    fn an_emergency_needs_a_reason_and_is_recorded(
        (state, settings, now) in fleet(),
        reason in "[ a-z]{0,6}",
        base in 0usize..4,
    ) {
        let mut after = state.clone();
        let scope = Scope::Base(format!("b{base}"));
        let result = declare(&mut after, &Emergency {
            scope,
            reason: reason.clone(),
            actor: "ops".into(),
            at: at(now),
        });
        if reason.trim().is_empty() {
            prop_assert_eq!(result, Err(EmergencyError::NoReason));
            prop_assert_eq!(&after, &state);
            return Ok(());
        }
        let Ok(affected) = result else {
            prop_assert_eq!(&after, &state);
            return Ok(());
        };
        prop_assert!(!affected.is_empty());
        let p = plan(&after, &settings, at(now));
        for a in &affected {
            let image = &after.images[&a.image];
            prop_assert_eq!(image.rebuild.bypass.as_ref().map(|b| b.reason.as_str()), Some(reason.trim()));
            for entry in &a.entries {
                prop_assert!(entry.eligible_at <= at(now));
            }
            if a.via.is_none() {
                let due = p.due.iter().any(|d| d.image == a.image && d.reason == RebuildReason::Emergency);
                let held = p.blocked.iter().any(|b| b.image == a.image
                    && matches!(b.reason, Hold::InFlight | Hold::Parent { .. }));
                prop_assert!(due || held, "{} neither due nor held: {:?}", a.image, p);
            }
        }
    }
}
