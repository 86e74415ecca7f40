//! The dependency graph of a fleet as Mermaid or Graphviz DOT text: managed images, watched base
//! images, digest-pinned bases, external images, and the edges between them (base → image,
//! managed parent → image as a cascade), and the one cycle finder of the crate (`find_cycle`),
//! used for managed images building from each other and for Stage graphs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::synthesize::Plan;

/// The first cycle of a directed graph, as the path `a → b → … → a` (first and last node equal),
/// or `None` when the graph is acyclic. Depth-first from each of `nodes` in order, following
/// `next(node)` in order; edges to nodes not in `nodes` are ignored. Iterative, so deep graphs
/// cannot overflow the stack; deterministic for a given order.
pub(crate) fn find_cycle<N: Ord + Clone>(
    nodes: impl IntoIterator<Item = N>,
    next: impl Fn(&N) -> Vec<N>,
) -> Option<Vec<N>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let order: Vec<N> = nodes.into_iter().collect();
    let mut marks: BTreeMap<N, Mark> = order.iter().map(|n| (n.clone(), Mark::New)).collect();
    for start in order {
        if marks.get(&start) != Some(&Mark::New) {
            continue;
        }
        // The current path, each node with its successors not yet followed (reversed, so `pop`
        // takes them in order).
        let mut path: Vec<(N, Vec<N>)> = Vec::new();
        let successors = |n: &N| -> Vec<N> { next(n).into_iter().rev().collect() };
        marks.insert(start.clone(), Mark::Active);
        path.push((start.clone(), successors(&start)));
        while let Some((node, pending)) = path.last_mut() {
            let Some(to) = pending.pop() else {
                let done = node.clone();
                marks.insert(done, Mark::Done);
                path.pop();
                continue;
            };
            match marks.get(&to).copied() {
                Some(Mark::New) => {
                    marks.insert(to.clone(), Mark::Active);
                    let after = successors(&to);
                    path.push((to, after));
                }
                Some(Mark::Active) => {
                    let from = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                    let mut cycle: Vec<N> = path[from..].iter().map(|(n, _)| n.clone()).collect();
                    cycle.push(to);
                    return Some(cycle);
                }
                _ => {}
            }
        }
    }
    None
}

/// Output format of [`render`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Mermaid `flowchart`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// JSON: `{"nodes": [{"id", "label", "kind"}], "edges": [{"from", "to", "kind"}]}`, kinds
    /// `managed`, `base`, `pinned`, `external` (nodes) and `base`, `pinned`, `cascade` (edges).
    Json,
}

enum Node {
    Managed,
    Base,
    Pinned,
    External,
}

enum Edge {
    Base,
    Pinned,
    Cascade,
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Managed => "managed",
            Node::Base => "base",
            Node::Pinned => "pinned",
            Node::External => "external",
        }
    }
}

impl Edge {
    fn kind(&self) -> &'static str {
        match self {
            Edge::Base => "base",
            Edge::Pinned => "pinned",
            Edge::Cascade => "cascade",
        }
    }
}

fn node_id(prefix: &str, name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{slug}")
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "'")
}

