# syntax=docker/dockerfile:1
# The analyzer container (docs/container.md): `analyzer` and `synth`, run as a non-root user.
#   docker build -t ghcr.io/image-factory/analyzer:0.1.0 .
# The Jobs synth emits run this image's `analyzer` and, in their clone-state init container, its
# `git`; the check-then-trigger CronJob script needs `/bin/sh` (docs/kargo.md).

# The toolchain the workspace is built and tested with (not `rust-version`, 1.88: serde-saphyr
# 2.2 in Cargo.lock needs 1.89).
ARG RUST_VERSION=1.95.0
# Build and run on the same Debian release, so the binaries find the glibc they were linked with.
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# The commit built, for a `--version` that names it (the context has no .git; see .dockerignore).
ARG GIT_REVISION=""
ENV GIT_REVISION=${GIT_REVISION}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p analyzer -p synth-cli \
 && install -D -m 0755 -t /out target/release/analyzer target/release/synth

# Debian slim rather than distroless: the Jobs need git and a shell, which distroless lacks.
FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/analyzer \
      --shell /usr/sbin/nologin analyzer
COPY --from=build /out/ /usr/local/bin/
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/analyzer
ENTRYPOINT ["analyzer"]
