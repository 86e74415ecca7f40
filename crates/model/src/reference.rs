//! Image references, parsed and normalised exactly like distribution/reference (SPEC §4).
//!
//! [`ImageRef::parse_normalized`] is a port of `reference.ParseNormalizedNamed`: the grammar is the
//! library's own regular expressions, matched by hand with the same splits (`grammar`), and the
//! Docker Hub defaults (`docker.io`, `library/`) are applied
//! the way `splitDockerDomain` applies them. "No tag" is kept distinct from `:latest`: `FROM node`
//! stays `node`, and only [`ImageRef::normalized`] adds `:latest` for monitoring.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

/// Docker Hub's canonical domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy Docker Hub domain, rewritten to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Namespace of Docker Hub's official images.
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// Longest repository path (without the domain) distribution accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

mod grammar;

/// Why a string is not a valid image reference. The messages are distribution/reference's own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The input is empty.
    #[error("repository name must have at least one component")]
    Empty,
    /// The input does not match the reference grammar.
    #[error("invalid reference format")]
    InvalidFormat,
    /// The input would match the grammar if it were lower case.
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    /// The repository path (after Docker Hub defaults) has upper-case characters.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    RepositoryUppercase(String),
    /// The repository path is longer than [`NAME_TOTAL_LENGTH_MAX`].
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    /// The input is a bare 64-hex image id, which is never a name.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexIdentifier(String),
    /// The digest is not `algorithm:hex`, or its hex is not lower case.
    #[error("invalid checksum digest format")]
    DigestFormat,
    /// The digest's hex has the wrong length for its algorithm.
    #[error("invalid checksum digest length")]
    DigestLength,
    /// The digest algorithm is not supported (only `sha256` is).
    #[error("unsupported digest algorithm")]
    DigestUnsupported,
}

/// Whether `s` is a tag in distribution/reference's grammar: `[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}`.
pub fn is_tag(s: &str) -> bool {
    grammar::is_tag(s)
}

