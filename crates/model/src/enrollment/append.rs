//! Appending an entry to an `images.yaml` text without rewriting it (`analyzer enroll`).
//!
//! People maintain `images.yaml` by hand: its comments explain why each image is there, and a
//! reviewer reads the pull request's diff. So the new entry is spliced into the text after the
//! list's last item, in the file's own layout (the column of the item's `-`, the gap before its
//! first key, the indentation of nested mappings, the line endings), rather than the list being
//! parsed and written again. The entry itself is written by serde-saphyr (the workspace's YAML
//! library, ADR 0001), which quotes every string a YAML 1.1 reader would take for something else
//! (`on`, `yes`, `1.10`, `*`).
//!
//! The splice is checked before it is returned: the spliced text must parse to the old items,
//! unchanged, followed by the new entry. A layout this module cannot splice safely (a list in flow
//! style) is an error with its position, never a rewritten file.
//!
//! ```
//! use image_factory_model::enrollment::{Draft, DraftSource, append};
//!
//! let text = "# Our images.\n\n- name: web\n  repository: acme/web\n  source:\n    repo: acme/web\n";
//! let draft = Draft {
//!     name: "api".into(),
//!     repository: Some("acme/api".into()),
//!     source: DraftSource { repo: "acme/api".into(), ..DraftSource::default() },
//!     ..Draft::default()
//! };
//! let appended = append(text, &draft, None)?;
//! assert!(appended.text.starts_with(text));
//! assert_eq!(appended.line, 8);
//! assert!(appended.text.ends_with("\n\n- name: api\n  repository: acme/api\n  source:\n    repo: acme/api\n"));
//! # Ok::<(), image_factory_model::enrollment::AppendError>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Priority, Provider, dir_of};
use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::settings::Settings;
use crate::yaml::{self, Node, Pos, Value};

/// A managed image's entry as a person typed it: text, not yet validated. The values are written
/// as given and the whole file is then checked by the loader ([`super::parse_with`]), so a bad
/// value gets the same located error as in a hand-edited file. `None` and empty maps are not
/// written; serialises (YAML and JSON) in `images.yaml`'s key order and spelling.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    /// `name`.
    pub name: String,
    /// `registry` (`None`: factory.yaml's `defaults.registry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// `repository` (`None`: see [`Draft::with_default_repository`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `source`.
    pub source: DraftSource,
    /// `rebuildDelay`, e.g. `7d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuild_delay: Option<String>,
    /// `autoRebuild`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rebuild: Option<bool>,
    /// `priority`: `critical`, `high`, `normal` or `low`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
}

