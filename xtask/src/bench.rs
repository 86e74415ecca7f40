//! `cargo xtask bench`: runs the benchmarks and prints the SPEC §12 table.
//!
//! Built so far: Dockerfile discovery throughput (`crates/dockerfile/benches/discovery.rs`, a
//! release-mode timing loop over a generated corpus of realistic Dockerfiles). The other rows of the
//! table are filled in by the issues that build `analyze`, `synth` and `check`.

use std::process::Stdio;

use anyhow::{Context, bail};

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the benchmarks and prints the table.
#[allow(clippy::print_stdout, clippy::print_stderr)] // xtask reports to its user
pub fn run(_args: Args) -> anyhow::Result<()> {
    let mut cmd = util::cargo();
    cmd.args([
        "bench",
        "-p",
        "image-factory-dockerfile",
        "--bench",
        "discovery",
    ])
    .current_dir(util::root())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    eprintln!("$ cargo bench -p image-factory-dockerfile --bench discovery");
    let out = cmd.output().context("cannot start cargo bench")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{stdout}");
    if !out.status.success() {
        bail!("cargo bench failed ({})", out.status);
    }
    let discovery = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT discovery_mb_per_s "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .context("the discovery bench printed no RESULT line")?;

    let rows: [(&str, String, &str, &str); 5] = [
        (
            "discovery throughput",
            format!("{discovery:.1} MB/s"),
            ">= 50 MB/s",
            if discovery >= 50.0 { "ok" } else { "MISSED" },
        ),
        (
            "analyze, 10,000 images",
            "not built yet".into(),
            "< 2 s",
            "-",
        ),
        (
            "analyze no-op rerun",
            "not built yet".into(),
            "< 0.5 s, 0 bytes",
            "-",
        ),
        (
            "synth, 10,000 images",
            "not built yet".into(),
            "< 1 s, < 300 MB RSS",
            "-",
        ),
        (
            "check, 1,000 bases",
            "not built yet".into(),
            "< 5 s, 1 HEAD/tag",
            "-",
        ),
    ];
    println!("| benchmark | measured | target (SPEC §12) | |");
    println!("|---|---|---|---|");
    for (name, measured, target, verdict) in rows {
        println!("| {name} | {measured} | {target} | {verdict} |");
    }
    Ok(())
}
