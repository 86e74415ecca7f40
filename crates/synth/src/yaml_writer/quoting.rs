//! Scalar style decisions of [`super`]: when a string may be written plain, how a double-quoted
//! string is escaped, what a block scalar may contain.
//!
//! The rules are serde-saphyr 2.2's (`src/ser/quoting.rs`, MIT OR Apache-2.0), ported function
//! by function with its default options (YAML 1.1 compatibility on, block style): the manifest
//! must come out byte for byte as serde-saphyr wrote it, and every string a YAML 1.1 reader
//! (Kubernetes, Argo CD, PyYAML) would take as a bool, number, null or timestamp stays quoted
//! ([ADR 0001](../../../../docs/decisions/0001-yaml-library.md)). The ports are the reference;
//! [`plain_value`] and [`plain_key`] add a fast path for printable ASCII text (nearly every
//! string of a manifest) that gives the same answer in one pass over the bytes. The property
//! tests in `tests/yaml_writer.rs` hold both to serde-saphyr's output.

use std::fmt::Write;

/// Whether `s` may be written as a plain scalar in block value position (serde-saphyr's
/// `is_plain_value_safe(s, yaml_12: false, in_flow: false)`).
pub(crate) fn plain_value(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if prefix_unsafe(s, first) {
        return false;
    }
    // One pass for what may occur anywhere: control characters, `: ` (a mapping indicator),
    // ` #` (a comment). In ASCII text the only white space that is not a control is ' '; other
    // text is left to the port.
    for (i, &c) in b.iter().enumerate() {
        if SPECIAL[usize::from(c)] {
            match c {
                b':' if b.get(i + 1) != Some(&b' ') => {}
                b'#' if i == 0 || b[i - 1] != b' ' => {}
                0x80.. => return is_plain_value_safe(s, false, false),
                _ => return false,
            }
        }
    }
    // `s.trim().ends_with(':')`: trailing white space was refused above.
    b[b.len() - 1] != b':'
}

/// Whether `s` may be written as a plain mapping key (serde-saphyr's `is_plain_safe(s)` and
/// `is_plain_value_safe(s, false, true)`: keys are quoted as if they might be in a flow mapping).
pub(crate) fn plain_key(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    // Nearly every key is a field name: a letter, then letters and digits. Of those only a few
    // short words (`on`, `null`, ...) need quotes.
    if first.is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric) {
        return !ascii_ambiguous(s, first, false);
    }
    if prefix_unsafe(s, first) || ascii_ambiguous(s, first, true) {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        if SPECIAL[usize::from(c)] || matches!(c, b',' | b'[' | b']' | b'{' | b'}') {
            match c {
                b'#' if i == 0 || b[i - 1] != b' ' => {}
                0x80.. => return is_plain_safe(s) && is_plain_value_safe(s, false, true),
                _ => return false,
            }
        }
    }
    true
}

/// Bytes that need a second look in plain text: controls, `:`, `#` and non-ASCII.
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = c < 0x20 || c >= 0x7f || c == b':' as usize || c == b'#' as usize;
        c += 1;
    }
    table
};

/// The checks of `s` (non-empty, first byte `first`) that look at its ends: implicit typing
/// (YAML 1.1), document markers, edge white space, indicator characters.
fn prefix_unsafe(s: &str, first: u8) -> bool {
    let b = s.as_bytes();
    if ascii_ambiguous(s, first, false) {
        return true;
    }
    if starts_with_document_marker(s) {
        return true;
    }
    if first.is_ascii_whitespace() || b.last().is_some_and(u8::is_ascii_whitespace) {
        return true;
    }
    match first {
        b'-' | b'?' => b.len() == 1 || b[1].is_ascii_whitespace(),
        b',' | b':' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>'
        | b'\'' | b'"' | b'%' | b'@' | b'`' => true,
        _ => false,
    }
}

/// [`is_ambiguous`] of `s` (non-empty, first byte `first`) without its chain of comparisons for
/// the common case: every spelling it recognises starts with a digit, sign, dot, underscore or
/// white space (numbers, timestamps, padded words: asked of the port), or is one of a few ASCII
/// words of at most five letters.
fn ascii_ambiguous(s: &str, first: u8, yaml_12: bool) -> bool {
    let b = s.as_bytes();
    if matches!(first, b'0'..=b'9' | b'+' | b'-' | b'.' | b'_')
        || first.is_ascii_whitespace()
        || b.last().is_some_and(u8::is_ascii_whitespace)
    {
        return is_ambiguous(s, yaml_12);
    }
    if b.len() > 5 {
        return false;
    }
    let mut lower = [0u8; 5];
    for (l, c) in lower.iter_mut().zip(b) {
        *l = c.to_ascii_lowercase();
    }
    match &lower[..b.len()] {
        b"~" | b"null" | b"true" | b"false" | b"nan" | b"inf" => true,
        b"yes" | b"y" | b"on" | b"no" | b"n" | b"off" | b"<<" | b"=" => !yaml_12,
        _ => false,
    }
}

