//! Timestamps as written in state files: UTC, second precision, RFC 3339 (`2026-01-01T00:00:00Z`).
//!
//! [`Timestamp`] wraps a [`jiff::Timestamp`] whose sub-second part is always zero. Reading is lenient
//! (any RFC 3339 offset and fractional seconds are accepted and truncated, so the Python system's
//! `2025-12-29T19:25:06.848773+00:00` loads); writing is canonical (`Z`, no fraction), so a value
//! read and written back is byte-identical after the first write.
//!
//! [`retry_after`] reads an HTTP `Retry-After` (the registry client's and the CI dispatch's).
//!
//! This module reads no clock: callers pass "now" in (the state crate's clock honours `--now` and
//! `SOURCE_DATE_EPOCH`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::Duration;

/// A UTC instant with one-second resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(jiff::Timestamp);

/// Why a timestamp text was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp `{text}`: {reason} (expected RFC 3339, e.g. 2026-01-01T00:00:00Z)")]
pub struct TimestampError {
    /// The text.
    pub text: String,
    /// What the parser said.
    pub reason: String,
}

impl Timestamp {
    /// The Unix epoch, `1970-01-01T00:00:00Z`.
    pub const UNIX_EPOCH: Timestamp = Timestamp(jiff::Timestamp::UNIX_EPOCH);

    /// The instant `seconds` after the Unix epoch (`None` outside jiff's range, years -9999..=9999).
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        jiff::Timestamp::from_second(seconds).ok().map(Self)
    }

    /// Seconds since the Unix epoch.
    pub fn as_unix_seconds(&self) -> i64 {
        self.0.as_second()
    }

    /// A jiff timestamp truncated to whole seconds (towards the past).
    pub fn from_jiff(ts: jiff::Timestamp) -> Self {
        let secs = ts.as_second();
        // `as_second` truncates towards zero; before the epoch a fraction must round down.
        let secs = if ts.subsec_nanosecond() < 0 {
            secs.saturating_sub(1)
        } else {
            secs
        };
        Self(jiff::Timestamp::from_second(secs).unwrap_or(ts))
    }

    /// The underlying jiff timestamp.
    pub fn to_jiff(&self) -> jiff::Timestamp {
        self.0
    }

    /// Parses RFC 3339 with any offset and fraction, truncating to whole seconds in UTC.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        jiff::Timestamp::from_str(text.trim())
            .map(Self::from_jiff)
            .map_err(|err| TimestampError {
                text: text.to_owned(),
                reason: err.to_string(),
            })
    }

    /// This instant plus `duration` (saturating at the end of jiff's range).
    pub fn add(&self, duration: Duration) -> Self {
        let secs = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        let target = self.0.as_second().saturating_add(secs);
        match jiff::Timestamp::from_second(target) {
            Ok(ts) => Self(ts),
            Err(_) => Self(jiff::Timestamp::MAX),
        }
        .truncated()
    }

    fn truncated(self) -> Self {
        Self::from_jiff(self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The wait before retry number `attempt` (1-based) of an HTTP request: `initial` doubled per
/// attempt, or the server's `Retry-After` (the header's value) when it asks for longer.
pub fn backoff(
    initial: std::time::Duration,
    attempt: u32,
    retry_after_header: Option<&str>,
) -> std::time::Duration {
    let exponential = initial.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let asked = retry_after_header.and_then(|v| retry_after(v, jiff::Timestamp::now()));
    asked.map_or(exponential, |a| a.max(exponential))
}

/// The wait an HTTP `Retry-After` header asks for: delay-seconds or an HTTP-date (then the time
/// from `now` until it; a past date is no wait). `None` when the value is neither. The caller
/// bounds it: a server may ask for any wait.
pub fn retry_after(value: &str, now: jiff::Timestamp) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(now);
    Some(std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::ZERO))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonical_form() {
        let t = Timestamp::parse("2025-12-29T19:25:06.848773+00:00").unwrap();
        assert_eq!(t.to_string(), "2025-12-29T19:25:06Z");
        let t = Timestamp::parse("2026-01-01T02:00:00+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
        assert!(Timestamp::parse("yesterday").is_err());
        assert_eq!(
            Timestamp::from_unix_seconds(0).unwrap().to_string(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn adds_durations() {
        let t = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            t.add(Duration::from_days(7)).to_string(),
            "2026-01-08T00:00:00Z"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            retry_after("3", now),
            Some(std::time::Duration::from_secs(3))
        );
        assert_eq!(
            retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now),
            Some(std::time::Duration::from_secs(10))
        );
        assert_eq!(
            retry_after("Wed, 31 Dec 2025 00:00:10 GMT", now),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
