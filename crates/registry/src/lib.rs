//! The OCI registry client (SPEC §9), on `oci-client`.
//!
//! This crate is the boundary where our [`model::reference::ImageRef`] meets `oci-client`, whose own
//! `Reference` normalises differently (it always adds `latest` and has no IPv6 hosts). Digest checks
//! (`analyzer check`) will live here; for now the crate holds the conversion.

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
