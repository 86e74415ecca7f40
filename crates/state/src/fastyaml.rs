//! A fast reader for the YAML subset that the state files are written in (block mappings and
//! compact block sequences indented by two spaces, plain, single- and double-quoted scalars, `{}`
//! and `[]`, comment lines at column 0), producing a [`serde_json::Value`].
//!
//! It exists for speed only: loading a 10,000-image fleet's state is dominated by YAML parsing.
//! It is conservative: anything outside the subset or ambiguous (anchors, tags, block scalars,
//! flow collections with content, trailing comments, multi-line plain scalars, plain scalars that
//! YAML could read as anything but `null`/`true`/`false`/an integer/a plain string) makes it
//! return `None`, and the caller parses the text with serde-saphyr instead — which also produces
//! the positioned error messages. Tests check it agrees with serde-saphyr wherever it answers.

use serde_json::{Map, Value};

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// Parses `text` when it is in the subset (see the module documentation).
pub fn parse(text: &str) -> Option<Value> {
    let mut lines = Vec::with_capacity(64);
    for raw in text.lines() {
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let trimmed = raw.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('\t') {
            return None;
        }
        if raw.ends_with(' ') || raw.ends_with('\r') {
            return None;
        }
        lines.push(Line {
            indent: raw.len() - trimmed.len(),
            text: trimmed,
        });
    }
    if lines.first()?.indent != 0 {
        return None;
    }
    let mut parser = Parser { lines, pos: 0 };
    let value = parser.mapping(0)?;
    (parser.pos == parser.lines.len()).then_some(value)
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Line<'a>> {
        self.lines.get(self.pos)
    }

    /// A block mapping whose keys are at `indent`.
    fn mapping(&mut self, indent: usize) -> Option<Value> {
        let mut map = Map::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_item(line.text) {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            self.pos += 1;
            let value = if rest.is_empty() {
                self.nested(indent)?
            } else {
                let value = scalar(rest)?;
                if self.peek().is_some_and(|next| next.indent > indent) {
                    return None; // a multi-line plain scalar, or worse
                }
                value
            };
            if map.insert(key, value).is_some() {
                return None; // duplicate key
            }
        }
        Some(Value::Object(map))
    }

    /// The value of `key:` with nothing after the colon, the key being at `indent`.
    fn nested(&mut self, indent: usize) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent == indent && is_item(next.text) => self.sequence(indent),
            Some(next) if next.indent > indent => {
                let inner = next.indent;
                if is_item(next.text) {
                    self.sequence(inner)
                } else {
                    self.mapping(inner)
                }
            }
            _ => Some(Value::Null),
        }
    }

    /// A block sequence whose `- ` markers are at `indent`.
    fn sequence(&mut self, indent: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || (line.indent == indent && !is_item(line.text)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let rest = line.text.strip_prefix("- ")?;
            if rest.starts_with("- ") || rest.is_empty() {
                return None;
            }
            if looks_like_key(rest) {
                // A mapping whose first key is on the `- ` line.
                let inner = indent + 2;
                self.lines[self.pos] = Line {
                    indent: inner,
                    text: rest,
                };
                items.push(self.mapping(inner)?);
            } else {
                self.pos += 1;
                items.push(scalar(rest)?);
                if self.peek().is_some_and(|next| next.indent > indent) {
                    return None;
                }
            }
        }
        Some(Value::Array(items))
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Whether a sequence item starts a mapping (`key: ...` or `key:`).
fn looks_like_key(text: &str) -> bool {
    split_key(text).is_some()
}

/// `key: rest` / `key:` with a plain or quoted key.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, after) = if text.starts_with('"') || text.starts_with('\'') {
        let (value, len) = quoted(text)?;
        let Value::String(key) = value else {
            return None;
        };
        (key, &text[len..])
    } else {
        let end = text.find(':')?;
        let key = &text[..end];
        if key.is_empty() || !key.bytes().all(is_plain_key_byte) {
            return None;
        }
        (key.to_owned(), &text[end..])
    };
    let rest = after.strip_prefix(':')?;
    if rest.is_empty() {
        return Some((key, ""));
    }
    Some((key, rest.strip_prefix(' ')?))
}

fn is_plain_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/')
}

/// A quoted scalar at the start of `text`: its value and its length in bytes.
fn quoted(text: &str) -> Option<(Value, usize)> {
    let bytes = text.as_bytes();
    match bytes.first()? {
        b'"' => {
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => {
                        let s: String = serde_json::from_str(&text[..=i]).ok()?;
                        return Some((Value::String(s), i + 1));
                    }
                    _ => i += 1,
                }
            }
            None
        }
        b'\'' => {
            let mut out = String::new();
            let mut i = 1;
            let mut start = 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    out.push_str(&text[start..i]);
                    if bytes.get(i + 1) == Some(&b'\'') {
                        out.push('\'');
                        i += 2;
                        start = i;
                        continue;
                    }
                    return Some((Value::String(out), i + 1));
                }
                i += 1;
            }
            None
        }
        _ => None,
    }
}

/// A scalar (the whole of `text`).
fn scalar(text: &str) -> Option<Value> {
    match text {
        "{}" => return Some(Value::Object(Map::new())),
        "[]" => return Some(Value::Array(Vec::new())),
        "null" => return Some(Value::Null),
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if text.starts_with('"') || text.starts_with('\'') {
        let (value, len) = quoted(text)?;
        return (len == text.len()).then_some(value);
    }
    let first = text.as_bytes().first()?;
    if matches!(
        first,
        b'&' | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'%'
            | b'@'
            | b'`'
            | b'['
            | b'{'
            | b'#'
            | b','
            | b'?'
            | b':'
            | b'-'
            | b'~'
            | b'.'
            | b'+'
    ) || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
    {
        // `-` and `.`/`+` starts could be numbers or special floats: leave them to serde-saphyr.
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        if text.len() > 1 && text.starts_with('0') {
            return None;
        }
        return text.parse::<u64>().ok().map(Value::from);
    }
    // Anything YAML 1.2 core could read as a number, boolean or null is left to serde-saphyr.
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "true" | "false" | "~" | ".inf" | ".nan"
    ) || looks_numeric(text)
    {
        return None;
    }
    Some(Value::String(text.to_owned()))
}

/// Integers in other bases, floats, exponents.
fn looks_numeric(text: &str) -> bool {
    let t = text.trim_start_matches(['+', '-']);
    if t.starts_with("0x") || t.starts_with("0o") || t.starts_with("0b") {
        return true;
    }
    let mut digits = false;
    for (i, c) in t.char_indices() {
        match c {
            '0'..='9' => digits = true,
            '.' | '_' => {}
            'e' | 'E' if digits && i > 0 => {}
            '+' | '-' if i > 0 => {}
            _ => return false,
        }
    }
    digits
}
