//! The parse-ref job (SPEC §4, contract in §10): an image reference parsed like
//! distribution/reference's `ParseNormalizedNamed`, as one JSON object or one text line.

use std::fmt;

use model::reference::{ImageRef, ReferenceError};
use serde::Serialize;

/// One input and what it parses to: the SPEC §10 JSON object; [`fmt::Display`] is the text line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ParsedRef<'a> {
    /// A valid reference.
    Valid {
        /// The input.
        input: &'a str,
        /// Always `true`.
        valid: bool,
        /// Domain and path.
        name: String,
        /// The registry.
        domain: &'a str,
        /// The repository path.
        path: &'a str,
        /// The tag, if any.
        tag: Option<&'a str>,
        /// The digest, if any.
        digest: Option<&'a str>,
        /// The short form (`node:22`).
        familiar: String,
        /// The full form (`docker.io/library/node:22`).
        canonical: String,
    },
    /// An invalid reference.
    Invalid {
        /// The input.
        input: &'a str,
        /// Always `false`.
        valid: bool,
        /// Why it is invalid.
        error: String,
    },
}

impl<'a> ParsedRef<'a> {
    /// Describes `input` parsed as `result`.
    pub fn new(input: &'a str, result: &'a Result<ImageRef, ReferenceError>) -> Self {
        match result {
            Ok(r) => Self::Valid {
                input,
                valid: true,
                name: r.name(),
                domain: r.domain(),
                path: r.path(),
                tag: r.tag(),
                digest: r.digest(),
                familiar: r.familiar(),
                canonical: r.canonical(),
            },
            Err(e) => Self::Invalid {
                input,
                valid: false,
                error: e.to_string(),
            },
        }
    }

    /// Whether the input is a valid reference.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid { .. })
    }
}

impl fmt::Display for ParsedRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid {
                input,
                familiar,
                canonical,
                ..
            } => write!(f, "{input}\t{canonical}\t(familiar {familiar})"),
            Self::Invalid { input, error, .. } => write!(f, "{input}\tinvalid: {error}"),
        }
    }
}
