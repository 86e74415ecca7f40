//! `cargo xtask gen-corpus --images N [--out DIR] [--seed S]`: a generated fleet for benchmarks.
//!
//! Writes `DIR/image-factory/{images.yaml,factory.yaml}` and `DIR/sources/<owner>/<repo>/...`
//! holding one realistic Dockerfile per managed image: single- and multi-stage builds, global ARGs
//! used in FROM lines (some overridden by `buildArgs` in images.yaml), `--platform=$BUILDPLATFORM`,
//! continuations and comments, `COPY --from=<image>`, `RUN --mount=from=<image>`, and cascades
//! (images built FROM the organisation's own base images, which are managed images too). About one
//! distinct base image per five images (~2,000 for 10,000). A few external images are enrolled as
//! well. The output is a pure function of `--images` and `--seed`.
//!
//! The default output directory is `target/corpus/images-<N>` (never committed).
//!
//! Then, for example:
//! `analyzer analyze --factory-dir target/corpus/images-10000/image-factory
//!  --source-root target/corpus/images-10000/sources --now 2026-01-01T00:00:00Z`

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use testkit::rng::Rng;

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many images to enrol.
    #[arg(long, default_value_t = 10_000)]
    pub images: usize,
    /// Output directory (default `target/corpus/images-<N>`); replaced if it exists.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// A base image: repository (familiar) and tag; ARG-able when `arg` names the varying part.
#[derive(Clone, Debug)]
struct Base {
    repo: String,
    tag: String,
}

impl Base {
    fn text(&self) -> String {
        format!("{}:{}", self.repo, self.tag)
    }
}

/// About `count` distinct upstream images: public families first, then internal runtimes.
fn base_pool(count: usize) -> Vec<Base> {
    let families: &[(&str, &[&str], &[&str])] = &[
        (
            "node",
            &["18", "20", "21", "22", "23", "24"],
            &[
                "",
                "-alpine",
                "-slim",
                "-bookworm-slim",
                "-bullseye",
                "-alpine3.20",
                "-bookworm",
            ],
        ),
        (
            "python",
            &["3.9", "3.10", "3.11", "3.12", "3.13"],
            &[
                "",
                "-slim",
                "-alpine",
                "-bookworm",
                "-slim-bookworm",
                "-alpine3.20",
            ],
        ),
        (
            "golang",
            &["1.21", "1.22", "1.23", "1.24"],
            &["", "-alpine", "-bookworm", "-alpine3.20", "-bullseye"],
        ),
        (
            "rust",
            &["1.80", "1.82", "1.85", "1.88"],
            &["", "-slim", "-alpine", "-bookworm"],
        ),
        (
            "eclipse-temurin",
            &["17", "21", "23"],
            &["-jre", "-jdk", "-jre-alpine", "-jdk-jammy"],
        ),
        ("ruby", &["3.2", "3.3", "3.4"], &["", "-slim", "-alpine"]),
        (
            "php",
            &["8.2", "8.3", "8.4"],
            &["-fpm", "-cli", "-apache", "-fpm-alpine"],
        ),
        ("alpine", &["3.18", "3.19", "3.20", "3.21"], &[""]),
        (
            "debian",
            &["bookworm", "bullseye", "trixie"],
            &["", "-slim"],
        ),
        ("ubuntu", &["20.04", "22.04", "24.04"], &[""]),
        ("nginx", &["1.25", "1.26", "1.27"], &["", "-alpine"]),
        (
            "mcr.microsoft.com/dotnet/aspnet",
            &["6.0", "8.0", "9.0"],
            &["", "-alpine", "-jammy"],
        ),
        (
            "mcr.microsoft.com/dotnet/sdk",
            &["6.0", "8.0", "9.0"],
            &["", "-alpine"],
        ),
        (
            "gcr.io/distroless/static-debian12",
            &["latest", "nonroot", "debug"],
            &[""],
        ),
        (
            "gcr.io/distroless/base-debian12",
            &["latest", "nonroot"],
            &[""],
        ),
        (
            "gcr.io/distroless/python3-debian12",
            &["latest", "nonroot"],
            &[""],
        ),
        (
            "gcr.io/distroless/java21-debian12",
            &["latest", "nonroot"],
            &[""],
        ),
        (
            "quay.io/keycloak/keycloak",
            &["24.0", "25.0", "26.0"],
            &[""],
        ),
        (
            "public.ecr.aws/lambda/python",
            &["3.11", "3.12"],
            &["", "-arm64"],
        ),
    ];
    let mut pool = Vec::new();
    for (repo, versions, variants) in families {
        for v in *versions {
            for variant in *variants {
                pool.push(Base {
                    repo: (*repo).to_owned(),
                    tag: format!("{v}{variant}"),
                });
            }
        }
    }
    let mut k = 0usize;
    while pool.len() < count {
        pool.push(Base {
            repo: format!("harbor.acme.internal/team-{}/runtime-{}", k % 97, k / 97),
            tag: format!("{}.{}", 1 + k % 5, k % 13),
        });
        k += 1;
    }
    pool.truncate(count.max(1));
    pool
}

