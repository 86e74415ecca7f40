//! The plan job (`analyzer plan`, SPEC §9.3): what the rebuild engine would dispatch now, read
//! from the state without writing anything.

use std::fmt;

use model::reference::ImageRef;
use model::state::State;
use model::time::Timestamp;
use rebuild::{Hold, Plan, Scope};
use serde::Serialize;

use crate::analyze::FileError;
use crate::dir::FactoryDir;
use crate::error::{JobError, UsageError};

/// The report of [`plan`]: the plan (`{"now", "due", "pending", "blocked", "bypasses30d"}`) and
/// the state files that could not be loaded (their images are left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlanReport {
    /// The plan.
    #[serde(flatten)]
    pub plan: Plan,
    /// State files that could not be loaded.
    pub load_errors: Vec<FileError>,
}

impl PlanReport {
    /// Whether every state file loaded.
    pub fn is_success(&self) -> bool {
        self.load_errors.is_empty()
    }
}

/// Plans the rebuilds of `dir` at `now` with [`rebuild::plan`]. The enrolment of `images.yaml`
/// wins over the copy in each state file (a priority or delay changed since the last analysis
/// counts at once).
///
/// # Errors
/// Configuration errors; the state directory cannot be read.
pub fn plan(dir: &FactoryDir, now: Timestamp) -> Result<PlanReport, JobError> {
    let config = dir.config()?;
    // Read-only: no lock (writes are atomic renames, each file is old or new).
    let mut loaded = dir.load_state(now)?;
    for image in &config.images {
        if let Some(state) = loaded.state.images.get_mut(&image.name) {
            state.enrollment = image.clone();
        }
    }
    Ok(PlanReport {
        plan: rebuild::plan(&loaded.state, &config.settings, now),
        load_errors: loaded.errors.iter().map(FileError::from).collect(),
    })
}

/// The report of [`what_if`]: the rebuilds a move would cause (`analyzer plan --what-if`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WhatIfReport {
    /// The reference as given.
    pub reference: String,
    /// `base` or `image`.
    pub kind: &'static str,
    /// The answer.
    #[serde(flatten)]
    pub what_if: rebuild::WhatIf,
    /// State files that could not be loaded (their images are left out).
    pub load_errors: Vec<FileError>,
}

impl WhatIfReport {
    /// Whether every state file loaded.
    pub fn is_success(&self) -> bool {
        self.load_errors.is_empty()
    }
}

/// The rebuilds, across the whole fleet, if `reference` moved at `at` ([`rebuild::what_if`]):
/// `reference` is a watched base (by id or reference, `node:22`) or a managed image (by name or
/// repository), whose new build cascades to its children.
///
/// # Errors
/// [`UsageError::WhatIf`] when `reference` is neither; configuration errors; the state directory
/// cannot be read.
pub fn what_if(dir: &FactoryDir, reference: &str, at: Timestamp) -> Result<WhatIfReport, JobError> {
    let config = dir.config()?;
    let mut loaded = dir.load_state(at)?;
    for image in &config.images {
        if let Some(state) = loaded.state.images.get_mut(&image.name) {
            state.enrollment = image.clone();
        }
    }
    let state = &loaded.state;
    let (kind, scope) = resolve(state, reference)?;
    Ok(WhatIfReport {
        reference: reference.to_owned(),
        kind,
        what_if: rebuild::what_if(state, &config.settings, &scope, at),
        load_errors: loaded.errors.iter().map(FileError::from).collect(),
    })
}

/// A managed image (name or repository) or a watched base (id or reference).
fn resolve(state: &State, text: &str) -> Result<(&'static str, Scope), UsageError> {
    let managed = |name: &str| state.images.get(name).is_some_and(|i| i.is_managed());
    if managed(text) {
        return Ok(("image", Scope::Image(text.to_owned())));
    }
    if state.bases.get(text).is_some_and(|b| b.watch.is_some()) {
        return Ok(("base", Scope::Base(text.to_owned())));
    }
    let reference = ImageRef::parse_normalized(text).map_err(|e| UsageError::WhatIf {
        reference: text.to_owned(),
        problem: format!("it is not an image reference: {e}"),
    })?;
    let canonical_name = reference.name();
    if let Some((name, _)) = state.images.iter().find(|(_, i)| {
        i.is_managed()
            && ImageRef::parse_normalized(&format!(
                "{}/{}",
                i.enrollment.registry, i.enrollment.repository
            ))
            .is_ok_and(|r| r.name() == canonical_name)
    }) {
        return Ok(("image", Scope::Image(name.clone())));
    }
    let canonical = reference.canonical();
    if let Some((id, _)) = state
        .bases
        .iter()
        .find(|(_, b)| b.reference == canonical && b.watch.is_some())
    {
        return Ok(("base", Scope::Base(id.clone())));
    }
    let watched: Vec<&str> = state
        .bases
        .values()
        .filter(|b| b.watch.is_some() && b.reference.starts_with(&canonical_name))
        .map(|b| b.reference.as_str())
        .collect();
    let hint = if watched.is_empty() {
        "no image of the fleet builds on it; `ls state/base-images/` lists the watched bases"
            .to_owned()
    } else {
        format!("the fleet watches {}", watched.join(", "))
    };
    Err(UsageError::WhatIf {
        reference: text.to_owned(),
        problem: format!("{canonical} is neither a watched base nor a managed image: {hint}"),
    })
}