/// `source` of a [`Draft`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftSource {
    /// `provider`: `github` or `gitlab`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `repo`: `owner/name` (GitLab: `group/sub/name`).
    pub repo: String,
    /// `branch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `dockerfile`: path in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// `context`: build context directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `workflow`: the GitHub Actions workflow file to dispatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// `inputs`: extra dispatch inputs / pipeline variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
    /// `buildArgs`: build args for `FROM` resolution.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
    /// `platform`, e.g. `linux/arm64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `pinInput`: the input / variable receiving the soaked digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_input: Option<String>,
    /// `host`: a self-hosted GitLab's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Draft {
    /// The draft with `repository` filled in when it is `None`: on GitHub `<owner>/<name>`
    /// (GHCR's convention, `ghcr.io/<owner>/<image>`), on GitLab the project's path (its own
    /// container registry), lower-cased as image repositories must be.
    #[must_use]
    pub fn with_default_repository(mut self) -> Self {
        if self.repository.is_none() {
            let gitlab = choice(self.source.provider.as_deref(), Provider::CHOICES)
                == Some(Provider::Gitlab);
            let repository = match self.source.repo.split_once('/') {
                _ if gitlab => self.source.repo.clone(),
                Some((owner, _)) => format!("{owner}/{}", self.name),
                None => self.name.clone(),
            };
            self.repository = Some(repository.to_ascii_lowercase());
        }
        self
    }

    /// The draft without the values that equal their defaults (SPEC §6.1, with `settings`'
    /// `defaults`): the entry then says only what is particular to the image, and follows
    /// factory.yaml when its defaults change. Values that do not parse are kept, for the loader
    /// to report.
    #[must_use]
    pub fn without_defaults(mut self, settings: &Settings) -> Self {
        let defaults = &settings.defaults;
        let drop_if = |value: &mut Option<String>, default: bool| {
            if default {
                *value = None;
            }
        };
        let registry_default = self.registry.as_deref() == Some(defaults.registry.as_str());
        drop_if(&mut self.registry, registry_default);
        let delay_default = self
            .rebuild_delay
            .as_deref()
            .and_then(|d| Duration::parse(d).ok())
            .is_some_and(|d| d == defaults.rebuild_delay);
        drop_if(&mut self.rebuild_delay, delay_default);
        if self.auto_rebuild == Some(defaults.auto_rebuild) {
            self.auto_rebuild = None;
        }
        let priority_default = choice(self.priority.as_deref(), Priority::CHOICES)
            .is_some_and(|p| p == defaults.priority);
        drop_if(&mut self.priority, priority_default);

        let source = &mut self.source;
        let github =
            choice(source.provider.as_deref(), Provider::CHOICES) == Some(Provider::Github);
        drop_if(&mut source.provider, github);
        let main = source.branch.as_deref() == Some("main");
        drop_if(&mut source.branch, main);
        let dockerfile = source
            .dockerfile
            .clone()
            .unwrap_or_else(|| "Dockerfile".to_owned());
        let context_default = source.context.as_deref().is_some_and(|c| {
            let norm = |p: &str| p.trim_start_matches("./").trim_end_matches('/').to_owned();
            let c = if norm(c).is_empty() {
                ".".to_owned()
            } else {
                norm(c)
            };
            c == dir_of(&dockerfile)
        });
        drop_if(&mut source.context, context_default);
        let dockerfile_default = source.dockerfile.as_deref() == Some("Dockerfile");
        drop_if(&mut source.dockerfile, dockerfile_default);
        // `workflow` is never a default: without it the image's build workflow is generated into
        // the state repository (SPEC §8.3), so a named one is always kept.
        let platform_default = source.platform.as_deref() == Some("linux/amd64");
        drop_if(&mut source.platform, platform_default);
        self
    }
}

/// The value `text` spells among `choices`, when it is one of them.
fn choice<T: Copy>(text: Option<&str>, choices: &[(&str, T)]) -> Option<T> {
    let text = text?;
    choices.iter().find(|(s, _)| *s == text).map(|(_, v)| *v)
}

/// An `images.yaml` text with an entry appended by [`append`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The whole new text.
    pub text: String,
    /// The 1-based line of the new entry's `-`.
    pub line: usize,
    /// The byte offset of the new entry's `-` in [`Appended::text`].
    pub offset: usize,
    /// The lines added (comment, entry and separating blank line), as written.
    pub added: String,
}

/// Why an entry cannot be appended to a text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The text is not YAML.
    #[error("invalid YAML: {message}")]
    NotYaml {
        /// Where the parser stopped.
        pos: Pos,
        /// What the parser said.
        message: String,
    },
    /// The document is not a list (a mapping, a scalar).
    #[error("images.yaml must be a list of images, found {found}")]
    NotAList {
        /// Where the document's value starts.
        pos: Pos,
        /// What it is ("a mapping", ...).
        found: &'static str,
    },
    /// The list is written in flow style (`[a, b]`) and is not empty: appending would mean
    /// rewriting it.
    #[error(
        "the list of images is written in flow style (`[...]`); an entry cannot be appended without rewriting the list"
    )]
    FlowList {
        /// Where the list starts (its `[`).
        pos: Pos,
    },
    /// The comment to write above the entry holds a control character (a line break is fine).
    #[error("the comment holds a control character")]
    BadComment,
    /// The entry cannot be written as YAML.
    #[error("cannot write the entry as YAML: {0}")]
    Render(String),
    /// The spliced text would not read back as the old list plus the new entry.
    #[error("appending here would change how the file reads (the last entry's layout is unusual)")]
    Unsafe {
        /// Where the last entry starts.
        pos: Pos,
    },
}