/// Whether a multi-line string may be a block scalar (serde-saphyr's
/// `is_block_scalar_content_safe`).
pub(crate) fn block_safe(s: &str) -> bool {
    if s.bytes().all(|c| matches!(c, b' '..=b'~' | b'\n' | b'\t')) {
        return true;
    }
    s.chars().all(|ch| match ch {
        '\n' | '\t' => true,
        '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' => false,
        c => matches!(
            c as u32,
            0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x0010_FFFF
        ),
    })
}

/// Spaces before the first non-empty line (serde-saphyr's `first_line_leading_spaces`): a block
/// scalar whose text starts with spaces needs an indentation indicator.
pub(crate) fn first_line_leading_spaces(s: &str) -> usize {
    s.split('\n')
        .find(|line| !line.is_empty())
        .map_or(0, |line| line.len() - line.trim_start_matches(' ').len())
}

/// Appends `s` double-quoted with YAML's escapes (serde-saphyr's `escape_double_quoted`).
pub(crate) fn push_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        let named = named_escape(ch);
        let numeric = named.is_none() && needs_escaping(ch);
        if named.is_none() && !numeric {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + ch.len_utf8();
        // Writing to a String cannot fail.
        let _ = match named {
            Some(text) => out.write_str(text),
            None if (ch as u32) <= 0xFF => write!(out, "\\x{:02X}", ch as u32),
            None => write!(out, "\\u{:04X}", ch as u32),
        };
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// YAML's named escape of `ch`, if it has one.
fn named_escape(ch: char) -> Option<&'static str> {
    Some(match ch {
        '\\' => "\\\\",
        '"' => "\\\"",
        '\0' => "\\0",
        '\u{7}' => "\\a",
        '\u{8}' => "\\b",
        '\t' => "\\t",
        '\n' => "\\n",
        '\u{b}' => "\\v",
        '\u{c}' => "\\f",
        '\r' => "\\r",
        '\u{1b}' => "\\e",
        '\u{FEFF}' => "\\uFEFF",
        '\u{0085}' => "\\N",
        '\u{2028}' => "\\L",
        '\u{2029}' => "\\P",
        _ => return None,
    })
}

// ---- serde-saphyr 2.2's rules, ported unchanged (reference for the fast paths above) ----

/// serde-saphyr's `is_controll_which_needs_escaping`: characters that force double quotes.
fn needs_escaping(ch: char) -> bool {
    ch.is_control()
        || matches!(
            ch,
            '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

fn parse_yaml11_bool(s: &str) -> bool {
    let t = s.trim_matches([' ', '\t', '\r', '\n']);
    ["true", "yes", "y", "on", "false", "no", "n", "off"]
        .iter()
        .any(|word| t.eq_ignore_ascii_case(word))
}

fn is_numeric(s: &str, yaml_12: bool) -> bool {
    if !matches!(
        s.as_bytes().first(),
        Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'_')
    ) {
        return false;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned.eq_ignore_ascii_case(".inf") || unsigned.eq_ignore_ascii_case(".nan") {
        return true;
    }
    if !yaml_12 {
        if is_yaml11_sexagesimal(s) {
            return true;
        }
        if let Some((radix, digits)) = radix_digits(unsigned)
            && is_digit_run(digits, radix, false)
        {
            return true;
        }
    }
    let normalized;
    let s = if !yaml_12 && s.contains('_') {
        normalized = s.replace('_', "");
        normalized.as_str()
    } else {
        s
    };
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if let Some((radix, digits)) = radix_digits(unsigned) {
        let digits = if !yaml_12 && (s.starts_with("0b") || s.starts_with("0o")) {
            digits.strip_prefix(['+', '-']).unwrap_or(digits)
        } else {
            digits
        };
        return is_digit_run(digits, radix, true);
    }
    let mantissa = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if !is_digit_run(exponent, 10, true) {
                return false;
            }
            mantissa
        }
        None => unsigned,
    };
    match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            if !whole.is_empty() && !is_digit_run(whole, 10, true) {
                return false;
            }
            if !yaml_12 {
                fraction.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            } else if fraction.is_empty() {
                !whole.is_empty()
            } else {
                is_digit_run(fraction, 10, true)
            }
        }
        None => is_digit_run(mantissa, 10, true),
    }
}

