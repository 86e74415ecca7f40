//! A span-carrying YAML tree.
//!
//! Configuration files are first parsed (with `serde-saphyr`, YAML 1.2 core schema) into a [`Node`]
//! tree in which every value — mapping keys included — knows its line and column. The typed decoders
//! of [`crate::enrollment`] and [`crate::settings`] then walk that tree and collect every problem at
//! once instead of stopping at the first one, as a derived `Deserialize` would.
//!
//! YAML 1.2 rules apply: `on`, `yes`, `no` and `off` are strings, quoted scalars (`"0"`) stay strings.
//! Duplicate mapping keys are kept in the tree (the decoders report them).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based position in a source text (line 0 / column 0 mean "unknown").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number (in characters).
    pub column: usize,
}

impl Pos {
    /// A position from a line and a column.
    pub const fn new(line: usize, column: usize) -> Self {
        Self { line, column }
    }
}

/// A YAML value whose children carry their own positions.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A floating-point number.
    Float(f64),
    /// A string (quoted, or plain and not a number/bool/null).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order; duplicate keys are kept.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short description of the kind of value, for messages ("a string", "a mapping", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML value with the position where it appears in the source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value appears (for mapping values: the start of the value, not of its key).
    pub pos: Pos,
}

impl Node {
    /// The string content when this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries when this node is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items when this node is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar rendered as text (for keys and messages); collections give their kind.
    pub fn scalar_text(&self) -> String {
        match &self.value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => self.value.kind().to_owned(),
        }
    }
}

/// A YAML syntax error: the text is not YAML at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// What the YAML parser said.
    pub message: String,
    /// Where (line 1, column 1 when the parser gave no position).
    pub pos: Pos,
}

/// serde-saphyr's options for configuration files (YAML 1.2, duplicate keys kept).
fn saphyr_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    options.with_snippet = false;
    options.strict_booleans = true;
    // Fleets of tens of thousands of images must load: raise the node/event limits (the depth
    // limit, which protects the stack, stays at its default).
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 50_000_000;
    budget.max_events = 100_000_000;
    options.budget = Some(budget);
    options
}

/// [`parse`] through serde-saphyr only: the reference the event-built tree must equal.
#[cfg(test)]
fn parse_with_serde(text: &str) -> Option<Node> {
    serde_saphyr::from_str_with_options::<Node>(text, saphyr_options()).ok()
}

/// Parses one YAML document into a span-carrying tree. An empty document gives [`Value::Null`].
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let options = saphyr_options();
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Node {
            value: Value::Null,
            pos: Pos::new(1, 1),
        });
    }
    if let Some(node) = tree_from_events(text) {
        return Ok(node);
    }
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(node) => Ok(node),
        Err(err) => {
            let pos = err
                .location()
                .map(|l| Pos::new(to_usize(l.line()), to_usize(l.column())))
                .filter(|p| p.line > 0)
                .unwrap_or(Pos::new(1, 1));
            let message = clean_message(&err.to_string());
            // The scanner notices an indenting tab only after the token before it (a plain
            // scalar ends at the tab, often at the end of the previous line): point at the tab.
            match indenting_tab(text, pos).filter(|_| message.contains("tab")) {
                Some(tab) => Err(SyntaxError {
                    message: "a tab is used for indentation; YAML indents with spaces".to_owned(),
                    pos: tab,
                }),
                None => Err(SyntaxError { message, pos }),
            }
        }
    }
}

/// Deepest nesting the event builder takes on; deeper documents go to serde-saphyr, whose budget
/// (depth 64) then refuses them with its own message.
const MAX_EVENT_DEPTH: usize = 60;

/// A collection being built from the parser's events.
enum Open {
    Seq(Pos, Vec<Node>),
    /// Entries so far, and the key waiting for its value.
    Map(Pos, Vec<(Node, Node)>, Option<Node>),
}