impl AppendError {
    /// Where in the text the problem is (line 0 when it is not about a place).
    pub fn pos(&self) -> Pos {
        match self {
            Self::NotYaml { pos, .. }
            | Self::NotAList { pos, .. }
            | Self::FlowList { pos }
            | Self::Unsafe { pos } => *pos,
            Self::BadComment | Self::Render(_) => Pos::default(),
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::NotYaml { .. } => "fix the YAML first (`analyzer validate` shows every problem)",
            Self::NotAList { .. } => "images.yaml is a YAML list: start each entry with `- name:`",
            Self::FlowList { .. } => {
                "write the list in block style, one `- name: ...` entry after another, then enrol again"
            }
            Self::BadComment => "write the comment as plain text; use a line break for a new line",
            Self::Render(_) => "check the values given for the entry",
            Self::Unsafe { .. } => "add the entry by hand, or end the file with a plain entry",
        }
    }

    /// The error as a diagnostic of `file`.
    pub fn to_diagnostic(&self, file: &str) -> Diagnostic {
        Diagnostic::error(file, self.pos(), self.to_string()).with_hint(self.hint())
    }
}

/// How the file's list is laid out; a new entry follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// Column (0-based, in characters) of the items' `-`.
    indent: usize,
    /// Columns from the `-` to the item's first key (2 for `- name:`).
    gap: usize,
    /// Indentation of a nested mapping relative to its key.
    step: usize,
    /// Whether items are separated by a blank line.
    blank_between: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            indent: 0,
            gap: 2,
            step: 2,
            blank_between: false,
        }
    }
}

/// Where the entry goes: the bytes `start..end` of the text are replaced by it (`start == end`
/// for a pure insertion), and what to keep of the replaced text (a comment after `[]`).
struct Splice {
    start: usize,
    end: usize,
    keep: Option<String>,
    layout: Layout,
}

/// Appends `draft` (with `comment` above it as `# ` lines, when given) to the list of an
/// `images.yaml` text, keeping every line of the text as it is.
///
/// Handles a block list at any indentation, comments before, between and after the items, CRLF
/// line endings, a missing final line break, an empty file (or one with comments only), an empty
/// flow list `[]` (replaced by the entry) and a document end marker `...` (the entry goes before
/// it). The entry is not validated here: parse the result with [`super::parse_with`].
///
/// # Errors
/// [`AppendError`] when the text is not a YAML list that can be spliced safely, the comment holds
/// a control character, or the result would not read back as the old items plus the new one.
pub fn append(text: &str, draft: &Draft, comment: Option<&str>) -> Result<Appended, AppendError> {
    let newline = if text
        .split_once('\n')
        .is_some_and(|(l, _)| l.ends_with('\r'))
    {
        "\r\n"
    } else {
        "\n"
    };
    let root = yaml::parse(text).map_err(|e| AppendError::NotYaml {
        pos: e.pos,
        message: e.message,
    })?;
    let lines = line_starts(text);
    let (old_items, splice) = match &root.value {
        Value::Null => (&[][..], empty_document(text, &lines, &root)?),
        Value::Seq(items) if char_at(text, &lines, root.pos) == Some('[') => {
            (&items[..], empty_flow_list(text, &lines, items, root.pos)?)
        }
        Value::Seq(items) => (&items[..], block_list(text, &lines, items)),
        other => {
            return Err(AppendError::NotAList {
                pos: root.pos,
                found: other.kind(),
            });
        }
    };
    let rendered = render(draft, comment, &splice.layout)?;
    let first = splice_with(text, newline, &splice, &rendered, true);
    let result = if reads_back(&first.text, old_items, draft) {
        first
    } else {
        // A blank line can belong to the last value (a `|+` block keeps trailing blank lines).
        let second = splice_with(text, newline, &splice, &rendered, false);
        if !reads_back(&second.text, old_items, draft) {
            let pos = old_items.last().map_or(root.pos, |n| n.pos);
            return Err(AppendError::Unsafe { pos });
        }
        second
    };
    Ok(result)
}

