//! The SemVer-constraint grammar Kargo accepts for an image subscription's `constraint` (SemVer
//! strategy). Kargo hands the text to Masterminds/semver v3 `NewConstraint`
//! (`github.com/Masterminds/semver/v3`, `constraints.go` and `version.go` as of v3.4.0, where
//! `CoerceNewVersion` is on by default), so this is a transcription of that parser's acceptance
//! rules, not of the SemVer spec:
//!
//! 1. `rewriteRange`: every `A - B` hyphen range becomes `>= A, <= B`;
//! 2. the text is split on `||`; each alternative must match `validConstraintRegex` (operators
//!    and versions joined by spaces or commas);
//! 3. each constraint found by `findConstraintRegex` goes through `parseConstraint`, which turns
//!    wildcards into zeros and parses the result with `NewVersion` (`version.go`): so `1x2`, which
//!    the regular expressions accept, is rejected here, as is a numeric part that overflows.
//!
//! Go's `\s` is `[\t\n\f\r ]` (ASCII only); Rust's is Unicode, so the patterns spell it out.
//!
//! ```
//! use image_factory_model::semver::is_constraint;
//! assert!(is_constraint(">=1.0.0 <2.0.0 || ^3"));
//! assert!(!is_constraint("v1x2"));
//! ```

use std::sync::LazyLock;

use regex::Regex;

/// Go's `\s`.
const WS: &str = r"[\t\n\f\r ]";

/// Masterminds' `cvRegex` (a version with optional wildcards), 9 capture groups.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";

/// Masterminds' operator alternation, including the empty operator.
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Grammar {
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
    version: Regex,
}

fn grammar() -> Option<Grammar> {
    let re = |p: String| Regex::new(&p).ok();
    Some(Grammar {
        constraint: re(format!("^{WS}*({OPS}){WS}*({CV}){WS}*$"))?,
        range: re(format!("{WS}*({CV}){WS}+-{WS}+({CV}){WS}*"))?,
        find: re(format!("({OPS}){WS}*({CV})"))?,
        valid: re(format!(
            "^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
        ))?,
        // `version.go` `looseSemVerRegex`, anchored as in `init()`.
        version: re(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".to_owned())?,
    })
}

static GRAMMAR: LazyLock<Option<Grammar>> = LazyLock::new(grammar);

/// Whether Kargo (Masterminds/semver v3 `NewConstraint`) accepts `text` as a SemVer constraint.
/// The empty text is refused: Kargo reads it as "no constraint", which configuration expresses
/// by leaving the key out.
pub fn is_constraint(text: &str) -> bool {
    let Some(g) = GRAMMAR.as_ref() else {
        return false;
    };
    if text.trim().is_empty() {
        return false;
    }
    let text = rewrite_range(g, text);
    text.split("||").all(|alternative| {
        if !g.valid.is_match(alternative) {
            return false;
        }
        let found: Vec<&str> = g.find.find_iter(alternative).map(|m| m.as_str()).collect();
        if found.is_empty() {
            return parse_constraint(g, alternative);
        }
        found.into_iter().all(|c| parse_constraint(g, c))
    })
}

/// `rewriteRange`: `A - B` → `>= A, <= B ` (with v3.4's trailing space; first occurrence of each
/// match, as Go's `strings.Replace(o, v[0], t, 1)`).
fn rewrite_range(g: &Grammar, text: &str) -> String {
    let mut out = text.to_owned();
    for caps in g.range.captures_iter(text) {
        let (Some(all), Some(lo), Some(hi)) = (caps.get(0), caps.get(1), caps.get(11)) else {
            continue;
        };
        let replacement = format!(">= {}, <= {} ", lo.as_str(), hi.as_str());
        out = out.replacen(all.as_str(), &replacement, 1);
    }
    out
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// `parseConstraint`: wildcards become zeros, then the version must parse.
fn parse_constraint(g: &Grammar, c: &str) -> bool {
    if c.is_empty() {
        return true;
    }
    let Some(m) = g.constraint.captures(c) else {
        return false;
    };
    let group = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
    let version = if is_x(major) || major.is_empty() {
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        format!("{major}{minor}.0{pre}")
    } else {
        group(2).to_owned()
    };
    new_version(g, &version)
}

/// `NewVersion` in its default coercing mode (`coerceNewVersion`): the loose pattern, numeric
/// parts that fit a `uint64`, and prerelease identifiers without leading zeros
/// (`validatePrerelease`; the pattern already enforces what `validateMetadata` checks).
fn new_version(g: &Grammar, v: &str) -> bool {
    let Some(m) = g.version.captures(v) else {
        return false;
    };
    let numeric_ok = [1, 2, 3].iter().all(|&i| {
        m.get(i)
            .is_none_or(|x| x.as_str().trim_start_matches('.').parse::<u64>().is_ok())
    });
    let pre_ok = m.get(5).is_none_or(|pre| {
        pre.as_str().split('.').all(|part| {
            let numeric = part.bytes().all(|b| b.is_ascii_digit());
            !(numeric && part.len() > 1 && part.starts_with('0'))
        })
    });
    numeric_ok && pre_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masterminds_accepts() {
        for ok in [
            ">=0.0.0",
            "^1.2",
            "~1.4.0",
            "~>1.4",
            "=>1.0",
            "=<2",
            ">=1.0.0 <2.0.0",
            ">= 1.2, < 2",
            "1.x",
            "1.2.*",
            "*",
            "x",
            "v1.2.3 || >=2",
            ">=1, <2 || 3.*",
            "1.2 - 1.4",
            "1.0 - 2.0 3.0",
            "!=1.2.3",
            "1.2.3-beta.1",
            "1.2.3+build.5",
            ">1.0.0-alpha",
        ] {
            assert!(is_constraint(ok), "{ok}");
        }
    }

    #[test]
    fn masterminds_rejects() {
        for bad in [
            "",
            "  ",
            "latest",
            "latest please",
            "v1x2",
            "1x",
            ">=1.2.3.4",
            "||",
            ">=1 ||",
            "1.0 @ 2",
            "${{ x }}",
            ">>1",
            "99999999999999999999",
            "1.2.3-01",
            "1|2",
            "1.2\u{a0}",
        ] {
            assert!(!is_constraint(bad), "{bad}");
        }
    }
}
