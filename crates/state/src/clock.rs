//! The clock of a run: `--now` wins, then `SOURCE_DATE_EPOCH`, then the system clock (SPEC §7).

use model::time::{Timestamp, TimestampError};

/// Why the clock could not be set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// `--now` is not RFC 3339.
    #[error(transparent)]
    Now(#[from] TimestampError),
    /// `SOURCE_DATE_EPOCH` is not a number of seconds.
    #[error("SOURCE_DATE_EPOCH `{0}` is not a number of seconds since 1970")]
    Epoch(String),
}

/// The time of this run: `now` (RFC 3339) when given, else `source_date_epoch` (seconds since the
/// epoch) when set and non-empty, else `system`.
pub fn resolve(
    now: Option<&str>,
    source_date_epoch: Option<&str>,
    system: Timestamp,
) -> Result<Timestamp, ClockError> {
    if let Some(now) = now {
        return Ok(Timestamp::parse(now)?);
    }
    match source_date_epoch.map(str::trim) {
        Some(epoch) if !epoch.is_empty() => epoch
            .parse::<i64>()
            .ok()
            .and_then(Timestamp::from_unix_seconds)
            .ok_or_else(|| ClockError::Epoch(epoch.to_owned())),
        _ => Ok(system),
    }
}

/// The system clock, truncated to seconds.
pub fn system_now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn precedence() {
        let sys = Timestamp::from_unix_seconds(5).unwrap();
        assert_eq!(
            resolve(Some("2026-01-01T00:00:00Z"), Some("1"), sys)
                .unwrap()
                .to_string(),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            resolve(None, Some("60"), sys).unwrap().as_unix_seconds(),
            60
        );
        assert_eq!(resolve(None, Some(""), sys).unwrap(), sys);
        assert_eq!(resolve(None, None, sys).unwrap(), sys);
        assert!(resolve(None, Some("x"), sys).is_err());
        assert!(resolve(Some("nope"), None, sys).is_err());
    }
}
