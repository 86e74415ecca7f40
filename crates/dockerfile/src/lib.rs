//! Base-image discovery from Dockerfiles with BuildKit's semantics (SPEC §5).
//!
//! Given a Dockerfile's bytes, optional build args and a target platform, this crate returns every
//! base image exactly as `docker buildx build` would resolve it: ARG expansion, stage references,
//! `scratch`, `COPY --from` and `RUN --mount=from=` dependencies, with per-stage errors.
//!
//! Not built yet: issue #3.