/// Renders the graph of `plan`. Deterministic: nodes and edges in sorted order.
pub fn render(plan: &Plan, format: Format) -> String {
    let mut nodes: Vec<(String, String, Node)> = Vec::new();
    let mut edges: Vec<(String, String, Edge)> = Vec::new();
    for name in plan.managed.keys() {
        nodes.push((node_id("m", name), name.clone(), Node::Managed));
    }
    for (id, base) in &plan.bases {
        nodes.push((node_id("b", id), base.familiar.clone(), Node::Base));
    }
    let mut pinned = std::collections::BTreeSet::new();
    for (name, m) in &plan.managed {
        for id in &m.bases {
            edges.push((node_id("b", id), node_id("m", name), Edge::Base));
        }
        for id in &m.pinned {
            pinned.insert(id.clone());
            edges.push((node_id("p", id), node_id("m", name), Edge::Pinned));
        }
        for parent in &m.parents {
            edges.push((node_id("m", parent), node_id("m", name), Edge::Cascade));
        }
    }
    for id in pinned {
        nodes.push((node_id("p", &id), format!("{id} (pinned)"), Node::Pinned));
    }
    for (name, (repo, tag)) in &plan.external {
        nodes.push((
            node_id("x", name),
            format!("{name}: {repo}:{tag}"),
            Node::External,
        ));
    }
    let mut out = String::new();
    match format {
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            for (id, label, kind) in &nodes {
                let label = escape(label);
                let _ = match kind {
                    Node::Managed => writeln!(out, "  {id}[\"{label}\"]:::managed"),
                    Node::Base => writeln!(out, "  {id}([\"{label}\"]):::base"),
                    Node::Pinned => writeln!(out, "  {id}([\"{label}\"]):::pinned"),
                    Node::External => writeln!(out, "  {id}[/\"{label}\"/]:::external"),
                };
            }
            for (from, to, kind) in &edges {
                let _ = match kind {
                    Edge::Base => writeln!(out, "  {from} --> {to}"),
                    Edge::Pinned => writeln!(out, "  {from} -.-> {to}"),
                    Edge::Cascade => writeln!(out, "  {from} ==>|cascade| {to}"),
                };
            }
            out.push_str("  classDef managed fill:#dff,stroke:#077\n");
            out.push_str("  classDef base fill:#ffd,stroke:#770\n");
            out.push_str("  classDef pinned fill:#eee,stroke:#777\n");
            out.push_str("  classDef external fill:#fdf,stroke:#707\n");
        }
        Format::Dot => {
            out.push_str("digraph image_factory {\n  rankdir=LR;\n");
            for (id, label, kind) in &nodes {
                let label = escape(label);
                let style = match kind {
                    Node::Managed => "shape=box,style=filled,fillcolor=\"#ddffff\"",
                    Node::Base => "shape=ellipse,style=filled,fillcolor=\"#ffffdd\"",
                    Node::Pinned => "shape=ellipse,style=dashed",
                    Node::External => "shape=parallelogram,style=filled,fillcolor=\"#ffddff\"",
                };
                let _ = writeln!(out, "  {id} [label=\"{label}\",{style}];");
            }
            for (from, to, kind) in &edges {
                let style = match kind {
                    Edge::Base => "",
                    Edge::Pinned => " [style=dashed]",
                    Edge::Cascade => " [label=\"cascade\",style=bold]",
                };
                let _ = writeln!(out, "  {from} -> {to}{style};");
            }
            out.push_str("}\n");
        }
        Format::Json => {
            let nodes: Vec<_> = nodes
                .iter()
                .map(|(id, label, kind)| {
                    serde_json::json!({"id": id, "label": label, "kind": kind.kind()})
                })
                .collect();
            let edges: Vec<_> = edges
                .iter()
                .map(|(from, to, kind)| serde_json::json!({"from": from, "to": to, "kind": kind.kind()}))
                .collect();
            let graph = serde_json::json!({"nodes": nodes, "edges": edges});
            // A `Value` of strings always serialises.
            out = serde_json::to_string_pretty(&graph).unwrap_or_default() + "\n";
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(u8, u8)]) -> impl Fn(&u8) -> Vec<u8> + '_ {
        move |n| {
            edges
                .iter()
                .filter(|(a, _)| a == n)
                .map(|(_, b)| *b)
                .collect()
        }
    }

    #[test]
    fn cycles() {
        assert_eq!(
            find_cycle(1..=4, graph(&[(1, 2), (2, 3), (1, 3), (3, 4)])),
            None
        );
        assert_eq!(
            find_cycle(1..=3, graph(&[(1, 2), (2, 3), (3, 2)])),
            Some(vec![2, 3, 2])
        );
        assert_eq!(find_cycle([5], graph(&[(5, 5)])), Some(vec![5, 5]));
        // Edges leaving the node set are ignored.
        assert_eq!(find_cycle([1], graph(&[(1, 2), (2, 1)])), None);
        // A chain deeper than any thread stack.
        let deep = |n: &u32| if *n < 200_000 { vec![n + 1] } else { vec![0] };
        assert_eq!(
            find_cycle(0..=200_000, deep).map(|c| c.len()),
            Some(200_002)
        );
    }
}
