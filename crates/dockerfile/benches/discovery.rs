//! Discovery throughput (SPEC §12: ≥ 50 MB/s of Dockerfile text on a 2-core machine), measured
//! with divan over a generated corpus of realistic Dockerfiles: multi-stage builds with global
//! ARGs, long `RUN` continuations, comments, heredocs, `COPY --from`, `RUN --mount`.
//!
//! `cargo bench -p image-factory-dockerfile --bench discovery` prints divan's table with the
//! throughput row in MB/s (`BytesCount`); `cargo xtask bench` reads its median. Under `cargo test
//! --all-targets` divan runs each benchmark once, as a test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::OnceLock;

use divan::Bencher;
use divan::counter::BytesCount;
use image_factory_dockerfile::{Options, analyze};
use testkit::rng::Rng;

/// Files in the measured corpus (about 9 MB).
const FILES: usize = 2_000;

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
    let base = *rng.pick(BASES);
    let (repo, tag) = base.split_once(':').unwrap_or((base, "latest"));
    s.push_str(&format!("ARG BASE_REPO={repo}\nARG BASE_TAG={tag}\n"));
    s.push_str("ARG APP_VERSION=1.0.0\nARG RUNTIME_IMAGE=");
    s.push_str(rng.pick::<&str>(BASES));
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
            s.push_str(rng.pick::<&str>(PACKAGES));
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

/// The corpus, generated once from a fixed seed so every run measures the same bytes.
fn corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
        let corpus: Vec<String> = (0..FILES).map(|_| dockerfile(&mut rng)).collect();
        // What is measured must be the success path: the generated files resolve cleanly.
        for f in corpus.iter().take(20) {
            let a = analyze(f.as_bytes(), &Options::default());
            assert!(a.errors.is_empty(), "{:?}\n{f}", a.errors);
            assert!(a.stages.len() >= 2, "{f}");
        }
        corpus
    })
}

/// One pass of `analyze` over the whole corpus.
#[divan::bench(sample_count = 20)]
fn discovery(bencher: Bencher) {
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(String::len).sum();
    let options = Options::default();
    bencher.counter(BytesCount::new(bytes)).bench(|| {
        for f in corpus {
            black_box(analyze(black_box(f.as_bytes()), &options));
        }
    });
}

fn main() {
    divan::main();
}
