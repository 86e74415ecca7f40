//! The OCI registry client (SPEC §9): the digest a tag points at now, with exact request counts.
//!
//! [`Client::check`] asks each registry for the digest of each tag with ONE `HEAD` of its manifest
//! (Docker Hub counts manifest GETs against pull limits, not HEADs), with the index and list media
//! types accepted so a multi-arch tag answers with its index digest. A `GET` is sent only where a
//! registry refuses `HEAD` (405/501), and counted. Authentication is the anonymous (or
//! credentialed, from the Docker config: [`DockerConfig`]) bearer-token flow, a token cached per
//! registry and scope for the client's lifetime; Basic registries get Basic credentials. 429 and
//! 5xx answers are retried with exponential backoff, a longer `Retry-After` winning, bounded in
//! attempts and total time ([`Limits`]); each registry has its own concurrency and pacing
//! ([`RegistrySettings`]), plain HTTP only when marked `insecure`.
//!
//! [`Client::tags`] lists a repository's tags (`GET /v2/<name>/tags/list`, following `Link`
//! headers page by page, on the registry's own origin only) over the same machinery, each page
//! counted as a `list` request.
//!
//! This crate is also the boundary where our [`model::reference::ImageRef`] meets `oci-client`,
//! whose own `Reference` normalises differently (it always adds `latest` and has no IPv6 hosts).
//! The digest requests themselves do not go through `oci_client::Client::fetch_manifest_digest`:
//! it sends `GET /v2/` before every token request, falls back to a manifest GET whenever the HEAD
//! answer lacks `Docker-Content-Digest` (so a 429 or an expired token becomes a pull), never
//! retries, and cannot report how many requests it sent. They are made with the same reqwest and
//! rustls it builds on.

mod auth;
mod client;
mod credentials;
mod error;
mod tags;

pub use client::{Check, Client, Counts, Limits, MANIFEST_ACCEPT, RegistrySettings, Tags};
pub use credentials::{Basic, DockerConfig, docker_config_path};
pub use error::Error;
pub use tags::{MAX_TAG_PAGES, MAX_TAGS};

use model::reference::ImageRef;

/// Converts our reference into `oci-client`'s, for a registry call.
///
/// A reference without tag or digest becomes `:latest` here, as a registry needs something to
/// resolve; our own value keeps "no tag" everywhere else.
pub fn to_oci_reference(reference: &ImageRef) -> oci_client::Reference {
    let registry = reference.domain().to_owned();
    let repository = reference.path().to_owned();
    match (reference.tag(), reference.digest()) {
        (Some(tag), Some(digest)) => oci_client::Reference::with_tag_and_digest(
            registry,
            repository,
            tag.to_owned(),
            digest.to_owned(),
        ),
        (None, Some(digest)) => {
            oci_client::Reference::with_digest(registry, repository, digest.to_owned())
        }
        (tag, None) => oci_client::Reference::with_tag(
            registry,
            repository,
            tag.unwrap_or("latest").to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn convert(text: &str) -> oci_client::Reference {
        to_oci_reference(&ImageRef::parse_normalized(text).unwrap())
    }

    #[test]
    fn docker_hub_defaults_survive() {
        let r = convert("node:22");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/node");
        assert_eq!(r.tag(), Some("22"));
        assert_eq!(r.digest(), None);
    }

    #[test]
    fn no_tag_resolves_latest_at_the_boundary() {
        let r = convert("ghcr.io/org/app");
        assert_eq!(r.tag(), Some("latest"));
    }

    #[test]
    fn ipv6_host_and_both_tag_and_digest() {
        let d = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        let r = convert(&format!("[fc00::1]:5000/team/app:1.2@{d}"));
        assert_eq!(r.registry(), "[fc00::1]:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("1.2"));
        assert_eq!(r.digest(), Some(d));
    }
}
