//! `cargo xtask pipeline`: the main job on a factory dir, end to end (SPEC §10): validate the
//! configuration, analyse the Dockerfiles into state, synthesise the manifests and the build
//! workflows of images without one, validate the manifests.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The factory dir.
    #[arg(long, default_value = "image-factory")]
    factory_dir: PathBuf,
    /// Source checkouts for `analyzer analyze --source-root` (default: `fixtures/sources`, the
    /// sources of the bundled example).
    #[arg(long, default_value = "fixtures/sources")]
    source_root: PathBuf,
    /// Where the manifests are written.
    #[arg(long, default_value = "dist/image-factory.k8s.yaml")]
    out: PathBuf,
    /// Where the build workflows of images without one are written (`synth --workflows`): the
    /// example keeps them in its factory dir (the repository's own `.github/` is its CI).
    #[arg(long, default_value = "image-factory")]
    workflows: PathBuf,
}

fn bin(name: &str, package: &str) -> Command {
    let mut cmd = util::cargo();
    cmd.args(["run", "--quiet", "-p", package, "--bin", name, "--"]);
    cmd
}

/// Runs validate → analyze → synth → validate manifests and prints a summary.
#[allow(clippy::print_stderr)] // xtask reports progress to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = &args.factory_dir;
    util::run(
        bin("analyzer", "analyzer")
            .args(["validate", "--factory-dir"])
            .arg(dir),
    )?;
    analyze(dir, &args.source_root)?;
    util::run(
        bin("synth", "synth-cli")
            .arg("--factory-dir")
            .arg(dir)
            .arg("--out")
            .arg(&args.out),
    )?;
    util::run(
        bin("synth", "synth-cli")
            .arg("--factory-dir")
            .arg(dir)
            .arg("--workflows")
            .arg(&args.workflows),
    )?;
    let mut validate = bin("synth", "synth-cli");
    validate.arg("--validate").arg(&args.out);
    if let Some(schemas) = schema_dir()? {
        validate.arg("--schemas").arg(schemas);
    }
    util::run(&mut validate)?;
    let text = std::fs::read_to_string(util::root().join(&args.out))
        .with_context(|| format!("cannot read {}", args.out.display()))?;
    let count = |kind: &str| {
        text.lines()
            .filter(|l| *l == format!("kind: {kind}"))
            .count()
    };
    eprintln!(
        "pipeline: {} validated and analysed; {} written: {} Warehouses, {} Stages, {} AnalysisTemplates, {} CronJob, {} objects in all",
        dir.display(),
        args.out.display(),
        count("Warehouse"),
        count("Stage"),
        count("AnalysisTemplate"),
        count("CronJob"),
        text.lines().filter(|l| l.starts_with("kind: ")).count(),
    );
    Ok(())
}

/// The Kargo JSON Schemas (`IMAGE_FACTORY_KARGO_SCHEMAS`, default `../shared/kargo/json-schema`
/// beside the repository): `None` when missing, an error when missing under `CI`.
pub fn schema_dir() -> anyhow::Result<Option<PathBuf>> {
    let schemas = std::env::var_os("IMAGE_FACTORY_KARGO_SCHEMAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("../shared/kargo/json-schema"));
    if schemas.join("strict").is_dir() {
        Ok(Some(schemas))
    } else if std::env::var_os("CI").is_some() {
        bail!(
            "Kargo JSON Schemas not found at {} (set IMAGE_FACTORY_KARGO_SCHEMAS)",
            schemas.display()
        )
    } else {
        Ok(None)
    }
}

/// `analyzer analyze` with a fixed clock, so the example's state is reproducible.
fn analyze(dir: &Path, source_root: &Path) -> anyhow::Result<()> {
    util::run(
        bin("analyzer", "analyzer")
            .args(["analyze", "--factory-dir"])
            .arg(dir)
            .arg("--source-root")
            .arg(source_root)
            .args(["--now", "2026-01-01T00:00:00Z"]),
    )
}
