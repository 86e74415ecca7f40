//! Validation of a whole factory dir's configuration: `images.yaml` together with the optional
//! `factory.yaml` (the defaults of the latter apply to the former), plus the tree-walking helpers the
//! decoders of [`crate::enrollment`] and [`crate::settings`] share.
//!
//! ```
//! use image_factory_model::config::validate_factory;
//!
//! let images = "- name: web\n  repository: acme/web\n  source:\n    repo: acme/web\n";
//! let checked = validate_factory(images, "images.yaml", None);
//! assert!(checked.is_ok());
//! let images = checked.resolved().unwrap_or_default();
//! assert_eq!(images[0].rebuild_delay.to_kargo(), "168h");
//! ```

use std::collections::BTreeMap;

use crate::diagnostic::{self, Diagnostic};
use crate::enrollment::{EffectiveImage, Enrollment};
use crate::settings::Settings;
use crate::suggest;
use crate::yaml::{Node, Pos, Value};

/// The result of validating a factory dir's configuration.
#[derive(Clone, Debug, Default)]
pub struct FactoryConfig {
    /// `images.yaml`, when it has no errors.
    pub enrollment: Option<Enrollment>,
    /// `factory.yaml` (defaults when the file is absent), when it has no errors.
    pub settings: Option<Settings>,
    /// Every problem of both files (errors and warnings), sorted by file, line and column.
    pub diagnostics: Vec<Diagnostic>,
}

impl FactoryConfig {
    /// Whether both files are usable (warnings allowed).
    pub fn is_ok(&self) -> bool {
        !diagnostic::has_errors(&self.diagnostics) && self.enrollment.is_some()
    }

    /// The effective configuration of every enrolled image (defaults of `factory.yaml` applied), in
    /// file order, when both files are usable.
    pub fn resolved(&self) -> Option<Vec<EffectiveImage>> {
        match (&self.enrollment, &self.settings) {
            (Some(e), Some(s)) if self.is_ok() => Some(e.resolve(s)),
            _ => None,
        }
    }
}

/// Validates `images.yaml` (text and file name as it should appear in diagnostics) and, when
/// present, `factory.yaml` together: the settings are decoded first and their defaults (e.g.
/// `defaults.registry`) are used when checking the images. Reports every problem of both files.
pub fn validate_factory(
    images_text: &str,
    images_file: &str,
    factory: Option<(&str, &str)>,
) -> FactoryConfig {
    let mut diagnostics = Vec::new();
    let settings = match factory {
        Some((text, file)) => {
            let (settings, diags) = crate::settings::parse(text, file);
            diagnostics.extend(diags);
            settings
        }
        None => Some(Settings::default()),
    };
    let fallback = Settings::default();
    let (enrollment, diags) = crate::enrollment::parse_with(
        images_text,
        images_file,
        settings.as_ref().unwrap_or(&fallback),
    );
    diagnostics.extend(diags);
    diagnostic::sort(&mut diagnostics);
    FactoryConfig {
        enrollment,
        settings,
        diagnostics,
    }
}

/// The JSON Schema of `images.yaml`, generated from [`Enrollment`] (pretty JSON, ending with a
/// newline). `cargo xtask schema` writes it to `docs/schema/images.schema.json`.
pub fn images_schema() -> String {
    schema_text(schemars::schema_for!(Enrollment))
}

/// The JSON Schema of `factory.yaml`, generated from [`Settings`] (pretty JSON, ending with a
/// newline). `cargo xtask schema` writes it to `docs/schema/factory.schema.json`.
pub fn factory_schema() -> String {
    schema_text(schemars::schema_for!(Settings))
}

fn schema_text(schema: schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Collects diagnostics while walking a [`Node`] tree of one file.
pub(crate) struct Decoder<'a> {
    pub file: &'a str,
    lines: Vec<&'a str>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The entries of one mapping, by key, after unknown and duplicate keys were reported.
pub(crate) struct Fields<'n> {
    /// Position of the mapping itself.
    pub pos: Pos,
    entries: BTreeMap<&'n str, (&'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value node of `key`, unless absent or null.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .get(key)
            .map(|(_, v)| *v)
            .filter(|v| v.value != Value::Null)
    }

    /// The key node of `key` (present even when its value is null).
    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.entries.get(key).map(|(k, _)| *k)
    }

    /// Whether `key` is written (possibly with a null value).
    pub fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }
}

