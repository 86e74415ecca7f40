//! The order BuildKit builds stages in. A `COPY --from` or `RUN --mount from=` that names a stage
//! makes the stage depend on it; a cycle fails the build (`validateCircularDependency`,
//! `dockerfile2llb/validations.go`), and so does, in a stage the target needs, a dependency on a
//! later stage, because BuildKit dispatches the stages in file order (`dispatch` and
//! `dispatchRunMounts` in `dockerfile2llb/convert.go` and `convert_runmount.go`).

use crate::error::DockerfileError;
use crate::{Diagnostic, RefKind, Stage};

/// One instruction's dependency on a stage.
pub(crate) struct Link {
    /// The stage the instruction is in.
    pub stage: usize,
    /// The stage it needs.
    pub to: usize,
    /// The instruction's line.
    pub line: usize,
    /// `COPY --from` or `RUN --mount from=`.
    pub kind: RefKind,
    /// The value as written.
    pub value: String,
    /// The mount's target (for the error message).
    pub mount_target: String,
}

/// BuildKit's `stageName`: the `AS` name, else `stage-N`.
fn stage_name(stages: &[Stage], i: usize) -> String {
    stages
        .get(i)
        .and_then(|s| s.name.clone())
        .unwrap_or_else(|| format!("stage-{i}"))
}

/// The first problem BuildKit would stop at, if any.
pub(crate) fn check(stages: &[Stage], links: &[Link]) -> Option<Diagnostic> {
    let out = |i: usize| links.iter().filter(move |l| l.stage == i);
    if let Some((root, line)) = cycle(stages.len(), &out) {
        return Some(Diagnostic::new(
            line,
            DockerfileError::CircularDependency(stage_name(stages, root)),
        ));
    }
    // The stages the target (the last stage) needs: bases and dependencies, transitively.
    let mut needed = vec![false; stages.len()];
    let mut todo: Vec<usize> = stages.len().checked_sub(1).into_iter().collect();
    while let Some(i) = todo.pop() {
        if needed.get(i).copied().unwrap_or(true) {
            continue;
        }
        needed[i] = true;
        todo.extend(stages.get(i).and_then(|s| s.stage_ref));
        todo.extend(out(i).map(|l| l.to));
    }
    let later = (0..stages.len())
        .filter(|&i| needed[i])
        .flat_map(out)
        .find(|l| l.to > l.stage)?;
    let error = match later.kind {
        RefKind::RunMountFrom => DockerfileError::MountFromLaterStage {
            from: later.value.clone(),
            target: later.mount_target.clone(),
        },
        _ => DockerfileError::CopyFromLaterStage {
            from: later.value.clone(),
            stage: stage_name(stages, later.stage),
        },
    };
    Some(Diagnostic::new(later.line, error))
}

/// BuildKit's depth-first search: the first stage (in file order) from which a cycle is reachable,
/// and the line of the first instruction on the path.
fn cycle<'a, I: Iterator<Item = &'a Link>>(
    n: usize,
    out: &impl Fn(usize) -> I,
) -> Option<(usize, usize)> {
    let mut visited = vec![false; n];
    let mut on_path = vec![false; n];
    fn visit<'a, I: Iterator<Item = &'a Link>>(
        i: usize,
        first: Option<usize>,
        out: &impl Fn(usize) -> I,
        visited: &mut [bool],
        on_path: &mut [bool],
    ) -> Option<usize> {
        if visited.get(i).copied().unwrap_or(true) {
            return None;
        }
        visited[i] = true;
        on_path[i] = true;
        for l in out(i) {
            // BuildKit keeps one instruction per dependency in a map: the last one.
            let line = out(i)
                .filter(|m| m.to == l.to)
                .last()
                .map_or(l.line, |m| m.line);
            let first = first.unwrap_or(line);
            if on_path.get(l.to).copied().unwrap_or(false) {
                return Some(first);
            }
            if let Some(line) = visit(l.to, Some(first), out, visited, on_path) {
                return Some(line);
            }
        }
        on_path[i] = false;
        None
    }
    (0..n).find_map(|root| {
        visit(root, None, out, &mut visited, &mut on_path).map(|line| (root, line))
    })
}