/// The lines (without line breaks) of the comment and of the entry, the draft written by
/// serde-saphyr with the file's nesting step, its first line after the item's `-`.
struct Rendered {
    comment: Vec<String>,
    entry: Vec<String>,
}

fn render(draft: &Draft, comment: Option<&str>, layout: &Layout) -> Result<Rendered, AppendError> {
    let indent = " ".repeat(layout.indent);
    let mut rendered = Rendered {
        comment: Vec::new(),
        entry: Vec::new(),
    };
    if let Some(comment) = comment {
        if comment.chars().any(|c| c.is_control() && c != '\n') {
            return Err(AppendError::BadComment);
        }
        for line in comment.lines() {
            let line = format!("{indent}# {line}");
            rendered.comment.push(line.trim_end().to_owned());
        }
    }
    let options = serde_saphyr::ser_options! { indent_step: layout.step };
    let yaml = serde_saphyr::to_string_with_options(draft, options)
        .map_err(|e| AppendError::Render(e.to_string()))?;
    let dash = format!("{indent}-{}", " ".repeat(layout.gap - 1));
    let body = " ".repeat(layout.indent + layout.gap);
    for (i, line) in yaml.lines().enumerate() {
        rendered.entry.push(match i {
            0 => format!("{dash}{line}"),
            _ if line.is_empty() => String::new(),
            _ => format!("{body}{line}"),
        });
    }
    Ok(rendered)
}

/// The text with the entry spliced in, after a blank line when `blank` and the layout asks for
/// one (and the text before does not already end with one).
fn splice_with(
    text: &str,
    newline: &str,
    splice: &Splice,
    rendered: &Rendered,
    blank: bool,
) -> Appended {
    let before = &text[..splice.start];
    let mut out = String::with_capacity(text.len() + 512);
    out.push_str(before);
    if !before.is_empty() && !before.ends_with('\n') {
        out.push_str(newline);
    }
    let added_from = out.len();
    if blank && splice.layout.blank_between && !ends_with_blank_line(before) {
        out.push_str(newline);
    }
    for line in splice.keep.iter().chain(&rendered.comment) {
        out.push_str(line);
        out.push_str(newline);
    }
    let entry_at = out.len();
    for line in &rendered.entry {
        out.push_str(line);
        out.push_str(newline);
    }
    let added = out[added_from..].to_owned();
    out.push_str(&text[splice.end..]);
    Appended {
        line: out[..entry_at].matches('\n').count() + 1,
        offset: entry_at + splice.layout.indent,
        added,
        text: out,
    }
}

/// Whether the last line of `text` is blank (or there is no text: no blank line is wanted then).
fn ends_with_blank_line(text: &str) -> bool {
    let Some(body) = text.strip_suffix('\n') else {
        return text.trim().is_empty();
    };
    let body = body.strip_suffix('\r').unwrap_or(body);
    body.rsplit('\n')
        .next()
        .is_some_and(|l| l.trim().is_empty())
}

/// Whether `text` parses to `old` (positions aside) followed by the draft.
fn reads_back(text: &str, old: &[Node], draft: &Draft) -> bool {
    let Ok(root) = yaml::parse(text) else {
        return false;
    };
    let Some(items) = root.as_seq() else {
        return false;
    };
    let Ok(expected) = serde_json::to_value(draft) else {
        return false;
    };
    items.len() == old.len() + 1
        && items.iter().zip(old).all(|(a, b)| same(a, b))
        && items.last().is_some_and(|n| to_json(n) == expected)
}

/// Equality of two trees, positions aside.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (x, y) => x == y,
    }
}

/// A tree as JSON (for comparing with the draft's serialisation, which has strings, booleans and
/// string maps only).
fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::String(format!("int:{i}")),
        Value::Float(f) => J::String(format!("float:{f}")),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.scalar_text(), to_json(v)))
                .collect(),
        ),
    }
}

