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

/// Parses one YAML document into a span-carrying tree. An empty document gives [`Value::Null`].
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
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
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(node) => Ok(node),
        Err(err) => {
            let pos = err
                .location()
                .map(|l| Pos::new(to_usize(l.line()), to_usize(l.column())))
                .filter(|p| p.line > 0)
                .unwrap_or(Pos::new(1, 1));
            Err(SyntaxError {
                message: clean_message(&err.to_string()),
                pos,
            })
        }
    }
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
    fn empty_documents_are_null() {
        assert_eq!(parse("").unwrap().value, Value::Null);
        assert_eq!(parse("# only a comment\n").unwrap().value, Value::Null);
    }
}
