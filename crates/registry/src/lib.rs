//! The OCI registry client (SPEC §9), on `oci-client`.
