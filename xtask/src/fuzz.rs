//! `cargo xtask fuzz`: a short smoke run of the fuzz targets (not part of CI). See docs/fuzzing.md.
//!
//! Default: the self-contained smoke fuzzer of `crates/dockerfile/fuzz` (mutations of the shared
//! corpus and of `fixtures/dockerfiles`, plus random bytes) for `--seconds`. With `--afl`: the same
//! harness under AFL++ through `cargo afl` (needs `cargo install cargo-afl`).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How long to fuzz, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Fuzz with AFL++ (`cargo afl`) instead of the built-in smoke fuzzer.
    #[arg(long)]
    afl: bool,
}

const MANIFEST: &str = "crates/dockerfile/fuzz/Cargo.toml";

fn corpus() -> PathBuf {
    std::env::var_os("IMAGE_FACTORY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("../shared/corpus"))
}

fn seed_dirs() -> Vec<PathBuf> {
    [corpus(), util::root().join("fixtures/dockerfiles")]
        .into_iter()
        .filter(|d| d.is_dir())
        .collect()
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let root = util::root();
    let target = root.join("target/fuzz");
    if args.afl {
        return run_afl(&args, &target);
    }
    let mut cmd = util::cargo();
    cmd.args([
        "run",
        "--release",
        "--manifest-path",
        MANIFEST,
        "--target-dir",
    ])
    .arg(&target)
    .args(["--", "--seconds", &args.seconds.to_string(), "--crashes"])
    .arg(target.join("crashes"));
    for d in seed_dirs() {
        cmd.arg("--seeds").arg(d);
    }
    util::run(&mut cmd)
}

fn copy_seeds(dir: &Path, into: &Path, n: &mut usize) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            copy_seeds(&path, into, n)?;
        } else if path.extension().is_none_or(|e| e != "yaml" && e != "md")
            && std::fs::metadata(&path)?.len() < 16 * 1024
        {
            *n += 1;
            std::fs::copy(&path, into.join(format!("seed-{n:04}")))?;
        }
    }
    Ok(())
}

fn run_afl(args: &Args, target: &Path) -> anyhow::Result<()> {
    let seeds = target.join("afl-in");
    let _ = std::fs::remove_dir_all(&seeds);
    std::fs::create_dir_all(&seeds).context("cannot create the AFL seed dir")?;
    let mut n = 0;
    for d in seed_dirs() {
        copy_seeds(&d, &seeds, &mut n)?;
    }
    if n == 0 {
        std::fs::write(
            seeds.join("seed-0000"),
            "ARG V=1\nFROM alpine:$V AS a\nFROM a\n",
        )?;
    }
    util::run(
        util::cargo()
            .args(["afl", "build", "--release", "--features", "afl"])
            .args(["--manifest-path", MANIFEST, "--target-dir"])
            .arg(target),
    )?;
    util::run(
        util::cargo()
            .args(["afl", "fuzz", "-i"])
            .arg(&seeds)
            .arg("-o")
            .arg(target.join("afl-out"))
            .args(["-V", &args.seconds.to_string()])
            .arg(target.join("release/fuzz-dockerfile"))
            .env("AFL_NO_UI", "1")
            .env("AFL_SKIP_CPUFREQ", "1")
            .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1"),
    )
}