fn radix_digits(s: &str) -> Option<(u32, &str)> {
    match s.as_bytes() {
        [b'0', b'b' | b'B', ..] => Some((2, &s[2..])),
        [b'0', b'o' | b'O', ..] => Some((8, &s[2..])),
        [b'0', b'x' | b'X', ..] => Some((16, &s[2..])),
        _ => None,
    }
}

fn is_digit_run(s: &str, radix: u32, strict_underscores: bool) -> bool {
    let is_digit = |b: u8| b.is_ascii() && char::from(b).is_digit(radix);
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.iter().enumerate().all(|(i, &b)| {
            is_digit(b)
                || (b == b'_'
                    && (!strict_underscores
                        || (i > 0
                            && is_digit(bytes[i - 1])
                            && bytes.get(i + 1).is_some_and(|&next| is_digit(next)))))
        })
}

fn is_yaml11_sexagesimal(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    let Some((first, rest)) = integer.split_once(':') else {
        return false;
    };
    let Some(first_digit) = first.as_bytes().first() else {
        return false;
    };
    if !first_digit.is_ascii_digit()
        || (fraction.is_none() && *first_digit == b'0')
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    if !rest.split(':').all(|part| match part.as_bytes() {
        [digit] => digit.is_ascii_digit(),
        [tens, units] => matches!(tens, b'0'..=b'5') && units.is_ascii_digit(),
        _ => false,
    }) {
        return false;
    }
    fraction.is_none_or(|part| part.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
}

fn is_yaml11_timestamp(mut s: &str) -> bool {
    fn digits(s: &mut &str, min: usize, max: usize) -> bool {
        let len = s.bytes().take_while(u8::is_ascii_digit).count();
        if !(min..=max).contains(&len) {
            return false;
        }
        *s = &s[len..];
        true
    }
    fn prefix(s: &mut &str, ch: char) -> bool {
        if let Some(rest) = s.strip_prefix(ch) {
            *s = rest;
            true
        } else {
            false
        }
    }
    if !digits(&mut s, 4, 4)
        || !prefix(&mut s, '-')
        || !digits(&mut s, 1, 2)
        || !prefix(&mut s, '-')
        || !digits(&mut s, 1, 2)
    {
        return false;
    }
    if s.is_empty() {
        return true;
    }
    if let Some(rest) = s.strip_prefix(['T', 't']) {
        s = rest;
    } else {
        let rest = s.trim_start_matches([' ', '\t']);
        if rest.len() == s.len() {
            return false;
        }
        s = rest;
    }
    if !digits(&mut s, 1, 2)
        || !prefix(&mut s, ':')
        || !digits(&mut s, 1, 2)
        || !prefix(&mut s, ':')
        || !digits(&mut s, 1, 2)
    {
        return false;
    }
    if prefix(&mut s, '.') || prefix(&mut s, ',') {
        digits(&mut s, 0, usize::MAX);
    }
    s = s.trim_start_matches([' ', '\t']);
    if s.is_empty() || s == "Z" {
        return true;
    }
    if !(prefix(&mut s, '+') || prefix(&mut s, '-')) || !digits(&mut s, 1, 2) {
        return false;
    }
    if prefix(&mut s, ':') && !digits(&mut s, 2, 2) {
        return false;
    }
    s.is_empty()
}

/// Whether implicit scalar resolution can change the type of `s` or reject it.
fn is_ambiguous(s: &str, yaml_12: bool) -> bool {
    s.is_empty()
        || s == "~"
        || s.eq_ignore_ascii_case("null")
        || s.eq_ignore_ascii_case("true")
        || s.eq_ignore_ascii_case("false")
        || is_numeric(s, yaml_12)
        || s.eq_ignore_ascii_case("nan")
        || s.eq_ignore_ascii_case("inf")
        || s.eq_ignore_ascii_case("+inf")
        || s.eq_ignore_ascii_case("-inf")
        || (!yaml_12 && (parse_yaml11_bool(s) || is_yaml11_timestamp(s) || matches!(s, "<<" | "=")))
}

fn starts_with_document_marker(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("---").or_else(|| s.strip_prefix("...")) else {
        return false;
    };
    rest.is_empty() || rest.as_bytes().first().is_some_and(u8::is_ascii_whitespace)
}

fn is_plain_safe(s: &str) -> bool {
    if is_ambiguous(s, true) || s == "<<" || starts_with_document_marker(s) {
        return false;
    }
    let bytes = s.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_whitespace)
        || bytes.last().is_some_and(u8::is_ascii_whitespace)
    {
        return false;
    }
    match bytes[0] {
        b'-' | b'?' if bytes.len() == 1 || bytes[1].is_ascii_whitespace() => return false,
        b',' | b':' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>'
        | b'\'' | b'"' | b'%' | b'@' | b'`' => return false,
        _ => {}
    }
    !contains_any_or_is_control(s, &[':']) && !has_comment_start(s)
}

