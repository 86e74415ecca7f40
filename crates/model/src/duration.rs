//! Durations as written in configuration files (`7d`, `36h`, `90m`, `1d12h`, `30s`, `0`) and their
//! Kargo form in hours (`168h`; Kargo and Go durations have no `d`).
//!
//! Grammar: either `0`, or one or more `<digits><unit>` groups with units `d` (24 hours), `h`, `m`
//! and `s`, each unit at most once and in that order (`1d12h`, not `12h1d`). No spaces, no signs, no
//! fractions. Seconds are accepted for completeness (tests and short delays); everything is stored as
//! a whole number of seconds.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration with one-second resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    seconds: u64,
}

/// Why a duration text was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Nothing was given.
    #[error("empty duration")]
    Empty,
    /// A character that is neither a digit nor a unit.
    #[error("unexpected `{0}` in duration")]
    Unexpected(char),
    /// A number without a unit after it (only `0` may stand alone).
    #[error("number without a unit (use d, h, m or s)")]
    MissingUnit,
    /// A unit without a number before it.
    #[error("unit `{0}` without a number")]
    MissingNumber(char),
    /// A unit that is repeated or out of the order d, h, m, s.
    #[error("unit `{0}` repeated or out of order (write units as d, h, m, s, largest first)")]
    Order(char),
    /// The value does not fit.
    #[error("duration too large")]
    Overflow,
}

/// The regular expression accepted for durations (used by the JSON Schemas).
pub const PATTERN: &str = r"^(0|([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$";

const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

impl Duration {
    /// The zero duration.
    pub const ZERO: Duration = Duration { seconds: 0 };

    /// A duration of whole seconds.
    pub const fn from_secs(seconds: u64) -> Self {
        Self { seconds }
    }

    /// A duration of whole minutes (saturating).
    pub const fn from_minutes(minutes: u64) -> Self {
        Self::from_secs(minutes.saturating_mul(60))
    }

    /// A duration of whole hours (saturating).
    pub const fn from_hours(hours: u64) -> Self {
        Self::from_secs(hours.saturating_mul(3_600))
    }

    /// A duration of whole days (saturating).
    pub const fn from_days(days: u64) -> Self {
        Self::from_secs(days.saturating_mul(86_400))
    }

    /// Total seconds.
    pub const fn as_secs(&self) -> u64 {
        self.seconds
    }

    /// Whether the duration is zero.
    pub const fn is_zero(&self) -> bool {
        self.seconds == 0
    }

    /// As a [`std::time::Duration`].
    pub const fn to_std(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds)
    }

    /// The Go/Kargo form with hours as the largest unit: `7d` → `168h`, `90m` → `1h30m`,
    /// `1d12h` → `36h`, `30s` → `30s`, `0` → `0s`.
    pub fn to_kargo(&self) -> String {
        if self.seconds == 0 {
            return "0s".to_owned();
        }
        let (h, rest) = (self.seconds / 3_600, self.seconds % 3_600);
        let (m, s) = (rest / 60, rest % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 {
            out.push_str(&format!("{s}s"));
        }
        out
    }

    /// Parses the configuration form (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        if text.chars().all(|c| c == '0') {
            return Ok(Self::ZERO);
        }
        let mut total: u64 = 0;
        let mut number: Option<u64> = None;
        let mut next_unit = 0usize;
        for c in text.chars() {
            if let Some(d) = c.to_digit(10) {
                let n = number.unwrap_or(0);
                number = Some(
                    n.checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(d)))
                        .ok_or(DurationError::Overflow)?,
                );
                continue;
            }
            let Some(idx) = UNITS.iter().position(|(u, _)| *u == c) else {
                return Err(DurationError::Unexpected(c));
            };
            let Some(n) = number.take() else {
                return Err(DurationError::MissingNumber(c));
            };
            if idx < next_unit {
                return Err(DurationError::Order(c));
            }
            next_unit = idx + 1;
            total = n
                .checked_mul(UNITS[idx].1)
                .and_then(|v| total.checked_add(v))
                .ok_or(DurationError::Overflow)?;
        }
        if number.is_some() {
            return Err(DurationError::MissingUnit);
        }
        Ok(Self { seconds: total })
    }
}

impl fmt::Display for Duration {
    /// The shortest configuration form with days: `168h` → `7d`, `36h` → `1d12h`, zero → `0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.seconds == 0 {
            return f.write_str("0");
        }
        let mut rest = self.seconds;
        for (unit, size) in UNITS {
            let n = rest / size;
            rest %= size;
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `7d`, `36h`, `90m` or `0`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                if v == 0 {
                    Ok(Duration::ZERO)
                } else {
                    Err(E::custom(DurationError::MissingUnit))
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                self.visit_u64(u64::try_from(v).map_err(|_| E::custom("negative duration"))?)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Duration")
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: `0`, or number+unit groups with units d, h, m, s in that order (`7d`, `36h`, `90m`, `1d12h`).",
            "type": ["string", "integer"],
            "pattern": PATTERN,
            "minimum": 0,
            "maximum": 0
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_converts() {
        for (text, kargo, display) in [
            ("7d", "168h", "7d"),
            ("36h", "36h", "1d12h"),
            ("90m", "1h30m", "1h30m"),
            ("1d12h", "36h", "1d12h"),
            ("0", "0s", "0"),
            ("30s", "30s", "30s"),
            ("2d3h4m5s", "51h4m5s", "2d3h4m5s"),
        ] {
            let d = Duration::parse(text).unwrap();
            assert_eq!(d.to_kargo(), kargo, "{text}");
            assert_eq!(d.to_string(), display, "{text}");
            assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        }
    }

    #[test]
    fn rejects() {
        assert_eq!(Duration::parse(""), Err(DurationError::Empty));
        assert_eq!(Duration::parse("7"), Err(DurationError::MissingUnit));
        assert_eq!(Duration::parse("d"), Err(DurationError::MissingNumber('d')));
        assert_eq!(Duration::parse("7 d"), Err(DurationError::Unexpected(' ')));
        assert_eq!(Duration::parse("7w"), Err(DurationError::Unexpected('w')));
        assert_eq!(Duration::parse("12h1d"), Err(DurationError::Order('d')));
        assert_eq!(Duration::parse("1h1h"), Err(DurationError::Order('h')));
        assert_eq!(Duration::parse("-1d"), Err(DurationError::Unexpected('-')));
        assert_eq!(
            Duration::parse("99999999999999999999d"),
            Err(DurationError::Overflow)
        );
        assert!(regex::Regex::new(PATTERN).unwrap().is_match("1d12h"));
    }
}
