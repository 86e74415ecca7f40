//! Discovery throughput (SPEC §12: ≥ 50 MB/s of Dockerfile text on a 2-core machine).
//!
//! A plain timing loop (no benchmark framework, to keep build times sane) over a generated corpus of
//! realistic Dockerfiles: multi-stage builds with global ARGs, long `RUN` continuations, comments,
//! heredocs, `COPY --from`, `RUN --mount`. Run it with `cargo xtask bench` or
//! `cargo bench -p image-factory-dockerfile --bench discovery`; it prints
//! `RESULT discovery_mb_per_s <figure>` for `cargo xtask bench` to pick up.
//!
//! Without `--bench` (e.g. `cargo test --all-targets`) it only checks that it runs, quickly.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use image_factory_dockerfile::{Options, analyze};

/// A small deterministic PRNG (xorshift64*), so every run measures the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const BASES: &[&str] = &[
    "node:22-bookworm-slim",
    "python:3.12-slim",
    "golang:1.23-alpine",
    "gcr.io/distroless/static-debian12:nonroot",
    "mcr.microsoft.com/dotnet/aspnet:8.0",
    "eclipse-temurin:21-jre",
    "alpine:3.20",
    "debian:bookworm-slim",
    "ghcr.io/astral-sh/uv:0.4",
    "registry.example.com:5000/platform/base:2024.11",
    "rust:1.83-slim@sha256:0f3c5ad1ec07a2b6a51fb6b0e59b8c1a8c7d7f1e0b1a4c2d8e9f0a1b2c3d4e5f",
];

const PACKAGES: &[&str] = &[
    "ca-certificates",
    "curl",
    "git",
    "build-essential",
    "libssl-dev",
    "pkg-config",
    "tzdata",
    "unzip",
    "jq",
    "openssh-client",
    "libpq-dev",
    "gnupg",
];

/// One realistic Dockerfile.
fn dockerfile(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(4096);
    s.push_str("# syntax=docker/dockerfile:1.7\n");
    s.push_str("# Generated benchmark Dockerfile: builder + runtime stages.\n\n");
    let base = rng.pick(BASES);
    let (repo, tag) = base.split_once(':').unwrap_or((base, "latest"));
    s.push_str(&format!("ARG BASE_REPO={repo}\nARG BASE_TAG={tag}\n"));
    s.push_str("ARG APP_VERSION=1.0.0\nARG RUNTIME_IMAGE=");
    s.push_str(rng.pick(BASES));
    s.push_str("\n\n");
    let stages = 2 + rng.below(3);
    for i in 0..stages {
        if i == 0 {
            s.push_str("FROM --platform=$BUILDPLATFORM ${BASE_REPO}:${BASE_TAG} AS build\n");
        } else if i + 1 == stages {
            s.push_str("FROM ${RUNTIME_IMAGE}\n");
        } else {
            s.push_str(&format!("FROM {} AS stage{i}\n", rng.pick(BASES)));
        }
        s.push_str("ARG APP_VERSION\nENV APP_HOME=/opt/app \\\n    PATH=\"/opt/app/bin:${PATH}\" \\\n    LANG=C.UTF-8\n");
        s.push_str("LABEL org.opencontainers.image.source=\"https://example.com/org/repo\" \\\n      org.opencontainers.image.version=\"${APP_VERSION}\"\n");
        s.push_str("WORKDIR /src\n");
        s.push_str("# Install the system packages the build needs.\n");
        s.push_str("RUN set -eux; \\\n    apt-get update; \\\n    apt-get install -y --no-install-recommends \\\n");
        for _ in 0..(4 + rng.below(8)) {
            s.push_str("        ");
            s.push_str(rng.pick(PACKAGES));
            s.push_str(" \\\n");
        }
        s.push_str("    ; \\\n    # clean up\n    rm -rf /var/lib/apt/lists/*\n");
        s.push_str("COPY package.json package-lock.json ./\n");
        s.push_str("RUN --mount=type=cache,target=/root/.npm \\\n    --mount=type=bind,from=ghcr.io/example/tools:1.2,source=/bin,target=/tools \\\n    npm ci --omit=dev\n");
        if rng.below(3) == 0 {
            s.push_str("RUN <<EOF\nset -e\necho \"building ${APP_VERSION}\"\nFROM this-is-heredoc-text\nmake -j\"$(nproc)\" all\nEOF\n");
        }
        if i > 0 {
            s.push_str("COPY --from=build --chown=app:app /src/dist /opt/app\n");
            s.push_str("COPY --from=gcr.io/example/assets:2024 /assets /opt/app/assets\n");
        }
        s.push_str("COPY . .\nRUN make build VERSION=${APP_VERSION}\n");
        s.push_str("HEALTHCHECK --interval=30s --timeout=3s CMD [\"/opt/app/bin/health\"]\n");
        s.push_str("USER 10001:10001\nEXPOSE 8080\nENTRYPOINT [\"/opt/app/bin/server\"]\nCMD [\"--port\", \"8080\"]\n\n");
    }
    s
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let count = if full { 2_000 } else { 20 };
    let corpus: Vec<String> = (0..count).map(|_| dockerfile(&mut rng)).collect();
    let bytes: usize = corpus.iter().map(String::len).sum();
    let options = Options::default();

    // Sanity: the generated files resolve without errors.
    for f in corpus.iter().take(20) {
        let a = analyze(f.as_bytes(), &options);
        assert!(a.errors.is_empty(), "{:?}\n{f}", a.errors);
    }
    if !full {
        println!("discovery bench: smoke run only (use `cargo xtask bench`)");
        return;
    }

    // Warm up, then time whole passes over the corpus for about 3 seconds.
    for f in &corpus {
        black_box(analyze(black_box(f.as_bytes()), &options));
    }
    let budget = Duration::from_secs(3);
    let start = Instant::now();
    let mut passes = 0u32;
    while start.elapsed() < budget || passes < 2 {
        for f in &corpus {
            black_box(analyze(black_box(f.as_bytes()), &options));
        }
        passes += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (bytes as f64 * f64::from(passes)) / 1_000_000.0;
    let per_file_us = secs * 1e6 / (f64::from(passes) * corpus.len() as f64);
    println!(
        "discovery: {} files, {:.2} MB per pass, {passes} passes in {secs:.2} s, {per_file_us:.1} µs/file",
        corpus.len(),
        bytes as f64 / 1_000_000.0
    );
    println!("RESULT discovery_mb_per_s {:.1}", mb / secs);
}