/// Images copied from (`COPY --from=<image>`), a small realistic set.
const COPY_FROM: &[&str] = &[
    "ghcr.io/astral-sh/uv:0.5",
    "busybox:1.36",
    "gcr.io/kaniko-project/executor:v1.23.2",
    "docker.io/tonistiigi/xx:1.5.0",
];

struct Image {
    name: String,
    repo: String,
    gitlab: bool,
    dockerfile: String,
    text: String,
    build_args: Vec<(String, String)>,
    platform: Option<&'static str>,
}

/// Splits a base into an ARG-able FROM: `node:${NODE_VERSION}-alpine` with default `22`.
fn arg_from(base: &Base, arg: &str) -> (String, String) {
    let tag = &base.tag;
    let cut = tag.find('-').filter(|i| *i > 0).unwrap_or(tag.len());
    let (version, rest) = tag.split_at(cut);
    (
        format!("{}:${{{arg}}}{rest}", base.repo),
        version.to_owned(),
    )
}

fn dockerfile_text(
    rng: &mut Rng,
    pool: &[Base],
    org_bases: &[String],
    index: usize,
) -> (String, Vec<(String, String)>) {
    let mut text = String::new();
    let mut build_args = Vec::new();
    let _ = writeln!(text, "# syntax=docker/dockerfile:1");
    let _ = writeln!(
        text,
        "# Service {index}: generated by cargo xtask gen-corpus."
    );
    let build_base = rng.pick(pool).clone();
    let runtime = if !org_bases.is_empty() && rng.chance(12) {
        // A cascade: the organisation's own base image (a managed image).
        rng.pick(org_bases).clone()
    } else {
        rng.pick(pool).text()
    };
    match rng.below(4) {
        0 => {
            // Single stage.
            let _ = writeln!(text, "FROM {runtime}");
            let _ = writeln!(text, "WORKDIR /app\nCOPY . .");
            let _ = writeln!(
                text,
                "RUN apt-get update \\\n    && apt-get install -y --no-install-recommends ca-certificates curl \\\n    # keep the image small\n    && rm -rf /var/lib/apt/lists/*"
            );
            let _ = writeln!(text, "USER 10001\nCMD [\"/app/run\"]");
        }
        1 => {
            // Global ARG in FROM, sometimes overridden by buildArgs.
            let (from, default) = arg_from(&build_base, "BASE_VERSION");
            let _ = writeln!(text, "ARG BASE_VERSION={default}");
            let _ = writeln!(text, "ARG APP_ENV=production\n");
            let _ = writeln!(text, "FROM {from} AS build");
            let _ = writeln!(text, "ARG APP_ENV\nWORKDIR /src\nCOPY . .");
            let _ = writeln!(text, "RUN make build ENV=$APP_ENV");
            let _ = writeln!(text, "\nFROM build AS test\nRUN make test\n");
            let _ = writeln!(text, "FROM {runtime}");
            let _ = writeln!(text, "COPY --from=build /src/out /app");
            let _ = writeln!(text, "ENTRYPOINT [\"/app/server\"]");
            if rng.chance(30) {
                let other = pool
                    .iter()
                    .find(|b| b.repo == build_base.repo && b.tag != build_base.tag)
                    .map(|b| arg_from(b, "BASE_VERSION").1);
                if let Some(version) = other {
                    build_args.push(("BASE_VERSION".to_owned(), version));
                }
            }
        }
        2 => {
            // Cross-compilation with --platform and a COPY --from image.
            let _ = writeln!(
                text,
                "FROM --platform=$BUILDPLATFORM {} AS build",
                build_base.text()
            );
            let _ = writeln!(text, "ARG TARGETOS TARGETARCH");
            let _ = writeln!(text, "WORKDIR /src\nCOPY . .");
            let _ = writeln!(
                text,
                "RUN --mount=type=cache,target=/root/.cache \\\n    GOOS=$TARGETOS GOARCH=$TARGETARCH make release"
            );
            let _ = writeln!(text, "\nFROM {runtime}");
            let _ = writeln!(
                text,
                "COPY --from={} /bin/tool /usr/local/bin/tool",
                rng.pick(COPY_FROM)
            );
            let _ = writeln!(text, "COPY --from=build /src/dist/ /app/");
            let _ = writeln!(text, "ENTRYPOINT [\"/app/main\"]");
        }
        _ => {
            // Three stages, a mount from an image, lower-case instructions.
            let deps = rng.pick(pool).text();
            let _ = writeln!(text, "ARG RUNTIME={runtime}\n");
            let _ = writeln!(text, "from {deps} as deps");
            let _ = writeln!(
                text,
                "workdir /deps\ncopy requirements.txt .\nrun install-deps requirements.txt"
            );
            let _ = writeln!(text, "\nFROM {} AS build", build_base.text());
            let _ = writeln!(text, "COPY --from=deps /deps /deps");
            let _ = writeln!(
                text,
                "RUN --mount=type=bind,from={},source=/bin/busybox,target=/mnt/busybox \\\n    /mnt/busybox sh -c 'make all'",
                rng.pick(COPY_FROM)
            );
            let _ = writeln!(text, "\nFROM ${{RUNTIME}}");
            let _ = writeln!(text, "COPY --from=build /out /app\nCMD [\"/app/start\"]");
        }
    }
    (text, build_args)
}

