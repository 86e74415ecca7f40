//! Image references, parsed and normalised exactly like distribution/reference (SPEC §4).
