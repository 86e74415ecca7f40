//! Benchmark of synthesis on a generated fleet (SPEC §12: 10,000 images, ~2,000 distinct bases,
//! < 1 s, peak RSS < 300 MB). Run in release mode:
//!
//! ```text
//! cargo run --release -p image-factory-synth --example fleet_bench -- 10000 2000
//! /usr/bin/time -v target/release/examples/fleet_bench 10000 2000   # peak RSS
//! ```
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use std::time::Instant;

use image_factory_synth::{fleet, synthesize};
use model::settings::Settings;

fn main() {
    let mut args = std::env::args().skip(1);
    let images: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let bases: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let t = Instant::now();
    let (fleet, state) = fleet::generate(images, bases);
    let generated = t.elapsed();
    let mut settings = Settings::default();
    settings.state_repo.url = Some("https://github.com/acme/factory.git".to_owned());
    let t = Instant::now();
    let manifest = synthesize(&fleet, &settings, &state).expect("synth");
    let synth = t.elapsed();
    println!(
        "fleet: {images} images, {} bases (generated in {:.0?})\nsynth: {} objects, {:.1} MiB of YAML, checks included: {} ms",
        state.bases.len(),
        generated,
        manifest.objects.len(),
        manifest.yaml.len() as f64 / (1024.0 * 1024.0),
        synth.as_millis()
    );
}
