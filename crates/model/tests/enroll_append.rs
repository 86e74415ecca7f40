//! Property test of `enrollment::append` (`analyzer enroll`): for generated `images.yaml` texts in
//! many layouts and generated entries with awkward values, the result reads as the old entries
//! plus the new one, and every original line (comments included) is still there, in order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image_factory_model as model;

use model::enrollment::{Draft, DraftSource, append};
use model::yaml::{self, Node, Value};
use proptest::prelude::*;

/// How a generated file is laid out.
#[derive(Clone, Debug)]
struct Layout {
    indent: usize,
    gap: usize,
    step: usize,
    crlf: bool,
    final_break: bool,
    header: bool,
    document_start: bool,
    blank_between: bool,
    comment_between: bool,
    trailing: Option<usize>,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop_oneof![Just(0usize), Just(2), Just(4)],
        prop_oneof![Just(2usize), Just(4)],
        prop_oneof![Just(2usize), Just(3), Just(4)],
        any::<[bool; 6]>(),
        proptest::option::of(0usize..6),
    )
        .prop_map(|(indent, gap, step, flags, trailing)| Layout {
            indent,
            gap,
            step,
            crlf: flags[0],
            final_break: flags[1],
            header: flags[2],
            document_start: flags[3],
            blank_between: flags[4],
            comment_between: flags[5],
            trailing,
        })
}

/// Strings a YAML reader could take for something else, and ordinary ones.
fn awkward() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("on".to_owned()),
        Just("yes".to_owned()),
        Just("No".to_owned()),
        Just("1.10".to_owned()),
        Just("010".to_owned()),
        Just("0x1F".to_owned()),
        Just("*".to_owned()),
        Just("#x".to_owned()),
        Just("a #b".to_owned()),
        Just("a: b".to_owned()),
        Just("- a".to_owned()),
        Just("null".to_owned()),
        Just("~".to_owned()),
        Just(String::new()),
        Just(" lead".to_owned()),
        Just("\"q\"".to_owned()),
        Just("'s'".to_owned()),
        Just("@x".to_owned()),
        Just("!tag".to_owned()),
        Just("&a".to_owned()),
        Just("|".to_owned()),
        Just("two\nlines".to_owned()),
        Just("été".to_owned()),
        "[a-z][a-z0-9/._-]{0,12}",
    ]
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        "[a-z][a-z0-9-]{0,10}",
        proptest::option::of(awkward()),
        proptest::option::of(awkward()),
        proptest::option::of(awkward()),
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,6}", awkward(), 0..3),
        proptest::option::of(any::<bool>()),
        proptest::option::of(awkward()),
    )
        .prop_map(
            |(name, branch, dockerfile, delay, inputs, auto_rebuild, priority)| Draft {
                name: format!("new-{name}"),
                registry: None,
                repository: Some(format!("acme/{name}")),
                source: DraftSource {
                    repo: format!("acme/{name}"),
                    branch,
                    dockerfile,
                    inputs,
                    ..DraftSource::default()
                },
                rebuild_delay: delay,
                auto_rebuild,
                priority,
            },
        )
}

/// An `images.yaml` with `items` entries (some with a nested `source`) in `layout`.
fn file(items: &[bool], l: &Layout) -> String {
    let dash = format!("{}-{}", " ".repeat(l.indent), " ".repeat(l.gap - 1));
    let body = " ".repeat(l.indent + l.gap);
    let nested = " ".repeat(l.indent + l.gap + l.step);
    let mut lines = Vec::new();
    if l.document_start {
        lines.push("---".to_owned());
    }
    if l.header {
        lines.push("# The images we build.".to_owned());
        lines.push(String::new());
    }
    for (i, with_source) in items.iter().enumerate() {
        if i > 0 && l.blank_between {
            lines.push(String::new());
        }
        if l.comment_between {
            lines.push(format!(
                "{}# entry {i}: why it is here",
                " ".repeat(l.indent)
            ));
        }
        lines.push(format!("{dash}name: img{i}"));
        lines.push(format!(
            "{body}repository: acme/img{i}  # where it is pushed"
        ));
        if *with_source {
            lines.push(format!("{body}source:"));
            lines.push(format!("{nested}repo: acme/img{i}"));
            lines.push(format!("{nested}# a comment inside"));
            lines.push(format!("{nested}dockerfile: \"on\""));
        }
    }
    if let Some(column) = l.trailing {
        lines.push(String::new());
        lines.push(format!("{}# - name: retired", " ".repeat(column)));
    }
    let newline = if l.crlf { "\r\n" } else { "\n" };
    let mut text = lines.join(newline);
    if l.final_break && !text.is_empty() {
        text.push_str(newline);
    }
    text
}

/// A tree without positions, as JSON (strings stay strings, numbers are marked).
fn plain(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::String(format!("int {i}")),
        Value::Float(f) => J::String(format!("float {f}")),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(plain).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.scalar_text(), plain(v)))
                .collect(),
        ),
    }
}

fn items_of(text: &str) -> Vec<serde_json::Value> {
    let root = yaml::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    match &root.value {
        Value::Null => Vec::new(),
        Value::Seq(items) => items.iter().map(plain).collect(),
        other => panic!("{text:?}: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn appending_keeps_every_line_and_every_entry(
        items in proptest::collection::vec(any::<bool>(), 0..5),
        l in layout(),
        new in draft(),
        comment in proptest::option::of("[a-zA-Z .]{0,20}"),
    ) {
        let text = file(&items, &l);
        let out = append(&text, &new, comment.as_deref())
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));

        let mut expected = items_of(&text);
        expected.push(serde_json::to_value(&new).unwrap());
        prop_assert_eq!(items_of(&out.text), expected, "{:?}", out.text);

        let mut rest = out.text.lines();
        for line in text.lines() {
            prop_assert!(rest.any(|l| l == line), "{:?} lost in {:?}", line, out.text);
        }
        prop_assert!(out.text.starts_with(text.trim_end_matches(['\r', '\n'])));
        prop_assert_eq!(&out.text[out.offset..=out.offset], "-");
        let entry_line = out.text.lines().nth(out.line - 1).unwrap();
        prop_assert_eq!(entry_line.trim_end_matches('\r').trim_start(), format!("-{}name: {}", " ".repeat(if items.is_empty() { 1 } else { l.gap - 1 }), new.name));
        if l.crlf && !text.is_empty() && text.contains('\n') {
            prop_assert!(!out.text.replace("\r\n", "").contains('\n'), "{:?}", out.text);
        }
    }
}
