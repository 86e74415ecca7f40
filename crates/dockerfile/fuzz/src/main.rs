//! Fuzz target for `image_factory_dockerfile::analyze`.
//!
//! * `--features afl`, built with `cargo afl build`: the AFL++ entry point (coverage-guided).
//! * default: a self-contained smoke fuzzer — mutates seed Dockerfiles (byte flips, Dockerfile
//!   tokens, splices, truncation) for a fixed time and runs the harness on each input, stopping at
//!   the first panic or broken invariant and saving the input. `cargo xtask fuzz` runs this mode.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use image_factory_dockerfile::{Options, Platform, StageKind, analyze};

/// Runs the analysis on `data` under several option sets and checks the invariants every result
/// must hold. Panics (the fuzzer's signal) when one does not.
pub fn harness(data: &[u8]) {
    let mut arm = Options {
        platform: Platform {
            os: "linux".into(),
            arch: "arm64".into(),
            variant: "v8".into(),
        },
        ..Options::default()
    };
    arm.build_args.insert("TAG".into(), "1.0".into());
    arm.build_args.insert("BASE".into(), "alpine".into());
    for opts in [Options::default(), arm] {
        let a = analyze(data, &opts);
        for (i, st) in a.stages.iter().enumerate() {
            assert_eq!(st.index, i, "stage index");
            if let Some(span) = st.from_span {
                assert!(
                    span.start <= span.end && span.end <= data.len(),
                    "span in bounds"
                );
                assert_eq!(&data[span.start..span.end], st.from.as_bytes(), "span text");
            }
            if let Some(r) = st.stage_ref {
                assert!(r < i, "stage refs point backwards");
            }
            assert_eq!(
                st.kind == StageKind::Image,
                st.reference.is_some(),
                "kind/reference"
            );
            if st.kind == StageKind::Error {
                assert!(
                    a.errors.iter().any(|d| d.stage == Some(i)),
                    "error stage without diagnostic"
                );
            }
        }
        for r in &a.base_images {
            assert!(
                a.stages.iter().any(|s| s.reference.as_ref() == Some(r)),
                "base image not from a stage"
            );
        }
        assert!(
            !a.stages.is_empty() || !a.errors.is_empty(),
            "no stages, no error"
        );
        for d in &a.errors {
            let _ = d.error.to_string();
        }
    }
}

#[cfg(feature = "afl")]
fn main() {
    afl::fuzz!(|data: &[u8]| {
        harness(data);
    });
}

#[cfg(not(feature = "afl"))]
fn main() -> std::process::ExitCode {
    smoke::main()
}

#[cfg(not(feature = "afl"))]
mod smoke {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    const TOKENS: &[&str] = &[
        "FROM ",
        "from ",
        "ARG ",
        "ENV ",
        "RUN ",
        "COPY ",
        "ONBUILD ",
        " AS ",
        " as ",
        "${",
        "}",
        "$",
        ":-",
        ":+",
        ":?",
        "#",
        "##",
        "%",
        "%%",
        "/",
        "//",
        "\\\n",
        "`\n",
        "\r\n",
        "\n",
        "<<EOF\n",
        "<<-EOF\n",
        "EOF\n",
        "\tEOF\n",
        "'",
        "\"",
        "--platform=",
        "--from=",
        "--mount=type=cache,from=",
        "# escape=`\n",
        "# syntax=docker/dockerfile:1\n",
        "@sha256:",
        ":latest",
        "scratch",
        "\u{feff}",
        "[\"a\", [1]]",
        "TARGETARCH",
        "0",
        "=",
    ];

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
    }

    fn collect(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_none_or(|x| x != "yaml" && x != "md")
                && let Ok(b) = std::fs::read(&p)
                && b.len() < 64 * 1024
            {
                out.push(b);
            }
        }
    }

    fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
        for _ in 0..=rng.below(8) {
            match rng.below(6) {
                0 if !input.is_empty() => {
                    let i = rng.below(input.len());
                    input[i] ^= 1 << rng.below(8);
                }
                1 => {
                    let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                    let at = rng.below(input.len() + 1);
                    input.splice(at..at, t.iter().copied());
                }
                2 if !input.is_empty() => {
                    let a = rng.below(input.len());
                    let b = (a + rng.below(16)).min(input.len());
                    input.drain(a..b);
                }
                3 if !seeds.is_empty() => {
                    let other = &seeds[rng.below(seeds.len())];
                    let from = rng.below(other.len() + 1);
                    let to = (from + rng.below(256)).min(other.len());
                    let at = rng.below(input.len() + 1);
                    input.splice(at..at, other[from..to].iter().copied());
                }
                4 => input.truncate(rng.below(input.len() + 1)),
                _ => {
                    let at = rng.below(input.len() + 1);
                    input.insert(at, (rng.next() & 0xff) as u8);
                }
            }
        }
    }

    pub fn main() -> ExitCode {
        let mut seconds = 30u64;
        let mut seed_dirs: Vec<PathBuf> = Vec::new();
        let mut crash_dir = PathBuf::from("fuzz-crashes");
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(30),
                "--seeds" => seed_dirs.extend(args.next().map(PathBuf::from)),
                "--crashes" => crash_dir = args.next().map(PathBuf::from).unwrap_or(crash_dir),
                other => {
                    eprintln!(
                        "usage: fuzz-dockerfile [--seconds N] [--seeds DIR]... [--crashes DIR] (got {other})"
                    );
                    return ExitCode::from(2);
                }
            }
        }
        let mut seeds = Vec::new();
        for d in &seed_dirs {
            collect(d, &mut seeds);
        }
        if seeds.is_empty() {
            seeds.push(b"ARG V=1\nFROM alpine:$V AS a\nFROM a\nCOPY --from=x:1 / /\n".to_vec());
        }
        // Every seed once, unmutated.
        for s in &seeds {
            if let Err(code) = run_one(s, &crash_dir) {
                return code;
            }
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let mut rng = Rng(nanos | 1);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut execs = 0u64;
        let mut input = Vec::new();
        while Instant::now() < deadline {
            for _ in 0..64 {
                input.clear();
                if rng.below(8) == 0 {
                    // Pure random bytes now and then.
                    let n = rng.below(512);
                    input.extend((0..n).map(|_| (rng.next() & 0xff) as u8));
                } else {
                    input.extend_from_slice(&seeds[rng.below(seeds.len())]);
                    mutate(&mut rng, &seeds, &mut input);
                }
                if let Err(code) = run_one(&input, &crash_dir) {
                    return code;
                }
                execs += 1;
            }
        }
        println!(
            "fuzz-dockerfile: {execs} mutated inputs + {} seeds in {seconds} s, no panic, invariants held",
            seeds.len()
        );
        ExitCode::SUCCESS
    }

    fn run_one(data: &[u8], crash_dir: &Path) -> Result<(), ExitCode> {
        let owned = data.to_vec();
        if std::panic::catch_unwind(move || super::harness(&owned)).is_ok() {
            return Ok(());
        }
        let _ = std::fs::create_dir_all(crash_dir);
        let name = format!("crash-{:016x}", fnv(data));
        let path = crash_dir.join(name);
        let _ = std::fs::write(&path, data);
        eprintln!(
            "fuzz-dockerfile: harness failed; input saved to {}",
            path.display()
        );
        Err(ExitCode::FAILURE)
    }

    fn fnv(data: &[u8]) -> u64 {
        data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        })
    }
}