fn is_plain_value_safe(s: &str, yaml_12: bool, in_flow: bool) -> bool {
    if is_ambiguous(s, yaml_12) || starts_with_document_marker(s) {
        return false;
    }
    let bytes = s.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_whitespace)
        || bytes.last().is_some_and(u8::is_ascii_whitespace)
    {
        return false;
    }
    match bytes {
        [b'-' | b'?', b1, ..] if b1.is_ascii_whitespace() => return false,
        [b'-' | b'?']
        | [
            b',' | b':' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>'
            | b'\'' | b'"' | b'%' | b'@' | b'`',
            ..,
        ] => return false,
        _ => {}
    }
    if s.contains(": ") || s.trim().ends_with(':') {
        return false;
    }
    if in_flow {
        !contains_any_or_is_control(s, &[',', '[', ']', '{', '}']) && !has_comment_start(s)
    } else {
        !contains_any_or_is_control(s, &[]) && !has_comment_start(s)
    }
}

fn contains_any_or_is_control(string: &str, values: &[char]) -> bool {
    string
        .chars()
        .any(|x| needs_escaping(x) || values.contains(&x))
}

fn has_comment_start(string: &str) -> bool {
    string.match_indices('#').any(|(index, _)| {
        string[..index]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths against the ports, on the strings that decide them.
    #[test]
    fn fast_paths_agree_with_the_ports() {
        let cases = [
            "",
            "a",
            "on",
            "On",
            "ON",
            "off",
            "y",
            "n",
            "yes",
            "No",
            "true",
            "null",
            "~",
            "Null",
            "1.10",
            "0x1F",
            "1e3",
            ".inf",
            "-.inf",
            ".nan",
            "nan",
            "+inf",
            "1_000",
            "1:20",
            "190:20:30",
            "2024-01-01",
            "2024-1-1 10:00:00",
            "<<",
            "=",
            "---",
            "--- a",
            "...",
            "-",
            "?",
            "- a",
            "?a",
            "-a",
            "a: b",
            "a:",
            "a:b",
            "a #b",
            "a#b",
            "#a",
            "&a",
            "*a",
            "!a",
            "|a",
            ">a",
            "%a",
            "@a",
            "`a",
            "'a",
            "\"a",
            "[a",
            "a[b",
            "a,b",
            "{a}",
            " a",
            "a ",
            "a\tb",
            "a\nb",
            "a\u{7f}",
            "fooyes",
            "a-long-enough-word",
            "image-web",
            "ghcr.io/acme/web:1.2",
            "${{ vars.x }}",
            "123456",
            "_abc_",
            "é",
            "a\u{a0}:",
            "a\u{2028}b",
            "a\u{feff}",
            "0o17",
            "0b1",
            "+12",
            "12e+03",
            "1..2",
            "3.",
            ".5",
            "0:30",
            "NULL",
            "TRUE",
            "False",
            "INF",
            "NaN",
            "YES",
            "oFF",
            "~",
            "yes ",
            "name",
            "kind",
            "inform",
            "nulls",
            "apiVersion",
            "kargo.akuity.io/v1alpha1",
            "https://github.com/a/b.git",
        ];
        for s in cases {
            assert_eq!(
                plain_value(s),
                is_plain_value_safe(s, false, false),
                "value {s:?}"
            );
            if !s.is_empty() {
                for yaml_12 in [false, true] {
                    assert_eq!(
                        ascii_ambiguous(s, s.as_bytes()[0], yaml_12),
                        is_ambiguous(s, yaml_12),
                        "ambiguous {s:?}"
                    );
                }
            }
            assert_eq!(
                plain_key(s),
                is_plain_safe(s) && is_plain_value_safe(s, false, true),
                "key {s:?}"
            );
        }
    }

    #[test]
    fn double_quoting_escapes_like_serde_saphyr() {
        let mut out = String::new();
        push_double_quoted(&mut out, "a\"b\\c\n\u{1}\u{85}\u{feff}\u{fffe}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\x01\\N\\uFEFF\\uFFFEé\"");
    }
}
