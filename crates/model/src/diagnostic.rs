//! Diagnostics: one problem in a configuration file, with its position, and compiler-style rendering.
//!
//! ```text
//! error: unknown key `rebuildDelays`
//!  --> image-factory/images.yaml:5:3
//!   |
//! 5 |   rebuildDelays: 7d
//!   |   ^^^^^^^^^^^^^
//!   = hint: did you mean `rebuildDelay`?
//! ```

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::yaml::Pos;

/// How bad a diagnostic is. Only errors make validation fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is wrong: nothing can be done with it.
    Error,
    /// The file works, but something should change (legacy keys, ignored values).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a file: where, what, and how to fix it.
///
/// Serialises (JSON contract of `analyzer validate --format json`) as
/// `{"file", "line", "column", "severity", "message", "hint"}` (`hint` is `null` when absent).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The file name as given by the caller (e.g. `image-factory/images.yaml`).
    pub file: String,
    /// 1-based line (0 when the problem concerns the whole file).
    pub line: usize,
    /// 1-based column in characters (0 when the problem concerns the whole file).
    pub column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, including what was expected.
    pub message: String,
    /// How to fix it, when we know ("did you mean `rebuildDelay`?").
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at a position.
    pub fn error(file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            severity: Severity::Error,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at a position.
    pub fn warning(file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(file, pos, message)
        }
    }

    /// The same diagnostic with a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic like a compiler, quoting the offending line of `source` (the text of
    /// [`Diagnostic::file`]) with a caret under the offending token. The result ends with a newline.
    pub fn render(&self, source: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}: {}", self.severity, self.message);
        let source_line = if self.line > 0 {
            source.lines().nth(self.line - 1)
        } else {
            None
        };
        let gutter = if source_line.is_some() {
            self.line.to_string().len()
        } else {
            0
        };
        let pad = " ".repeat(gutter);
        if self.line > 0 {
            let _ = writeln!(
                out,
                "{pad}--> {}:{}:{}",
                self.file,
                self.line,
                self.column.max(1)
            );
        } else {
            let _ = writeln!(out, "{pad}--> {}", self.file);
        }
        if let Some(text) = source_line {
            let text = text.trim_end_matches('\r');
            // A password in a URL on that line is masked (same width: the caret stays in place).
            let shown: String = crate::git::mask_userinfo(text)
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            let col = self.column.max(1);
            let width = token_width(&shown, col);
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{} | {}", self.line, shown.trim_end());
            let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col - 1), "^".repeat(width));
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{pad} = hint: {hint}");
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    /// One line: `file:line:column: severity: message (hint: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.severity, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Width of the token starting at 1-based character column `col`: a quoted string up to its closing
/// quote; a mapping key up to its `:`; a scalar in a flow collection up to `,`, `]` or `}`; otherwise
/// the rest of the line without a trailing comment. At least 1.
fn token_width(line: &str, col: usize) -> usize {
    let rest: Vec<char> = line.chars().skip(col - 1).collect();
    let Some(&first) = rest.first() else {
        return 1;
    };
    if first == '"' || first == '\'' {
        let end = rest
            .iter()
            .skip(1)
            .position(|&c| c == first)
            .map_or(rest.len(), |i| i + 2);
        return end.max(1);
    }
    if first == '-' && rest.get(1).is_none_or(|c| c.is_whitespace()) {
        return 1;
    }
    let text: String = rest.iter().collect();
    let text = text
        .find(" #")
        .map_or(text.as_str(), |i| &text[..i])
        .trim_end();
    let width = if let Some(i) = text
        .find(": ")
        .or_else(|| text.strip_suffix(':').map(str::len))
    {
        i
    } else if matches!(first, '[' | '{') {
        let mut depth = 0usize;
        let mut end = text.len();
        for (i, c) in text.char_indices() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        end
    } else if text.contains([',', ']', '}']) {
        text.find([' ', ',', ']', '}']).unwrap_or(text.len())
    } else {
        text.len()
    };
    text[..width.min(text.len())].chars().count().max(1)
}

/// Whether any diagnostic of the list is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// Sorts diagnostics by file, line and column (stable: same position keeps discovery order).
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.column).cmp(&(b.file.as_str(), b.line, b.column))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_caret_and_hint() {
        let src = "- name: a\n  rebuildDelays: 7d\n";
        let d = Diagnostic::error("images.yaml", Pos::new(2, 3), "unknown key `rebuildDelays`")
            .with_hint("did you mean `rebuildDelay`?");
        assert_eq!(
            d.render(src),
            "error: unknown key `rebuildDelays`\n --> images.yaml:2:3\n  |\n2 |   rebuildDelays: 7d\n  |   ^^^^^^^^^^^^^\n  = hint: did you mean `rebuildDelay`?\n"
        );
    }

    #[test]
    fn renders_without_line() {
        let d = Diagnostic::warning("factory.yaml", Pos::new(0, 0), "empty");
        assert_eq!(d.render(""), "warning: empty\n--> factory.yaml\n");
    }

    #[test]
    fn quoted_token_width() {
        assert_eq!(token_width("  tag: \"a b\" # x", 8), 5);
        assert_eq!(token_width("  tag: x", 9), 1);
        assert_eq!(token_width("  delay: 1 day # c", 10), 5);
        assert_eq!(token_width("  registry: ghcr.io:5000/x", 13), 14);
        assert_eq!(token_width("  source: {repo: web}", 18), 3);
        assert_eq!(token_width("- [1, 2] # c", 3), 6);
    }
}
