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
        domain: String,
        /// The repository path.
        path: String,
        /// The tag, if any.
        tag: Option<String>,
        /// The digest, if any.
        digest: Option<String>,
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
    /// Parses `input` like `ParseNormalizedNamed`.
    pub fn parse(input: &'a str) -> Self {
        Self::new(input, &ImageRef::parse_normalized(input))
    }

    /// Describes `input` parsed as `result`.
    pub fn new(input: &'a str, result: &Result<ImageRef, ReferenceError>) -> Self {
        match result {
            Ok(r) => Self::Valid {
                input,
                valid: true,
                name: r.name(),
                domain: r.domain().to_owned(),
                path: r.path().to_owned(),
                tag: r.tag().map(str::to_owned),
                digest: r.digest().map(str::to_owned),
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