impl<'a> Decoder<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Self {
            file,
            lines: text.lines().collect(),
            diagnostics: Vec::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(self.file, pos, message));
    }

    pub fn error_hint(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(self.file, pos, message).with_hint(hint));
    }

    pub fn warning_hint(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::warning(self.file, pos, message).with_hint(hint));
    }

    pub fn has_errors(&self) -> bool {
        diagnostic::has_errors(&self.diagnostics)
    }

    /// The raw source text of the scalar at `pos` (for hints such as "quote it").
    fn raw(&self, pos: Pos) -> Option<String> {
        let line = self.lines.get(pos.line.checked_sub(1)?)?;
        let rest: String = line.chars().skip(pos.column.checked_sub(1)?).collect();
        let end = rest.find(" #").unwrap_or(rest.len());
        let token = rest[..end].trim();
        (!token.is_empty()).then(|| token.to_owned())
    }

    /// Reports a value of the wrong type.
    pub fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        let found = node.value.kind();
        let message = format!("{what}: expected {expected}, found {found}");
        let scalar = matches!(
            node.value,
            Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Null
        );
        if expected.contains("string") && scalar {
            let raw = self.raw(node.pos).unwrap_or_else(|| node.scalar_text());
            self.error_hint(
                node.pos,
                message,
                format!("quote it to make it a string: `\"{raw}\"`"),
            );
        } else {
            self.error(node.pos, message);
        }
    }

    /// Checks that `node` is a mapping whose keys are strings among `known` (reporting unknown keys
    /// with a "did you mean" hint and duplicate keys) and returns its entries. `what` names the
    /// mapping in messages (e.g. "image `web`").
    pub fn fields<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Option<Fields<'n>> {
        let Some(map) = node.as_map() else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let mut entries: BTreeMap<&'n str, (&'n Node, &'n Node)> = BTreeMap::new();
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                self.error(
                    k.pos,
                    format!(
                        "{what}: keys must be strings, found {} `{}`",
                        k.value.kind(),
                        k.scalar_text()
                    ),
                );
                continue;
            };
            if !known.contains(&key) {
                let message = format!("{what}: unknown key `{key}`");
                let visible: Vec<&str> = known.to_vec();
                match suggest::did_you_mean(key, &visible) {
                    Some(hint) => self.error_hint(k.pos, message, hint),
                    None => {
                        self.error_hint(k.pos, message, format!("expected one of {}", list(known)))
                    }
                }
                continue;
            }
            if let Some((first, _)) = entries.get(key) {
                let line = first.pos.line;
                self.error_hint(
                    k.pos,
                    format!("{what}: duplicate key `{key}`"),
                    format!("`{key}` is already given on line {line}; remove one of them"),
                );
                continue;
            }
            entries.insert(key, (k, v));
        }
        Some(Fields {
            pos: node.pos,
            entries,
        })
    }

    /// A required key: reports it when absent or null.
    pub fn require<'n>(&mut self, fields: &Fields<'n>, key: &str, what: &str) -> Option<&'n Node> {
        let node = fields.get(key);
        if node.is_none() {
            let pos = fields.key(key).map_or(fields.pos, |k| k.pos);
            self.error(pos, format!("{what}: missing required key `{key}`"));
        }
        node
    }

    /// A string value (null or absent: `None`, wrong type reported).
    pub fn string(&mut self, fields: &Fields<'_>, key: &str, what: &str) -> Option<String> {
        let node = fields.get(key)?;
        self.string_node(node, &format!("{what}: `{key}`"))
    }

    /// A string node.
    pub fn string_node(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    /// A boolean value.
    pub fn bool(&mut self, fields: &Fields<'_>, key: &str, what: &str) -> Option<bool> {
        let node = fields.get(key)?;
        match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s)
                if matches!(s.as_str(), "yes" | "no" | "on" | "off" | "True" | "False") =>
            {
                self.error_hint(
                    node.pos,
                    format!("{what}: `{key}`: expected a boolean, found the string `{s}`"),
                    "write `true` or `false` (YAML 1.2: `yes`/`no`/`on`/`off` are strings)",
                );
                None
            }
            _ => {
                self.wrong_type(
                    node,
                    &format!("{what}: `{key}`"),
                    "a boolean (`true` or `false`)",
                );
                None
            }
        }
    }

    /// A duration (`7d`, `36h`, `0`, ...).
    pub fn duration(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        what: &str,
    ) -> Option<crate::duration::Duration> {
        let node = fields.get(key)?;
        let text = match &node.value {
            Value::Str(s) => s.clone(),
            Value::Int(0) => "0".to_owned(),
            Value::Int(n) => {
                self.error_hint(
                    node.pos,
                    format!("{what}: `{key}`: `{n}` has no unit"),
                    format!("add a unit: `{n}d`, `{n}h`, `{n}m` or `{n}s`"),
                );
                return None;
            }
            _ => {
                self.wrong_type(node, &format!("{what}: `{key}`"), "a duration such as `7d`");
                return None;
            }
        };
        match crate::duration::Duration::parse(&text) {
            Ok(d) => Some(d),
            Err(err) => {
                self.error_hint(
                    node.pos,
                    format!("{what}: `{key}`: invalid duration `{text}`: {err}"),
                    "durations look like `7d`, `36h`, `90m`, `1d12h` or `0`",
                );
                None
            }
        }
    }

    /// One of a fixed set of string values, with a "did you mean" hint.
    pub fn choice<T: Copy>(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let node = fields.get(key)?;
        self.choice_node(node, &format!("{what}: `{key}`"), choices)
    }

    /// One of a fixed set of string values for a node.
    pub fn choice_node<T: Copy>(
        &mut self,
        node: &Node,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let Value::Str(s) = &node.value else {
            self.wrong_type(node, what, &format!("one of {}", list(&names)));
            return None;
        };
        if let Some((_, v)) = choices.iter().find(|(n, _)| n == s) {
            return Some(*v);
        }
        let message = format!(
            "{what}: unknown value `{s}`, expected one of {}",
            list(&names)
        );
        match suggest::did_you_mean(s, &names) {
            Some(hint) => self.error_hint(node.pos, message, hint),
            None => self.error(node.pos, message),
        }
        None
    }

    /// A mapping of strings to strings (booleans and integers are accepted and written as text).
    pub fn string_map(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        what: &str,
    ) -> Option<BTreeMap<String, String>> {
        let node = fields.get(key)?;
        let what = format!("{what}: `{key}`");
        let Some(map) = node.as_map() else {
            self.wrong_type(node, &what, "a mapping of names to values");
            return None;
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (k, v) in map {
            let Some(name) = self.string_node(k, &format!("{what}: key")) else {
                ok = false;
                continue;
            };
            let value = match &v.value {
                Value::Str(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Int(i) => i.to_string(),
                Value::Null => String::new(),
                _ => {
                    self.wrong_type(v, &format!("{what}: `{name}`"), "a string");
                    ok = false;
                    continue;
                }
            };
            if out.insert(name.clone(), value).is_some() {
                self.error(k.pos, format!("{what}: duplicate key `{name}`"));
                ok = false;
            }
        }
        ok.then_some(out)
    }

    /// The string at `key`, when it passes [`Decoder::check_safe_text`].
    pub fn safe_string(&mut self, f: &Fields<'_>, key: &str, what: &str) -> Option<String> {
        let value = self.string(f, key, what)?;
        let node = f.get(key)?;
        self.check_safe_text(node, &value, &format!("{what}: `{key}`"))
            .then_some(value)
    }

    /// Rejects text that could inject a Kargo `${{ }}` expression, an Argo `{{ }}` placeholder
    /// (the markers of [`crate::kargo::template_marker`], which synth checks again) or YAML
    /// structure (line breaks) into generated manifests.
    pub fn check_safe_text(&mut self, node: &Node, text: &str, what: &str) -> bool {
        match crate::kargo::template_marker(text) {
            Some("{{" | "}}") => {
                self.error_hint(
                    node.pos,
                    format!("{what}: must not contain `{{{{` or `}}}}`"),
                    "template expressions are not allowed in configuration values",
                );
                return false;
            }
            Some(marker) => {
                self.error_hint(
                    node.pos,
                    format!("{what}: must not contain `{marker}`"),
                    "variables and template expressions are not expanded in configuration values; write the literal value",
                );
                return false;
            }
            None => {}
        }
        if text.chars().any(char::is_control) {
            self.error(
                node.pos,
                format!("{what}: must not contain line breaks or control characters"),
            );
            return false;
        }
        true
    }
}

/// `` `a`, `b` or `c` ``.
pub(crate) fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A DNS-1123 label close to `s` (lower-cased, other characters replaced by `-`, trimmed, cut to
/// `max`), for hints.
pub(crate) fn dns_label_suggestion(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let cut: String = out.trim_matches('-').chars().take(max).collect();
    cut.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_label_suggestions() {
        assert_eq!(dns_label_suggestion("My_Image", 40), "my-image");
        assert_eq!(dns_label_suggestion("--", 40), "");
    }

    #[test]
    fn lists() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