/// The text of `analyzer plan --what-if`.
impl fmt::Display for WhatIfReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.what_if;
        writeln!(
            f,
            "if {} {} moved at {}: {} rebuild(s)",
            self.kind,
            w.moved,
            w.at,
            w.rebuilds.len()
        )?;
        let mut rows = vec![[
            "DUE AT".to_owned(),
            "IMAGE".to_owned(),
            "PRIORITY".to_owned(),
            "DEPTH".to_owned(),
            "NOTE".to_owned(),
        ]];
        for r in &w.rebuilds {
            let mut note = r
                .after
                .as_ref()
                .map(|p| format!("after {p}'s build"))
                .unwrap_or_default();
            if r.needs_approval {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                note.push_str("needs approval (autoRebuild: false)");
            }
            rows.push([
                r.due_at.to_string(),
                r.image.clone(),
                lower(&r.priority),
                r.depth.to_string(),
                note,
            ]);
        }
        table(f, &rows)?;
        for e in &self.load_errors {
            writeln!(f, "state file failed: {e}")?;
        }
        Ok(())
    }
}

/// The text of `analyzer plan`: due, waiting and held images, one per line, aligned.
impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plan = &self.plan;
        writeln!(f, "plan at {}", plan.now)?;
        let mut due = vec![[
            "DUE".to_owned(),
            "PRIORITY".to_owned(),
            "DEPTH".to_owned(),
            "REASON".to_owned(),
            "COVERS".to_owned(),
            "PINS".to_owned(),
        ]];
        for d in &plan.due {
            let pins: Vec<String> = d
                .pins
                .iter()
                .map(|p| format!("{}@{}", p.base, short(&p.digest)))
                .chain(d.unpinned.iter().map(|b| format!("{b}@(tag)")))
                .collect();
            let deferred = if d.deferred { " (next tick)" } else { "" };
            due.push([
                format!("{}{deferred}", d.image),
                lower(&d.priority),
                d.depth.to_string(),
                lower(&d.reason),
                d.covers.len().to_string(),
                pins.join(" "),
            ]);
        }
        table(f, &due)?;
        let mut waiting = vec![["PENDING".to_owned(), "DUE AT".to_owned(), "NOTE".to_owned()]];
        for w in &plan.pending {
            let note = if w.needs_approval {
                "needs approval (autoRebuild: false): analyzer emergency".to_owned()
            } else {
                format!("{} update(s)", w.entries.len())
            };
            waiting.push([w.image.clone(), w.due_at.to_string(), note]);
        }
        table(f, &waiting)?;
        let mut held = vec![["BLOCKED".to_owned(), "WHY".to_owned(), "UNTIL".to_owned()]];
        for b in &plan.blocked {
            let why = match &b.reason {
                Hold::InFlight => "rebuild in flight".to_owned(),
                Hold::Window => "dispatched within the coordination window".to_owned(),
                Hold::Backoff { attempt } => format!("backing off before attempt {attempt}"),
                Hold::Rejected => "the CI rejected the last dispatch".to_owned(),
                Hold::Parent { parent } => format!("waits for its parent {parent}"),
                _ => "held".to_owned(),
            };
            let until = b.until.map_or_else(|| "-".to_owned(), |t| t.to_string());
            held.push([b.image.clone(), why, until]);
        }
        table(f, &held)?;
        writeln!(f, "emergencies in the last 30 days: {}", plan.bypasses_30d)?;
        for e in &self.load_errors {
            writeln!(f, "state file failed: {e}")?;
        }
        Ok(())
    }
}

/// A serialised enum's name (`critical`, `scheduled`).
fn lower(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// Rows with columns padded to their widest cell; nothing when there is only the header.
fn table<const N: usize>(f: &mut fmt::Formatter<'_>, rows: &[[String; N]]) -> fmt::Result {
    if rows.len() < 2 {
        return Ok(());
    }
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    writeln!(f)?;
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}