/// Builds the tree straight from granit-parser's events, the parser serde-saphyr runs on: about
/// five times faster than serde's `Spanned` machinery, which dominated the reading of a large
/// `images.yaml` (ADR 0002, docs/performance.md). The tree is the one serde-saphyr gives (a test
/// compares both on every fixture and on generated documents); `None` for anything this builder
/// does not model the same way — syntax errors, several documents, anchors, aliases, tags, merge
/// keys, collections as keys, deep nesting — and [`parse`] then takes the serde-saphyr path,
/// which also words the errors.
fn tree_from_events(text: &str) -> Option<Node> {
    use granit_parser::{Event, Parser, ScalarStyle};

    let mut open: Vec<Open> = Vec::new();
    let mut root = None;
    let mut documents = 0;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.ok()?;
        let pos = Pos::new(span.start.line(), span.start.col() + 1);
        let node = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                let value = match style {
                    ScalarStyle::Plain => plain_scalar(&value)?,
                    _ => Value::Str(value.into_owned()),
                };
                Node { value, pos }
            }
            Event::SequenceStart(_, anchor, tag) | Event::MappingStart(_, anchor, tag)
                if anchor != 0 || tag.is_some() || open.len() >= MAX_EVENT_DEPTH =>
            {
                return None;
            }
            Event::SequenceStart(..) => {
                open.push(Open::Seq(pos, Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                open.push(Open::Map(pos, Vec::new(), None));
                continue;
            }
            Event::SequenceEnd => match open.pop()? {
                Open::Seq(pos, items) => Node {
                    value: Value::Seq(items),
                    pos,
                },
                Open::Map(..) => return None,
            },
            Event::MappingEnd => match open.pop()? {
                Open::Map(pos, entries, None) => Node {
                    value: Value::Map(entries),
                    pos,
                },
                Open::Map(..) | Open::Seq(..) => return None,
            },
            Event::Alias(_) | Event::UnresolvedAlias(_) => return None,
            // Stream and document ends, comments and other presentation details.
            _ => continue,
        };
        match open.last_mut() {
            None if root.is_none() => root = Some(node),
            None => return None,
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, entries, key)) => match key.take() {
                Some(key) => entries.push((key, node)),
                None => match &node.value {
                    Value::Seq(_) | Value::Map(_) => return None,
                    Value::Str(s) if s == "<<" => return None,
                    _ => *key = Some(node),
                },
            },
        }
    }
    if open.is_empty() { root } else { None }
}

/// A plain scalar resolved as serde-saphyr resolves it for an untyped value (YAML 1.2 core schema,
/// strict booleans). Text that may be a number is handed to serde-saphyr itself, so its exact rules
/// (radix prefixes, underscores, overflow, `.inf`) apply; `None` when that does not give a scalar.
fn plain_scalar(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    if !may_be_number(text) {
        return Some(Value::Str(text.to_owned()));
    }
    match serde_saphyr::from_str_with_options::<Value>(text, saphyr_options()).ok()? {
        Value::Seq(_) | Value::Map(_) => None,
        value => Some(value),
    }
}

/// Whether a plain scalar could be read as a number: a superset of what serde-saphyr accepts
/// (decimal, `0x`/`0o`/`0b`, underscores, exponents, `.inf`/`.nan` in any case, sexagesimal),
/// narrow enough that ordinary words and tags such as `7d` or `3.12-slim` stay on the fast path.
fn may_be_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = unsigned.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan" | "inf" | "nan" | "infinity") {
        return true;
    }
    let bytes = lower.as_bytes();
    match bytes {
        [b'0', b'x' | b'o' | b'b', ..] => return true,
        [] => return false,
        _ => {}
    }
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'e' | b'+' | b'-' | b':'))
        && bytes.iter().any(u8::is_ascii_digit)
}

/// The first tab in the indentation of a line, searching from line `from.line` on (the line of
/// the error itself counts only when its indentation holds the tab).
fn indenting_tab(text: &str, from: Pos) -> Option<Pos> {
    text.lines()
        .enumerate()
        .skip(from.line.saturating_sub(1))
        .find_map(|(i, line)| {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            line[..indent]
                .find('\t')
                .map(|col| Pos::new(i + 1, line[..col].chars().count() + 1))
        })
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Strips the location suffix serde-saphyr appends ("... at line 3, column 5") and extra lines.
fn clean_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg).trim();
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let first = first.trim_end_matches(':').trim();
    if first.starts_with("multiple YAML documents") {
        return "more than one YAML document (`---`); the file must hold exactly one".to_owned();
    }
    if first.is_empty() {
        "invalid YAML".to_owned()
    } else {
        first.to_owned()
    }
}

