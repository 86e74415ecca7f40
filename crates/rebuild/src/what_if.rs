//! [`what_if`]: the rebuilds a move of one base (or a new build of one managed image) would
//! cause across the whole fleet, and when each would become due (SPEC §9.2, `analyzer plan
//! --what-if REF [--at T]`).
//!
//! It follows [`plan`](crate::plan())'s rules with every build taken as instant: a dependent is due
//! its own `rebuildDelay` after the move; a managed child follows its parent's build after
//! `coordination.cascadeDelay`; a child whose own update is due while its parent's rebuild is
//! already due waits for it and gets ONE rebuild; two rebuilds of one image are at least
//! `coordination.window` apart. Today's pending entries, rebuilds in flight and backoffs are not
//! counted: it answers "what does this one move cause", not "what happens next" (that is `plan`).

use std::collections::BTreeMap;

use model::enrollment::Priority;
use model::settings::Settings;
use model::state::{ImageState, State};
use model::time::Timestamp;
use serde::Serialize;

use crate::emergency::Scope;
use crate::plan::depth;

/// The answer of [`what_if`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WhatIf {
    /// The base id or managed image that moves.
    pub moved: String,
    /// When it moves.
    pub at: Timestamp,
    /// The rebuilds it causes, by due time, then priority, depth and name.
    pub rebuilds: Vec<WhatIfImage>,
}

/// One rebuild a move causes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WhatIfImage {
    /// The managed image.
    pub image: String,
    /// When it becomes due.
    pub due_at: Timestamp,
    /// The managed parent whose rebuild it follows (a cascade), if any.
    pub after: Option<String>,
    /// Its priority.
    pub priority: Priority,
    /// How many managed parents stand above it.
    pub depth: usize,
    /// `autoRebuild: false`: it waits for a person (`analyzer emergency`) instead.
    pub needs_approval: bool,
}

/// The rebuilds caused if `moved` (a base id, or a managed image's new build) moved at `at`.
/// Unknown names give no rebuilds; the driver tells them apart.
pub fn what_if(state: &State, settings: &Settings, moved: &Scope, at: Timestamp) -> WhatIf {
    let managed: BTreeMap<&str, &ImageState> = state
        .images
        .iter()
        .filter(|(_, i)| i.is_managed())
        .map(|(n, i)| (n.as_str(), i))
        .collect();
    let cascade = settings.coordination.cascade_delay;
    let window = settings.coordination.window;
    // Own updates: the dependents of the base, each after its own delay.
    let (name, own): (&str, BTreeMap<&str, Timestamp>) = match moved {
        Scope::Base(id) => (
            id,
            managed
                .iter()
                .filter(|(_, i)| i.base_images.contains(id))
                .map(|(&n, i)| (n, at.add(i.enrollment.rebuild_delay)))
                .collect(),
        ),
        Scope::Image(image) => (image, BTreeMap::new()),
    };
    // Rebuild times per image, parents before children (by depth).
    let mut by_depth: Vec<(&str, usize)> =
        managed.keys().map(|&n| (n, depth(&managed, n))).collect();
    by_depth.sort_by_key(|&(n, d)| (d, n));
    let mut times: BTreeMap<&str, Vec<(Timestamp, Option<String>)>> = BTreeMap::new();
    if let Scope::Image(image) = moved {
        times.insert(image.as_str(), vec![(at, None)]);
    }
    for &(name, _) in &by_depth {
        let Some(image) = managed.get(name) else {
            continue;
        };
        let mut parents: Vec<(Timestamp, Timestamp, &str)> = image
            .managed_parents
            .iter()
            .filter_map(|p| Some((p.as_str(), times.get(p.as_str())?)))
            .flat_map(|(p, ts)| ts.iter().map(move |(t, _)| (*t, t.add(cascade), p)))
            .collect();
        parents.sort();
        let mut mine: Vec<(Timestamp, Option<String>)> = Vec::new();
        if let Some(&t_own) = own.get(name) {
            // A parent rebuild due by then is waited for: one rebuild covers both.
            match parents
                .iter()
                .rposition(|(t_parent, _, _)| *t_parent <= t_own)
            {
                Some(i) => {
                    let (_, follows, parent) = parents.remove(i);
                    mine.push((t_own.max(follows), Some(parent.to_owned())));
                }
                None => mine.push((t_own, None)),
            }
        }
        mine.extend(
            parents
                .into_iter()
                .map(|(_, follows, parent)| (follows, Some(parent.to_owned()))),
        );
        if mine.is_empty() {
            continue;
        }
        mine.sort();
        // Two dispatches of one image are at least a window apart.
        for i in 1..mine.len() {
            let earliest = mine[i - 1].0.add(window);
            if mine[i].0 < earliest {
                mine[i].0 = earliest;
            }
        }
        mine.dedup_by(|a, b| a.0 == b.0);
        if !matches!(moved, Scope::Image(i) if i == name) {
            times.insert(name, mine);
        }
    }
    let mut rebuilds: Vec<WhatIfImage> = Vec::new();
    for (name, ts) in &times {
        if matches!(moved, Scope::Image(i) if i == name) {
            continue;
        }
        let Some(image) = managed.get(name) else {
            continue;
        };
        for (due_at, after) in ts {
            rebuilds.push(WhatIfImage {
                image: (*name).to_owned(),
                due_at: *due_at,
                after: after.clone(),
                priority: image.enrollment.priority,
                depth: depth(&managed, name),
                needs_approval: !image.enrollment.auto_rebuild,
            });
        }
    }
    rebuilds.sort_by(|a, b| {
        (a.due_at, a.priority, a.depth, &a.image).cmp(&(b.due_at, b.priority, b.depth, &b.image))
    });
    WhatIf {
        moved: name.to_owned(),
        at,
        rebuilds,
    }
}
