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
//! [`Version`] is the version `NewVersion` reads from a tag, ordered by Masterminds' `Compare`:
//! what Kargo's SemVer strategy sees in a registry's tag list.
//!
//! ```
//! use image_factory_model::semver::{Version, is_constraint};
//! assert!(is_constraint(">=1.0.0 <2.0.0 || ^3"));
//! assert!(!is_constraint("v1x2"));
//! let (rc, release) = (Version::parse("v2.0.0-rc.1")?, Version::parse("2")?);
//! assert!(rc.cmp_precedence(&release).is_lt());
//! assert_eq!(release.normalized(), "2.0.0");
//! # Ok::<(), image_factory_model::semver::VersionError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
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

fn new_version(g: &Grammar, v: &str) -> bool {
    Version::parse_with(g, v).is_ok()
}

/// A version as Masterminds/semver v3 `NewVersion` reads it in its default coercing mode
/// (`coerceNewVersion`), as Kargo does with image tags: an optional `v`, one to three numeric
/// parts that fit a `uint64` (missing ones are zero: `v1.2` is 1.2.0), an optional `-prerelease`
/// whose numeric identifiers have no leading zeros, an optional `+build`.
///
/// It keeps the text it was parsed from ([`fmt::Display`] writes it back unchanged, like
/// Masterminds' `Original`). [`Version::cmp_precedence`] is Masterminds' `Compare` (build
/// metadata ignored, so `1.2` and `v1.2.0+b1` rank the same); [`Ord`] is that precedence with the
/// text as tie-break, a total order consistent with equality (equal exactly when the texts are).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    text: String,
    major: u64,
    minor: u64,
    patch: u64,
    /// The prerelease, without its `-` (empty when there is none).
    pre: String,
    /// The build metadata, without its `+` (empty when there is none).
    build: String,
}

/// Text that Masterminds/semver v3 `NewVersion` refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a version (v?MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD], numbers without \
     leading zeros in the prerelease)"
)]
pub struct VersionError(pub String);

impl Version {
    /// Parses `text` like Masterminds/semver v3 `NewVersion` (coercing mode).
    ///
    /// # Errors
    /// [`VersionError`] when Masterminds would refuse the text.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let Some(g) = GRAMMAR.as_ref() else {
            return Err(VersionError(text.to_owned()));
        };
        Version::parse_with(g, text)
    }

    /// `coerceNewVersion`: the loose pattern, numeric parts that fit a `uint64`, and prerelease
    /// identifiers without leading zeros (`validatePrerelease`; the pattern already enforces what
    /// `validateMetadata` checks).
    fn parse_with(g: &Grammar, text: &str) -> Result<Version, VersionError> {
        let bad = || VersionError(text.to_owned());
        let m = g.version.captures(text).ok_or_else(bad)?;
        let number = |i: usize| -> Result<u64, VersionError> {
            m.get(i).map_or(Ok(0), |x| {
                x.as_str()
                    .trim_start_matches('.')
                    .parse::<u64>()
                    .map_err(|_| bad())
            })
        };
        let pre = m.get(5).map_or("", |x| x.as_str());
        let leading_zero = pre.split('.').any(|part| {
            part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit())
        });
        if leading_zero {
            return Err(bad());
        }
        Ok(Version {
            text: text.to_owned(),
            major: number(1)?,
            minor: number(2)?,
            patch: number(3)?,
            pre: pre.to_owned(),
            build: m.get(8).map_or("", |x| x.as_str()).to_owned(),
        })
    }

    /// The text it was parsed from (`v1.2`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor number (0 when not written).
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch number (0 when not written).
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease (`rc.1`), if any.
    pub fn prerelease(&self) -> Option<&str> {
        Some(self.pre.as_str()).filter(|p| !p.is_empty())
    }

    /// The build metadata, if any.
    pub fn build(&self) -> Option<&str> {
        Some(self.build.as_str()).filter(|b| !b.is_empty())
    }

    /// The SemVer form, Masterminds' `String`: `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` without
    /// the `v` (`v1.2` → `1.2.0`).
    pub fn normalized(&self) -> String {
        let mut text = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            text.push('-');
            text.push_str(&self.pre);
        }
        if !self.build.is_empty() {
            text.push('+');
            text.push_str(&self.build);
        }
        text
    }

    /// SemVer precedence as Masterminds' `Compare`: major, minor, patch, then a release above its
    /// prereleases, prereleases compared identifier by identifier (numbers numerically and below
    /// words, a shorter prefix first); build metadata ignored.
    pub fn cmp_precedence(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            })
    }
}

/// `comparePrerelease`: identifier by identifier, a missing one below any present one.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.split('.'), b.split('.'));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = compare_identifier(x, y);
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

/// `comparePrePart`: numbers (what fits a `uint64`) numerically and below everything else, the
/// rest by their bytes.
fn compare_identifier(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// Precedence, then the text: equal exactly when the texts are.
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_precedence(other)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The text it was parsed from.
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Version::parse(text)
    }
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

    #[test]
    fn versions_parse_like_masterminds() {
        let v = |t: &str| Version::parse(t).map(|v| v.normalized());
        assert_eq!(v("1"), Ok("1.0.0".into()));
        assert_eq!(v("v1.2"), Ok("1.2.0".into()));
        assert_eq!(v("01.2.3"), Ok("1.2.3".into()));
        assert_eq!(v("1.2.3-rc.1+b.7"), Ok("1.2.3-rc.1+b.7".into()));
        for bad in [
            "",
            "latest",
            "V1",
            "1.2.3.4",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "99999999999999999999",
            "0123456789abcdef0123456789abcdef01234567",
            "1.x",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precedence_is_mastermindss_compare() {
        // Ascending, as SemVer 2.0.0 §11's example plus Masterminds' quirks.
        let ascending = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.2.0",
            "1.10.0",
            "2.0.0-rc.1",
            "2.0.0",
        ];
        for pair in ascending.windows(2) {
            let (a, b) = (
                Version::parse(pair[0]).unwrap_or_else(|e| unreachable!("{e}")),
                Version::parse(pair[1]).unwrap_or_else(|e| unreachable!("{e}")),
            );
            assert_eq!(a.cmp_precedence(&b), Ordering::Less, "{a} < {b}");
        }
        let same = |a: &str, b: &str| {
            let (a, b) = (Version::parse(a), Version::parse(b));
            matches!((a, b), (Ok(a), Ok(b)) if a.cmp_precedence(&b).is_eq() && a != b)
        };
        assert!(same("v1.2", "1.2.0+build.5"));
    }
}