/// Byte offsets of the start of every line.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < text.len() || i == 0)
        .collect()
}

/// Line `n` (1-based) of the text, without its line break.
fn line_text<'t>(text: &'t str, lines: &[usize], n: usize) -> &'t str {
    let Some(&start) = n.checked_sub(1).and_then(|i| lines.get(i)) else {
        return "";
    };
    let end = lines.get(n).copied().unwrap_or(text.len());
    text[start..end].trim_end_matches(['\n', '\r'])
}

/// The character at a position.
fn char_at(text: &str, lines: &[usize], pos: Pos) -> Option<char> {
    line_text(text, lines, pos.line)
        .chars()
        .nth(pos.column.checked_sub(1)?)
}

/// Whether a line is blank or a comment.
fn is_trivia(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// An empty document (nothing, comments, a `---` marker): the entry goes at the end, after a
/// blank line when there are comments.
fn empty_document(text: &str, lines: &[usize], root: &Node) -> Result<Splice, AppendError> {
    let marker = |l: &str| l == "---" || l.starts_with("--- #") || l.starts_with("---\t#");
    let content = (1..=lines.len()).find(|&n| {
        let line = line_text(text, lines, n);
        !is_trivia(line) && !marker(line.trim_end())
    });
    if let Some(line) = content {
        let column = line_text(text, lines, line)
            .chars()
            .take_while(|c| *c == ' ')
            .count()
            + 1;
        return Err(AppendError::NotAList {
            pos: if root.pos.line > 0 {
                root.pos
            } else {
                Pos::new(line, column)
            },
            found: "null",
        });
    }
    let layout = Layout {
        // A blank line after a header comment, none after a bare `---`.
        blank_between: text.lines().any(|l| l.trim_start().starts_with('#')),
        ..Layout::default()
    };
    Ok(Splice {
        start: text.len(),
        end: text.len(),
        keep: None,
        layout,
    })
}

/// A flow list: only `[]` alone on its line (with an optional comment after it, kept on a line of
/// its own) can be replaced by the entry, in its place.
fn empty_flow_list(
    text: &str,
    lines: &[usize],
    items: &[Node],
    pos: Pos,
) -> Result<Splice, AppendError> {
    let line = line_text(text, lines, pos.line);
    let before: String = line.chars().take(pos.column - 1).collect();
    let rest: String = line.chars().skip(pos.column - 1).collect();
    let inner = rest.strip_prefix('[').and_then(|r| {
        let r = r.trim_start();
        r.strip_prefix(']')
    });
    let tail = match inner {
        Some(tail) if items.is_empty() && before.trim().is_empty() => tail.trim(),
        _ => return Err(AppendError::FlowList { pos }),
    };
    if !tail.is_empty() && !tail.starts_with('#') {
        return Err(AppendError::FlowList { pos });
    }
    let start = lines[pos.line - 1];
    let end = lines.get(pos.line).copied().unwrap_or(text.len());
    Ok(Splice {
        start,
        end,
        keep: (!tail.is_empty()).then(|| format!("{before}{tail}")),
        layout: Layout {
            indent: before.chars().count(),
            ..Layout::default()
        },
    })
}

/// A block list: the entry goes at the end of the text (after any comments that follow the last
/// item), or before a `...` document end marker; its layout is the first item's.
fn block_list(text: &str, lines: &[usize], items: &[Node]) -> Splice {
    let mut layout = Layout::default();
    let dashes: Vec<Option<(usize, usize)>> =
        items.iter().map(|i| dash_of(text, lines, i.pos)).collect();
    if let (Some(Some((_, column))), Some(first)) = (dashes.first(), items.first()) {
        layout.indent = *column;
        layout.gap = (first.pos.column - 1).saturating_sub(*column).max(2);
    }
    layout.step = items.iter().find_map(nested_step).unwrap_or(2);
    let dash_lines: Vec<usize> = dashes
        .iter()
        .zip(items)
        .map(|(d, i)| d.map_or(i.pos.line, |(line, _)| line))
        .collect();
    layout.blank_between = if dash_lines.len() >= 2 {
        dash_lines
            .windows(2)
            .any(|w| (w[0] + 1..w[1]).any(|n| line_text(text, lines, n).trim().is_empty()))
    } else {
        let first = dash_lines.first().copied().unwrap_or(1);
        (1..first).any(|n| line_text(text, lines, n).trim().is_empty())
    };
    let last = dash_lines.last().copied().unwrap_or(1);
    let end_marker = (last + 1..=lines.len()).find(|&n| {
        let line = line_text(text, lines, n);
        line == "..." || line.starts_with("... ") || line.starts_with("...#")
    });
    let start = end_marker.map_or(text.len(), |n| lines[n - 1]);
    Splice {
        start,
        end: start,
        keep: None,
        layout,
    }
}

/// The line and column (0-based, characters) of the `-` of the item starting at `pos`: on the same
/// line (`- name: a`), or alone on a line above it (`-` then `name: a`).
fn dash_of(text: &str, lines: &[usize], pos: Pos) -> Option<(usize, usize)> {
    let line = line_text(text, lines, pos.line);
    let before: String = line.chars().take(pos.column.saturating_sub(1)).collect();
    let trimmed = before.trim_end();
    if trimmed.ends_with('-') && trimmed[..trimmed.len() - 1].trim().is_empty() {
        return Some((pos.line, trimmed.chars().count() - 1));
    }
    if !before.trim().is_empty() {
        return None;
    }
    (1..pos.line).rev().find_map(|n| {
        let l = line_text(text, lines, n);
        if is_trivia(l) {
            return None;
        }
        (l.trim() == "-").then(|| (n, l.chars().take_while(|c| *c == ' ').count()))
    })
}

/// The indentation of the first nested block mapping of an item relative to its key.
fn nested_step(item: &Node) -> Option<usize> {
    item.as_map()?.iter().find_map(|(key, value)| {
        let Value::Map(entries) = &value.value else {
            return None;
        };
        let first = entries.first().map(|(k, _)| k.pos)?;
        (first.line > key.pos.line && first.column > key.pos.column)
            .then(|| first.column - key.pos.column)
            .filter(|step| (1..=16).contains(step))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn draft(name: &str) -> Draft {
        Draft {
            name: name.to_owned(),
            repository: Some(format!("acme/{name}")),
            source: DraftSource {
                repo: format!("acme/{name}"),
                ..DraftSource::default()
            },
            ..Draft::default()
        }
    }

    #[test]
    fn default_repository() {
        let mut d = draft("web");
        d.repository = None;
        d.source.repo = "Acme/portal".into();
        assert_eq!(
            d.clone().with_default_repository().repository.as_deref(),
            Some("acme/web")
        );
        d.source.provider = Some("gitlab".into());
        d.source.repo = "acme/payments/billing".into();
        assert_eq!(
            d.clone().with_default_repository().repository.as_deref(),
            Some("acme/payments/billing")
        );
        d.repository = Some("x/y".into());
        assert_eq!(
            d.with_default_repository().repository.as_deref(),
            Some("x/y")
        );
    }

    /// The text after appending `draft("new")`, checked to parse as a valid enrolment whose last
    /// entry is the new one, with every line of `text` still present in order.
    fn appended(text: &str) -> Appended {
        let out = append(text, &draft("new"), None).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        // (`append` itself checks that the old items read back unchanged.)
        let root = yaml::parse(&out.text).unwrap();
        let last = root.as_seq().unwrap().last().unwrap().as_map().unwrap();
        assert_eq!(last[0].1.as_str(), Some("new"), "{:?}", out.text);
        let mut rest = out.text.lines();
        // Every line but an empty list's `[]`, which the entry replaces.
        for line in text.lines().filter(|l| !l.trim_start().starts_with("[]")) {
            assert!(rest.any(|l| l == line), "{line:?} lost in {:?}", out.text);
        }
        assert_eq!(&out.text[out.offset..=out.offset], "-", "{:?}", out.text);
        let line = out.text.lines().nth(out.line - 1).unwrap();
        assert!(
            line.trim_start().starts_with('-') && line.ends_with("name: new"),
            "{line:?}"
        );
        out
    }

    const NEW: &str = "- name: new\n  repository: acme/new\n  source:\n    repo: acme/new\n";

    #[test]
    fn after_the_last_item_with_blank_lines_between_items() {
        let text = "# head\n\n# a\n- name: a\n  repository: acme/a\n\n# b\n- name: b\n  repository: acme/b\n";
        let out = appended(text);
        assert_eq!(out.text, format!("{text}\n{NEW}"));
        assert_eq!(out.line, 11);
        assert_eq!(out.added, format!("\n{NEW}"));
    }

    #[test]
    fn no_blank_line_when_items_are_packed() {
        let text = "- name: a\n  repository: acme/a\n- name: b\n  repository: acme/b\n";
        assert_eq!(appended(text).text, format!("{text}{NEW}"));
    }

    #[test]
    fn comments_after_the_last_item_stay_before_the_new_one() {
        let text = "- name: a\n  repository: acme/a\n  # about a\n\n# - name: old\n#   repository: acme/old\n";
        assert_eq!(appended(text).text, format!("{text}{NEW}"));
        // Already ending with a blank line: no second one.
        let text = "- name: a\n  repository: acme/a\n\n- name: b\n  repository: acme/b\n# end\n\n";
        assert_eq!(appended(text).text, format!("{text}{NEW}"));
    }

    #[test]
    fn indented_items_and_wider_nesting() {
        let text = "  - name: a\n    repository: acme/a\n    source:\n        repo: acme/a\n";
        let out = appended(text);
        assert_eq!(
            out.text,
            format!(
                "{text}  - name: new\n    repository: acme/new\n    source:\n        repo: acme/new\n"
            )
        );
        let text = "-   name: a\n    repository: acme/a\n";
        let out = appended(text);
        assert!(
            out.text.ends_with(
                "\n-   name: new\n    repository: acme/new\n    source:\n      repo: acme/new\n"
            ),
            "{}",
            out.text
        );
    }

    #[test]
    fn crlf_line_endings_are_kept() {
        let text = "# head\r\n- name: a\r\n  repository: acme/a\r\n";
        let out = appended(text);
        assert_eq!(out.text, format!("{text}{}", NEW.replace('\n', "\r\n")));
        assert!(!out.text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn a_missing_final_line_break_is_added() {
        let text = "- name: a\n  repository: acme/a";
        assert_eq!(appended(text).text, format!("{text}\n{NEW}"));
    }

    #[test]
    fn empty_files_and_empty_lists() {
        assert_eq!(appended("").text, NEW);
        assert_eq!(appended("\n").text, format!("\n{NEW}"));
        assert_eq!(
            appended("# nothing yet\n").text,
            format!("# nothing yet\n\n{NEW}")
        );
        assert_eq!(appended("---\n").text, format!("---\n{NEW}"));
        assert_eq!(appended("[]\n").text, NEW);
        assert_eq!(appended("# head\n[]").text, format!("# head\n{NEW}"));
        // The comment after `[]` is kept, on its own line.
        assert_eq!(
            append("[]  # none yet\n", &draft("new"), None)
                .unwrap()
                .text,
            format!("# none yet\n{NEW}")
        );
    }

    #[test]
    fn before_a_document_end_marker() {
        let text = "- name: a\n  repository: acme/a\n...\n# after\n";
        let out = appended(text);
        assert_eq!(
            out.text,
            format!("- name: a\n  repository: acme/a\n{NEW}...\n# after\n")
        );
    }

    #[test]
    fn dash_alone_on_its_line() {
        let text = "-\n  name: a\n  repository: acme/a\n";
        assert_eq!(appended(text).text, format!("{text}{NEW}"));
    }

    #[test]
    fn flow_lists_and_other_documents_are_refused_with_their_position() {
        let err = append("# x\n[{name: a, repository: acme/a}]\n", &draft("n"), None).unwrap_err();
        assert_eq!(
            err,
            AppendError::FlowList {
                pos: Pos::new(2, 1)
            }
        );
        assert!(err.hint().contains("block style"));
        let err = append("images:\n  - name: a\n", &draft("n"), None).unwrap_err();
        assert!(
            matches!(
                err,
                AppendError::NotAList {
                    found: "a mapping",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = append("~\n", &draft("n"), None).unwrap_err();
        assert!(matches!(err, AppendError::NotAList { .. }), "{err:?}");
        let err = append("- [\n", &draft("n"), None).unwrap_err();
        assert!(matches!(err, AppendError::NotYaml { .. }), "{err:?}");
        let d = err.to_diagnostic("images.yaml");
        assert!(d.line > 0 && d.hint.is_some(), "{d:?}");
    }

    #[test]
    fn ambiguous_values_are_quoted() {
        let mut d = draft("new");
        d.source.branch = Some("on".into());
        d.source.dockerfile = Some("1.10".into());
        d.source.inputs.insert("push".into(), "yes".into());
        d.source.inputs.insert("glob".into(), "*".into());
        d.source.inputs.insert("hash".into(), "#x".into());
        let out = append("- name: a\n  repository: acme/a\n", &d, None).unwrap();
        for line in [
            "branch: \"on\"",
            "dockerfile: \"1.10\"",
            "push: \"yes\"",
            "glob: \"*\"",
            "hash: \"#x\"",
        ] {
            assert!(out.added.contains(line), "{line} in {}", out.added);
        }
    }

    #[test]
    fn comment_above_the_entry() {
        let text = "- name: a\n  repository: acme/a\n";
        let out = append(text, &draft("new"), Some("Why new is here.\nSecond line.")).unwrap();
        assert_eq!(
            out.text,
            format!("{text}# Why new is here.\n# Second line.\n{NEW}")
        );
        assert_eq!(out.line, 5);
        let err = append(text, &draft("new"), Some("a\rb")).unwrap_err();
        assert_eq!(err, AppendError::BadComment);
    }

    #[test]
    fn keep_chomping_blocks_get_no_blank_line() {
        // The blank line would become part of the `|+` value: the splice notices and leaves it out.
        let text = "- name: a\n  repository: acme/a\n  source:\n    repo: acme/a\n    inputs:\n      note: |+\n        x\n\n- name: b\n  repository: acme/b\n  source:\n    repo: acme/b\n    inputs:\n      note: |+\n        y\n";
        let out = appended(text);
        assert_eq!(out.text, format!("{text}{NEW}"));
    }

    #[test]
    fn defaults_are_left_out() {
        let settings = Settings::default();
        let mut d = draft("web");
        d.registry = Some("ghcr.io".into());
        d.rebuild_delay = Some("168h".into());
        d.auto_rebuild = Some(true);
        d.priority = Some("normal".into());
        d.source.provider = Some("github".into());
        d.source.branch = Some("main".into());
        d.source.dockerfile = Some("app/Dockerfile".into());
        d.source.context = Some("./app/".into());
        d.source.workflow = Some("web.yml".into());
        d.source.platform = Some("linux/amd64".into());
        let mut expected = draft("web");
        expected.source.dockerfile = Some("app/Dockerfile".into());
        // A named workflow is kept: without one, the build workflow is generated (SPEC §8.3).
        expected.source.workflow = Some("web.yml".into());
        assert_eq!(d.clone().without_defaults(&settings), expected);
        d.rebuild_delay = Some("7x".into());
        d.priority = Some("urgent".into());
        d.auto_rebuild = Some(false);
        let kept = d.without_defaults(&settings);
        assert_eq!(kept.rebuild_delay.as_deref(), Some("7x"));
        assert_eq!(kept.priority.as_deref(), Some("urgent"));
        assert_eq!(kept.auto_rebuild, Some(false));
    }
}
