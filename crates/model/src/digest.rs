//! Content digests (`sha256:<64 hex>`), validated like distribution/reference validates the digest
//! of a reference: go-digest's `Digest.Validate` with only `sha256` registered (the algorithm every
//! registry uses for manifests). Written and read as the plain `algorithm:hex` string.
//!
//! ```
//! use image_factory_model::digest::Digest;
//! let hex = "f".repeat(64);
//! let d: Digest = format!("sha256:{hex}").parse().unwrap_or_else(|_| unreachable!());
//! assert_eq!(d.algorithm(), "sha256");
//! assert_eq!(d.hex(), hex);
//! assert!("sha256:abc".parse::<Digest>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

/// The only algorithm accepted (go-digest's `Canonical`).
pub const SHA256: &str = "sha256";
/// Length of a SHA-256 digest in hex characters.
const SHA256_HEX_LEN: usize = 64;

/// distribution/reference's `digestPat`: what the reference grammar lets through as a digest.
static GRAMMAR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new("^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}$").ok()
});

/// Why a text is not a digest. The messages are go-digest's own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// Not `algorithm:hex`, or the hex is not lower case.
    #[error("invalid checksum digest format")]
    Format,
    /// The hex has the wrong length for the algorithm.
    #[error("invalid checksum digest length")]
    Length,
    /// An algorithm other than `sha256`.
    #[error("unsupported digest algorithm")]
    Unsupported,
}

/// A validated `sha256:<64 lower-case hex>` digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses and validates `text` (go-digest `Parse` + `Validate`, `sha256` only).
    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let Some((algorithm, hex)) = text.split_once(':') else {
            return Err(DigestError::Format);
        };
        if algorithm.is_empty() || hex.is_empty() {
            return Err(DigestError::Format);
        }
        if algorithm != SHA256 {
            // go-digest reports a malformed text as such before looking the algorithm up.
            let well_formed = GRAMMAR.as_ref().is_some_and(|g| g.is_match(text));
            return Err(if well_formed {
                DigestError::Unsupported
            } else {
                DigestError::Format
            });
        }
        if hex.len() != SHA256_HEX_LEN {
            return Err(DigestError::Length);
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::Format);
        }
        Ok(Digest(text.to_owned()))
    }

    /// The algorithm (`sha256`).
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map_or("", |(a, _)| a)
    }

    /// The hex-encoded value.
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, h)| h)
    }

    /// The whole `algorithm:hex` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Digest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Digest".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^sha256:[0-9a-f]{64}$",
            "description": "A content digest: `sha256:` and 64 lower-case hex characters."
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_sha256_only() {
        let hex = "0123456789abcdef".repeat(4);
        let d = Digest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!((d.algorithm(), d.hex()), ("sha256", hex.as_str()));
        assert_eq!(d.to_string(), format!("sha256:{hex}"));
        assert_eq!(d.as_ref(), d.as_str());
    }

    #[test]
    fn rejects_like_go_digest() {
        let hex = "a".repeat(64);
        for (text, err) in [
            (String::new(), DigestError::Format),
            ("sha256".to_owned(), DigestError::Format),
            ("sha256:".to_owned(), DigestError::Format),
            (format!(":{hex}"), DigestError::Format),
            ("sha256:abc".to_owned(), DigestError::Length),
            (format!("sha256:{}", "A".repeat(64)), DigestError::Format),
            (format!("sha256:{}", "g".repeat(64)), DigestError::Format),
            (
                format!("sha512:{}", "a".repeat(128)),
                DigestError::Unsupported,
            ),
            (format!("sha-512:{hex}"), DigestError::Format),
            ("md5:xyz".to_owned(), DigestError::Format),
        ] {
            assert_eq!(Digest::parse(&text), Err(err), "{text}");
        }
    }

    #[test]
    fn serde_is_the_plain_string() {
        let text = format!("\"sha256:{}\"", "b".repeat(64));
        let d: Digest = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), text);
        assert!(serde_json::from_str::<Digest>("\"sha256:b\"").is_err());
    }
}