/// A normalised image reference: `domain/path[:tag][@digest]`.
///
/// The domain is always explicit (`docker.io` for Docker Hub) and Docker Hub's official images carry
/// `library/`. Equality is on all four parts, so `node` and `node:latest` are different references.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    /// Parses `s` like distribution/reference's `ParseNormalizedNamed`: familiar (`node:22`),
    /// canonical (`docker.io/library/node:22`) and name-only forms, with tag, digest or both.
    pub fn parse_normalized(s: &str) -> Result<ImageRef, ReferenceError> {
        if grammar::is_identifier(s) {
            return Err(ReferenceError::HexIdentifier(s.to_owned()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder
            .split_once(':')
            .map_or(remainder.as_str(), |(r, _)| r);
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::RepositoryUppercase(remote.to_owned()));
        }
        parse(&format!("{domain}/{remainder}"))
    }

    /// Builds a reference from parts that are already known to be valid, checking them again.
    pub fn from_parts(
        domain: &str,
        path: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<ImageRef, ReferenceError> {
        let mut text = if domain.is_empty() {
            path.to_owned()
        } else {
            format!("{domain}/{path}")
        };
        if let Some(tag) = tag {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = digest {
            text.push('@');
            text.push_str(digest);
        }
        ImageRef::parse_normalized(&text)
    }

    /// The registry host, with port if any (`docker.io`, `ghcr.io`, `localhost:5000`). Empty when
    /// the first component looked like a host to `splitDockerDomain` (it has a `.` or `:`, or
    /// upper case) but is not one by the grammar (`foo_bar.com/x`): distribution/reference then
    /// keeps the whole name as the path, with no domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry (`library/node`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if one was written (`None` for `node`, `Some("latest")` for `node:latest`).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if one was written (`sha256:…`).
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The tag to follow when watching this image: the written tag, else `latest`.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// The full repository name: `docker.io/library/node`; the path alone when there is no
    /// domain (distribution/reference `repository.Name`).
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            return self.path.clone();
        }
        format!("{}/{}", self.domain, self.path)
    }

    /// The familiar repository name: `node`, `bitnami/redis`, `ghcr.io/org/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The familiar form with tag and digest: `node:22`, what people write in a Dockerfile.
    pub fn familiar(&self) -> String {
        self.with_suffix(self.familiar_name())
    }

    /// The canonical form: `docker.io/library/node:22`; no `:latest` is added.
    pub fn canonical(&self) -> String {
        self.with_suffix(self.name())
    }

    /// The canonical form with `:latest` added only when neither tag nor digest is present
    /// (the `normalized` field of SPEC §10).
    pub fn normalized(&self) -> String {
        if self.tag.is_none() && self.digest.is_none() {
            format!("{}:latest", self.name())
        } else {
            self.canonical()
        }
    }

    /// `ParseDockerRef`'s form: `:latest` added when there is no tag, and the tag dropped when a
    /// digest is present (the digest alone identifies the content).
    pub fn docker_ref(&self) -> String {
        match (&self.tag, &self.digest) {
            (_, Some(digest)) => format!("{}@{digest}", self.name()),
            (Some(tag), None) => format!("{}:{tag}", self.name()),
            (None, None) => format!("{}:latest", self.name()),
        }
    }

    /// The same repository without tag or digest.
    pub fn without_tag_and_digest(&self) -> ImageRef {
        ImageRef {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    fn with_suffix(&self, mut name: String) -> String {
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(digest);
        }
        name
    }
}

/// `splitDockerDomain`: decides whether the first path component is a registry host.
fn split_docker_domain(name: &str) -> (String, String) {
    let (domain, remote) = match name.split_once('/') {
        None => {
            return (
                DEFAULT_DOMAIN.to_owned(),
                format!("{OFFICIAL_REPO_PREFIX}{name}"),
            );
        }
        Some((maybe_domain, maybe_remote)) => {
            if maybe_domain == "localhost"
                || maybe_domain.contains(['.', ':'])
                || maybe_domain.to_lowercase() != maybe_domain
            {
                let domain = if maybe_domain == LEGACY_DEFAULT_DOMAIN {
                    DEFAULT_DOMAIN
                } else {
                    maybe_domain
                };
                (domain.to_owned(), maybe_remote.to_owned())
            } else {
                (DEFAULT_DOMAIN.to_owned(), name.to_owned())
            }
        }
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        return (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"));
    }
    (domain, remote)
}

/// `reference.Parse` on an input that has an explicit domain, keeping only named results.
fn parse(s: &str) -> Result<ImageRef, ReferenceError> {
    let Some((domain, path, tag, digest)) = grammar::reference(s) else {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if grammar::reference(&s.to_lowercase()).is_some() {
            return Err(ReferenceError::NameContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    // Upstream limits the path (the domain is not counted), whatever the constant's name says.
    if path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    let digest = match digest {
        Some(d) => Some(validate_digest(d)?.to_owned()),
        None => None,
    };
    Ok(ImageRef {
        domain: domain.to_owned(),
        path: path.to_owned(),
        tag: tag.map(str::to_owned),
        digest,
    })
}

/// go-digest's `Digest.Validate` with only `sha256` registered (as in the reference test binary):
/// the one digest check of the crate, [`Digest::parse`].
fn validate_digest(s: &str) -> Result<&str, ReferenceError> {
    Digest::parse(s)?;
    Ok(s)
}

impl From<DigestError> for ReferenceError {
    fn from(err: DigestError) -> Self {
        match err {
            DigestError::Length => ReferenceError::DigestLength,
            DigestError::Unsupported => ReferenceError::DigestUnsupported,
            _ => ReferenceError::DigestFormat,
        }
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse_normalized(s)
    }
}

/// Displays the canonical form.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> serde::Deserialize<'de> for ImageRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ImageRef::parse_normalized(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for ImageRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ImageRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An image reference as Docker reads it: `node:22`, `ghcr.io/org/app@sha256:…`."
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn familiar_name_gets_docker_hub_defaults() {
        let r = ImageRef::parse_normalized("node:22-bookworm-slim").unwrap();
        assert_eq!(r.domain(), "docker.io");
        assert_eq!(r.path(), "library/node");
        assert_eq!(r.tag(), Some("22-bookworm-slim"));
        assert_eq!(r.familiar(), "node:22-bookworm-slim");
        assert_eq!(r.canonical(), "docker.io/library/node:22-bookworm-slim");
    }

    #[test]
    fn no_tag_is_not_latest() {
        let bare = ImageRef::parse_normalized("node").unwrap();
        let latest = ImageRef::parse_normalized("node:latest").unwrap();
        assert_ne!(bare, latest);
        assert_eq!(bare.tag(), None);
        assert_eq!(bare.canonical(), "docker.io/library/node");
        assert_eq!(bare.normalized(), "docker.io/library/node:latest");
        assert_eq!(bare.normalized(), latest.normalized());
    }

    #[test]
    fn legacy_index_domain_becomes_docker_io() {
        let r = ImageRef::parse_normalized("index.docker.io/redis").unwrap();
        assert_eq!(r.name(), "docker.io/library/redis");
    }

    #[test]
    fn tag_and_digest_both_kept() {
        let d = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        let r = ImageRef::parse_normalized(&format!("ghcr.io/o/a:1@{d}")).unwrap();
        assert_eq!(r.tag(), Some("1"));
        assert_eq!(r.digest(), Some(d));
        assert_eq!(r.normalized(), format!("ghcr.io/o/a:1@{d}"));
        assert_eq!(r.docker_ref(), format!("ghcr.io/o/a@{d}"));
    }

    #[test]
    fn ipv6_host_with_port() {
        let r = ImageRef::parse_normalized("[fc00::1]:5000/debian:12").unwrap();
        assert_eq!(r.domain(), "[fc00::1]:5000");
        assert_eq!(r.path(), "debian");
    }

    /// `splitDockerDomain` takes `foo_bar.com` for a host (it has a `.`), but the grammar does not
    /// (`_`), so `Parse` matches the whole name as a path and the domain is empty: no leading `/`
    /// in any form.
    #[test]
    fn host_like_component_that_is_not_a_domain() {
        for (input, name, tag) in [
            ("foo_bar.com/x", "foo_bar.com/x", None),
            ("foo_bar.com/x:1", "foo_bar.com/x", Some("1")),
            ("a_b.c/d/e", "a_b.c/d/e", None),
            ("x__y.z/w:tag", "x__y.z/w", Some("tag")),
        ] {
            let r = ImageRef::parse_normalized(input).unwrap();
            assert_eq!(r.domain(), "", "{input}");
            assert_eq!(r.path(), name, "{input}");
            assert_eq!(r.tag(), tag, "{input}");
            assert_eq!(r.name(), name, "{input}");
            assert_eq!(r.familiar_name(), name, "{input}");
            assert_eq!(r.familiar(), input, "{input}");
            assert_eq!(r.canonical(), input, "{input}");
            assert_eq!(r.to_string(), input, "{input}");
            let again = ImageRef::from_parts(r.domain(), r.path(), r.tag(), None).unwrap();
            assert_eq!(again, r, "{input}");
            assert_eq!(ImageRef::parse_normalized(&r.canonical()).unwrap(), r);
        }
        // `-` at the edge of the first component: not a host either; `..` is not a path.
        assert!(ImageRef::parse_normalized("-a.com/x").is_err());
        assert!(ImageRef::parse_normalized("a..b/x").is_err());
    }

    #[test]
    fn errors_use_distribution_messages() {
        let e = ImageRef::parse_normalized("Uppercase:tag").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid reference format: repository name (library/Uppercase) must be lowercase"
        );
        let hex = "a".repeat(64);
        assert!(matches!(
            ImageRef::parse_normalized(&hex),
            Err(ReferenceError::HexIdentifier(_))
        ));
    }
}
