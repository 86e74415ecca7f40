//! `cargo xtask fuzz`: a coverage-guided run of the cargo-fuzz targets `analyze` (whole
//! Dockerfiles) and `expand` (the expansion grammar, seeded with deep nesting) of
//! `crates/dockerfile/fuzz` on the stable toolchain. See docs/fuzzing.md.
//!
//! `cargo fuzz` itself needs nightly (for the sanitizers); the coverage instrumentation libFuzzer
//! needs is plain `-C` options, so this task builds the same target with cargo-fuzz's coverage flags
//! for the host triple (which keeps them off build scripts) and runs it for `--seconds`, seeded
//! with the committed regressions, the repository's Dockerfiles and the shared corpus. A failing
//! input is saved under `target/fuzz/artifacts/`; replay it with `cargo test -p
//! image-factory-dockerfile --test fuzz_replay` after copying it into `fuzz/regressions/`.
//! With `--afl`: the same checker under AFL++ through `cargo afl` (needs `cargo install cargo-afl`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How long to fuzz each target, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Only this target (`analyze` or `expand`); both by default.
    #[arg(long, value_parser = ["analyze", "expand"])]
    target: Option<String>,
    /// Fuzz with AFL++ (`cargo afl`) instead of libFuzzer.
    #[arg(long)]
    afl: bool,
}

const MANIFEST: &str = "crates/dockerfile/fuzz/Cargo.toml";

/// What `cargo fuzz build` passes to rustc for libFuzzer's coverage feedback (no sanitizer).
const COVERAGE_FLAGS: &str = "--cfg fuzzing -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    -Cdebug-assertions -Coverflow-checks";

/// Read-only seed directories of `target`: for `analyze` the committed regressions, the example
/// and hostile sources and the shared corpus; for `expand` its own seeds.
fn seed_dirs(target: &str) -> Vec<PathBuf> {
    let root = util::root();
    if target == "expand" {
        return vec![root.join("crates/dockerfile/fuzz/seeds/expand")];
    }
    let corpus = std::env::var_os("IMAGE_FACTORY_CORPUS")
        .map_or_else(|| root.join("../shared/corpus"), PathBuf::from);
    [
        root.join("crates/dockerfile/fuzz/regressions"),
        root.join("fixtures/sources"),
        root.join("fixtures/hostile/sources"),
        corpus,
    ]
    .into_iter()
    .filter(|d| d.is_dir())
    .collect()
}

/// The host's target triple (`rustc -vV`).
fn host_triple() -> anyhow::Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV printed no host")
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let target = util::root().join("target/fuzz");
    if args.afl {
        return run_afl(&args, &target);
    }
    let host = host_triple()?;
    let targets = match &args.target {
        Some(t) => vec![t.as_str()],
        None => vec!["analyze", "expand"],
    };
    for name in targets {
        fuzz_target(name, args.seconds, &host, &target)?;
    }
    Ok(())
}

/// Builds the libFuzzer target `name` with coverage and runs it for `seconds`.
fn fuzz_target(name: &str, seconds: u64, host: &str, target: &Path) -> anyhow::Result<()> {
    util::run(
        util::cargo()
            .args(["build", "--release", "--bin", name])
            .args([
                "--manifest-path",
                MANIFEST,
                "--target",
                host,
                "--target-dir",
            ])
            .arg(target)
            .env("RUSTFLAGS", COVERAGE_FLAGS),
    )?;
    // libFuzzer adds what it finds to the first directory and only reads the others.
    let work = target.join("corpus").join(name);
    let artifacts = target.join("artifacts");
    std::fs::create_dir_all(&work).context("cannot create the fuzz corpus dir")?;
    std::fs::create_dir_all(&artifacts).context("cannot create the artifacts dir")?;
    let mut prefix = artifacts.into_os_string();
    prefix.push("/");
    let mut cmd = Command::new(target.join(host).join("release").join(name));
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg({
            let mut a = std::ffi::OsString::from("-artifact_prefix=");
            a.push(&prefix);
            a
        })
        .arg("-print_final_stats=1")
        .arg(&work)
        .args(seed_dirs(name));
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
    for d in seed_dirs("analyze") {
        copy_seeds(&d, &seeds, &mut n)?;
    }
    if n == 0 {
        bail!("no seed Dockerfiles found");
    }
    util::run(
        util::cargo()
            .args(["afl", "build", "--release", "--no-default-features"])
            .args(["--features", "afl", "--bin", "afl_analyze"])
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
            .arg(target.join("release/afl_analyze"))
            .env("AFL_NO_UI", "1")
            .env("AFL_SKIP_CPUFREQ", "1")
            .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1"),
    )
}