impl From<Spanned<Value>> for Node {
    fn from(s: Spanned<Value>) -> Self {
        Node {
            value: s.value,
            pos: Pos::new(
                to_usize(s.referenced.line()),
                to_usize(s.referenced.column()),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Spanned::<Value>::deserialize(deserializer).map(Node::from)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(node: &Node) -> &[(Node, Node)] {
        node.as_map().unwrap()
    }

    #[test]
    fn scalars_follow_yaml_1_2() {
        let n = parse("a: \"0\"\nb: on\nc: yes\nd: 0\ne: true\nf: 1.10\ng: ~\nh:\n").unwrap();
        let m = map(&n);
        assert_eq!(m[0].1.value, Value::Str("0".into()));
        assert_eq!(m[1].1.value, Value::Str("on".into()));
        assert_eq!(m[2].1.value, Value::Str("yes".into()));
        assert_eq!(m[3].1.value, Value::Int(0));
        assert_eq!(m[4].1.value, Value::Bool(true));
        assert_eq!(m[5].1.value, Value::Float(1.1));
        assert_eq!(m[6].1.value, Value::Null);
        assert_eq!(m[7].1.value, Value::Null);
    }

    #[test]
    fn positions_of_keys_and_values() {
        let n = parse("# c\n- name: x\n  source:\n    repo: a/b\n").unwrap();
        let items = n.as_seq().unwrap();
        let m = map(&items[0]);
        assert_eq!(m[0].0.pos, Pos::new(2, 3));
        assert_eq!(m[0].1.pos, Pos::new(2, 9));
        assert_eq!(m[1].0.pos, Pos::new(3, 3));
        let src = map(&m[1].1);
        assert_eq!(src[0].0.pos, Pos::new(4, 5));
        assert_eq!(src[0].1.pos, Pos::new(4, 11));
    }

    #[test]
    fn duplicate_keys_are_kept() {
        let n = parse("a: 1\na: 2\n").unwrap();
        assert_eq!(map(&n).len(), 2);
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
        let e = parse("- a: 1\n b: 2\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
    }

    #[test]
    fn an_indenting_tab_is_reported_where_it_is() {
        // Before: line 1 (the end of the plain scalar before the tab), column 9.
        let e = parse("- name: a\n\trepository: x\n").unwrap_err();
        assert_eq!(e.pos, Pos::new(2, 1), "{e:?}");
        assert!(e.message.contains("tab is used for indentation"), "{e:?}");
        let e = parse("- name: a\n  repository: b\n- name: c\n \trepository: d\n").unwrap_err();
        assert_eq!(e.pos, Pos::new(4, 2), "{e:?}");
        // The scanner's own position already on the tab's line: the tab, not the key after it.
        let e = parse("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(e.pos, Pos::new(2, 1), "{e:?}");
        // A tab inside a value is not indentation: the parser's position stays.
        let e = parse("a: [1,\n2\n").unwrap_err();
        assert!(!e.message.contains("tab is used"), "{e:?}");
    }

    /// The event-built tree is serde-saphyr's tree, and never accepts what serde-saphyr refuses.
    fn same_as_serde(text: &str) -> Result<bool, String> {
        let fast = tree_from_events(text);
        match (parse_with_serde(text), fast) {
            (Some(slow), Some(fast)) if slow != fast => {
                Err(format!("{text:?}:\nserde {slow:?}\nevents {fast:?}"))
            }
            (None, Some(fast)) => Err(format!("{text:?}: serde refuses, events give {fast:?}")),
            (_, fast) => Ok(fast.is_some()),
        }
    }

    #[test]
    fn event_tree_equals_serde_tree_on_every_fixture() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let mut dirs = vec![root];
        let (mut files, mut fast) = (0, 0);
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    // fixtures/hostile holds a non-UTF-8 images.yaml on purpose.
                    let Ok(text) = std::fs::read_to_string(&path) else {
                        continue;
                    };
                    files += 1;
                    fast += usize::from(same_as_serde(&text).unwrap());
                }
            }
        }
        assert!(files > 20, "fixtures not found ({files} files)");
        // The builder must actually take the ordinary files, not fall back on everything.
        assert!(
            fast * 2 > files,
            "only {fast} of {files} fixtures took the event path"
        );
    }

    #[test]
    fn event_tree_keeps_positions_and_falls_back_where_it_must() {
        let text =
            "# c\n- name: x\n  source:\n    repo: a/b\n  list: [1, 'a', {b: c}]\n  delay: 7d\n";
        assert!(same_as_serde(text).unwrap());
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {a: 1}\n",
            "a: 1\n---\nb: 2\n",
            "? [a]\n: 1\n",
            "a: [1, 2\n",
        ] {
            assert!(tree_from_events(text).is_none(), "{text:?}");
            same_as_serde(text).unwrap();
        }
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "x",
            "7d",
            "1.10",
            "0x1F",
            "0X1F",
            "+1",
            "-1",
            "-",
            "1_000",
            ".inf",
            "-.INF",
            ".NaN",
            "null",
            "Null",
            "~",
            "True",
            "FALSE",
            "yes",
            "on",
            "'q'",
            "\"0\"",
            "3.12-slim",
            "1e3",
            "0o17",
            "0b101",
            "1:20",
            "-.5",
            "007",
            "18446744073709551616",
            "1e999",
            "\"a\\tb\"",
            "'it''s'",
            "a b",
            "ghcr.io/x/y:1",
            "|\n  lit",
            ">\n  fold",
        ])
        .prop_map(str::to_owned)
    }

    fn render(value: &Doc, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            Doc::Scalar(s) => {
                out.push(' ');
                out.push_str(&s.replace('\n', &format!("\n{pad}")));
                out.push('\n');
            }
            Doc::Flow(items) => {
                out.push_str(&format!(" [{}]\n", items.join(", ")));
            }
            Doc::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
            Doc::Map(entries) => {
                out.push('\n');
                for (k, v) in entries {
                    out.push_str(&format!("{pad}{k}:"));
                    render(v, indent + 2, out);
                }
            }
            Doc::Seq(items) if items.is_empty() => out.push_str(" []\n"),
            Doc::Seq(items) => {
                out.push('\n');
                for item in items {
                    out.push_str(&format!("{pad}-"));
                    render(item, indent + 2, out);
                }
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Doc {
        Scalar(String),
        Flow(Vec<String>),
        Map(Vec<(String, Doc)>),
        Seq(Vec<Doc>),
    }

    fn doc() -> impl Strategy<Value = Doc> {
        let leaf = prop_oneof![
            scalar().prop_map(Doc::Scalar),
            prop::collection::vec(scalar().prop_filter("flow", |s| !s.contains('\n')), 0..3)
                .prop_map(Doc::Flow),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(
                    (
                        prop::sample::select(vec!["a", "b", "on", "1", "k k"]),
                        inner.clone()
                    ),
                    0..4
                )
                .prop_map(|e| Doc::Map(e.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
                prop::collection::vec(inner, 0..4).prop_map(Doc::Seq),
            ]
        })
    }

    proptest! {
        #[test]
        fn event_tree_equals_serde_tree_on_generated_documents(d in doc(), junk in prop::option::of("[ \t:#\\-\\[\\]{}'\"a]{1,3}")) {
            let mut text = String::from("root:");
            render(&d, 2, &mut text);
            if let Some(junk) = junk {
                // Sometimes break the text, so that refusals are compared too.
                let at = text.len() / 2;
                let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                text.insert_str(at, &junk);
            }
            same_as_serde(&text).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn empty_documents_are_null() {
        assert_eq!(parse("").unwrap().value, Value::Null);
        assert_eq!(parse("# only a comment\n").unwrap().value, Value::Null);
    }
}
