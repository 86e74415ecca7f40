//! `cargo xtask synth`: what CI runs for the generated files: regenerates the example's
//! `dist/image-factory.k8s.yaml` and its build workflows (`synth --workflows`, kept in
//! `image-factory/.github/workflows/`) from `image-factory/` in memory and fails when a committed
//! file differs (`--write` updates them instead), then validates the manifest with `synth --validate`.

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write the regenerated file instead of failing on drift.
    #[arg(long)]
    write: bool,
    /// The factory dir.
    #[arg(long, default_value = "image-factory")]
    factory_dir: std::path::PathBuf,
    /// The manifest file.
    #[arg(long, default_value = "dist/image-factory.k8s.yaml")]
    out: std::path::PathBuf,
    /// Where the build workflows are kept (`synth --workflows DIR`).
    #[arg(long, default_value = "image-factory")]
    workflows: std::path::PathBuf,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut synth = util::cargo();
    synth
        .args(["run", "--quiet", "-p", "synth-cli", "--bin", "synth", "--"])
        .arg("--factory-dir")
        .arg(&args.factory_dir)
        .arg("--out")
        .arg(&args.out);
    if !args.write {
        synth.arg("--check");
    }
    util::run(&mut synth)?;
    let mut workflows = util::cargo();
    workflows
        .args(["run", "--quiet", "-p", "synth-cli", "--bin", "synth", "--"])
        .arg("--factory-dir")
        .arg(&args.factory_dir)
        .arg("--workflows")
        .arg(&args.workflows);
    if !args.write {
        workflows.arg("--check");
    }
    util::run(&mut workflows)?;
    let mut validate = util::cargo();
    validate
        .args(["run", "--quiet", "-p", "synth-cli", "--bin", "synth", "--"])
        .arg("--validate")
        .arg(&args.out);
    if let Some(schemas) = crate::pipeline::schema_dir()? {
        validate.arg("--schemas").arg(schemas);
    }
    util::run(&mut validate)
}
