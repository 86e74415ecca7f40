//! Text that is safe to show on a terminal. Dockerfiles, references and error messages come from
//! other people's repositories; an escape sequence in a `FROM` line must not retitle, clear or
//! recolour the terminal of whoever reads our output, nor bidirectional overrides reorder it.

use std::borrow::Cow;

/// `text` with every control character except newline and tab, and every Unicode bidirectional
/// override, written as a Rust-style `\u{..}` escape. Borrowed when there is nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(
            escape("FROM \u{1b}]0;x\u{7}a\r\u{9b}b\u{202e}c"),
            "FROM \\u{1b}]0;x\\u{7}a\\u{d}\\u{9b}b\\u{202e}c"
        );
        assert!(matches!(escape("line\n\tok é"), Cow::Borrowed(_)));
    }
}