/// Runs the task.
#[allow(clippy::print_stderr)] // xtask reports to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    let out = args.out.unwrap_or_else(|| {
        util::root()
            .join("target/corpus")
            .join(format!("images-{}", args.images))
    });
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    let factory = out.join("image-factory");
    let sources = out.join("sources");
    std::fs::create_dir_all(&factory)?;
    let mut rng = Rng::new(args.seed);
    let n = args.images;
    let pool = base_pool((n / 5).max(20));
    // ~1% of the images are organisation base images others build FROM (cascades).
    let org_count = (n / 100).max(1);
    let mut org_bases = Vec::new();
    let mut images = Vec::with_capacity(n);
    for i in 0..n {
        let is_org_base = i < org_count;
        let gitlab = rng.chance(10);
        let name = if is_org_base {
            format!("base-{i}")
        } else {
            format!("svc-{i}")
        };
        let repo = if gitlab {
            format!("group-{}/sub-{}/{name}", i % 37, i % 5)
        } else {
            format!("org-{}/{name}", i % 53)
        };
        let dockerfile = match rng.below(3) {
            0 => "Dockerfile".to_owned(),
            1 => format!("docker/{name}/Dockerfile"),
            _ => "build/Dockerfile".to_owned(),
        };
        let (text, build_args) = if is_org_base {
            let base = rng.pick(&pool).text();
            (
                format!(
                    "# Organisation base image.\nFROM {base}\nRUN install-ca-bundle && useradd -u 10001 app\nUSER app\n"
                ),
                Vec::new(),
            )
        } else {
            dockerfile_text(&mut rng, &pool, &org_bases, i)
        };
        let platform = if rng.chance(10) {
            Some("linux/arm64")
        } else {
            None
        };
        if is_org_base {
            org_bases.push(format!("ghcr.io/acme/{name}:1"));
        }
        images.push(Image {
            name,
            repo,
            gitlab,
            dockerfile,
            text,
            build_args,
            platform,
        });
    }

    let mut yaml = String::with_capacity(n * 200);
    yaml.push_str("# Generated by cargo xtask gen-corpus: a fleet for benchmarks.\n");
    for image in &images {
        let _ = writeln!(yaml, "- name: {}", image.name);
        if image.gitlab {
            let _ = writeln!(yaml, "  registry: registry.gitlab.com");
            let _ = writeln!(yaml, "  repository: {}", image.repo);
        } else {
            let _ = writeln!(yaml, "  repository: acme/{}", image.name);
        }
        let _ = writeln!(yaml, "  source:");
        if image.gitlab {
            let _ = writeln!(yaml, "    provider: gitlab");
        }
        let _ = writeln!(yaml, "    repo: {}", image.repo);
        let _ = writeln!(yaml, "    dockerfile: {}", image.dockerfile);
        if !image.build_args.is_empty() {
            let _ = writeln!(yaml, "    buildArgs:");
            for (k, v) in &image.build_args {
                let _ = writeln!(yaml, "      {k}: \"{v}\"");
            }
        }
        if let Some(p) = image.platform {
            let _ = writeln!(yaml, "    platform: {p}");
        }
        let _ = writeln!(yaml, "  rebuildDelay: {}d", 1 + image.name.len() % 7);
        let dir = sources.join(&image.repo);
        let path = dir.join(&image.dockerfile);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &image.text)?;
    }
    for (k, ext) in ["postgres:16", "redis:7.4", "rabbitmq:3.13"]
        .iter()
        .enumerate()
    {
        let (repo, tag) = ext.split_once(':').unwrap_or((ext, "latest"));
        let _ = writeln!(
            yaml,
            "- name: external-{k}\n  registry: docker.io\n  repository: library/{repo}\n  tag: \"{tag}\""
        );
    }
    std::fs::write(factory.join("images.yaml"), yaml)?;
    std::fs::write(
        factory.join("factory.yaml"),
        // A state repository, so synth emits the analysis and observe templates and the trigger
        // CronJob too: the benchmark and `synth --validate` then cover every kind of object.
        "# Generated by cargo xtask gen-corpus.\nproject: corpus\n\
         stateRepo: {url: 'https://github.com/acme/corpus.git'}\n",
    )?;
    eprintln!(
        "gen-corpus: {} images ({} organisation bases, ~{} upstream bases) in {}",
        n,
        org_count,
        pool.len(),
        out.display()
    );
    Ok(())
}
