//! The plan job (`analyzer plan`, SPEC §9.3): what the rebuild engine would dispatch now, read
//! from the state without writing anything.

use std::fmt;

use model::time::Timestamp;
use rebuild::{Hold, Plan};
use serde::Serialize;

use crate::analyze::FileError;
use crate::dir::FactoryDir;
use crate::error::JobError;

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
