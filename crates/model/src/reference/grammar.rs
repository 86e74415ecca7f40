//! The reference grammar of distribution/reference `regexp.go`, matched by hand.
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain-and-port "/" ] remote-name
//! domain-and-port  := host [ ":" [0-9]+ ]
//! host             := domain-name | "[" [a-fA-F0-9:]+ "]"
//! domain-name      := domain-component ( "." domain-component )*
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9] [a-zA-Z0-9-]* [a-zA-Z0-9]
//! remote-name      := path-component ( "/" path-component )*
//! path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
//! separator        := [._] | "__" | "-"+
//! tag              := [0-9A-Za-z_] [0-9A-Za-z_.-]{0,127}
//! digest           := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )* ":" [0-9a-fA-F]{32,}
//! ```
//!
//! The regular expressions cost a tenth of a no-op analyzer run (a backtracking search for the
//! captures of every reference); this matcher gives the same answers without one. Upstream applies
//! them leftmost-first, anchored at both ends, which fixes the split: `remote-name` and `tag` hold
//! no `:` and nothing but `digest` holds `@`, so the digest follows the one `@`, the tag follows a
//! `:` after the last `/`, and the first component is the domain when it is a `domain-and-port`
//! and the rest a `remote-name` (the optional group is tried first), else part of the remote name.
//! `tests/properties_reference.rs` holds the regular expressions as an oracle and checks that both
//! agree on generated text.

/// A reference split by the grammar: (domain, path, tag, digest), borrowed from the input.
pub(super) type Parts<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

/// Matches `s` against `reference` (anchored), returning its parts.
pub(super) fn reference(s: &str) -> Option<Parts<'_>> {
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(is_digest(digest).then_some(digest)?)),
        None => (s, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(colon) if !rest[colon..].contains('/') => {
            let tag = &rest[colon + 1..];
            (&rest[..colon], Some(is_tag(tag).then_some(tag)?))
        }
        _ => (rest, None),
    };
    let (domain, path) = name_parts(name)?;
    Some((domain, path, tag, digest))
}

/// Matches `name` (anchored), returning (domain, remote name).
fn name_parts(name: &str) -> Option<(&str, &str)> {
    if let Some((first, rest)) = name.split_once('/')
        && is_domain_and_port(first)
        && is_remote_name(rest)
    {
        return Some((first, rest));
    }
    is_remote_name(name).then_some(("", name))
}

/// Whether `s` is a 64-character lower-case hex image id (`anchoredIdentifierRegexp`).
pub(super) fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `tag`.
pub(super) fn is_tag(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= 128
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn is_domain_and_port(s: &str) -> bool {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return false;
        };
        let address = &inner[..close];
        if address.is_empty() || !address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        (true, &inner[close + 1..])
    } else {
        let (host, port) = match s.find(':') {
            Some(colon) => (&s[..colon], &s[colon..]),
            None => (s, ""),
        };
        (
            !host.is_empty() && host.split('.').all(is_domain_component),
            port,
        )
    };
    host && (port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

fn is_domain_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-z0-9]+ (separator [a-z0-9]+)*` with separator `[._]`, `__` or `-+`.
fn is_path_component(c: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = c.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while bytes.get(i).is_some_and(alnum) {
            i += 1;
        }
        if i == start {
            return false;
        }
        let Some(&sep) = bytes.get(i) else {
            return true;
        };
        i += match (sep, bytes.get(i + 1)) {
            (b'_', Some(b'_')) => 2,
            (b'.' | b'_', _) => 1,
            (b'-', _) => bytes[i..].iter().take_while(|b| **b == b'-').count(),
            _ => return false,
        };
    }
}

/// `digest`.
fn is_digest(s: &str) -> bool {
    let Some((algorithm, hex)) = s.split_once(':') else {
        return false;
    };
    hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && algorithm.split(['-', '_', '+', '.']).all(|part| {
            let mut bytes = part.bytes();
            bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
                && bytes.all(|b| b.is_ascii_alphanumeric())
        })
}
