//! The invariants every analysis must hold, whatever the input: one checker shared by the property
//! tests (`tests/properties.rs`), the fuzz-corpus replay (`tests/fuzz_replay.rs`) and the cargo-fuzz
//! target (`fuzz/fuzz_targets/analyze.rs`, which includes this file by path). It panics, the signal
//! both harnesses understand, naming the invariant that broke.
//!
//! Only `std` and the crate's public API are used here, so the fuzz package can include it as is.

#![allow(dead_code, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashSet;

use image_factory_dockerfile::{Analysis, DockerfileError, Options, Platform, StageKind, analyze};

/// The option sets every input is analysed under: the default platform without build args, and
/// another platform with build args that generated and seed files use.
pub fn option_sets() -> [Options; 2] {
    let mut arm = Options {
        platform: Platform {
            os: "linux".into(),
            arch: "arm64".into(),
            variant: "v8".into(),
        },
        ..Options::default()
    };
    for (k, v) in [("TAG", "1.0"), ("BASE", "alpine"), ("V", "x")] {
        arm.build_args.insert(k.into(), v.into());
    }
    [Options::default(), arm]
}

/// Analyses `data` under every [`option_sets`] entry and checks each result.
pub fn check(data: &[u8]) {
    for opts in option_sets() {
        let a = analyze(data, &opts);
        check_analysis(data, &a);
    }
}

/// The expansion grammar alone: `word` (one line) placed everywhere BuildKit expands words before
/// a build — a meta `ARG` default, a `FROM` image, a `--platform` value, `COPY --from` — then the
/// invariants of [`check`]. Deep nesting and bombs must end in an error of their own stage.
pub fn check_expansion(word: &[u8]) {
    let word: Vec<u8> = word
        .iter()
        .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
        .collect();
    let mut file = Vec::with_capacity(word.len() * 4 + 64);
    for (prefix, suffix) in [
        (&b"ARG W="[..], &b"\n"[..]),
        (b"FROM ", b"\n"),
        (b"FROM --platform=", b" alpine\n"),
        (b"COPY --from=", b" /a /b\n"),
    ] {
        file.extend_from_slice(prefix);
        file.extend_from_slice(&word);
        file.extend_from_slice(suffix);
    }
    check(&file);
}

/// The invariants of one analysis of `data`.
pub fn check_analysis(data: &[u8], a: &Analysis) {
    let text = String::from_utf8_lossy(data);
    // Lines the file has (a final line without newline counts; an empty file has line 1).
    let lines = text.split_inclusive('\n').count().max(1);
    let in_file = |what: &str, line: usize| {
        assert!(
            (1..=lines).contains(&line),
            "{what} on line {line}, outside the file's 1..={lines}"
        );
    };

    for (i, st) in a.stages.iter().enumerate() {
        assert_eq!(st.index, i, "stage index");
        in_file("stage", st.line);
        if let Some(span) = st.from_span {
            assert!(
                span.start <= span.end && span.end <= data.len(),
                "span {span:?} outside the {} bytes",
                data.len()
            );
            assert_eq!(&data[span.start..span.end], st.from.as_bytes(), "span text");
        }
        if let Some(r) = st.stage_ref {
            assert!(r < i, "stage {i} refers forward to {r}");
        }
        assert_eq!(
            st.kind == StageKind::Image,
            st.reference.is_some(),
            "a stage has a reference iff it is an image"
        );
        assert_eq!(
            st.kind == StageKind::Stage,
            st.stage_ref.is_some(),
            "a stage has a stage_ref iff it is a stage reference"
        );
        if st.kind == StageKind::Error {
            assert!(
                a.errors.iter().any(|d| d.stage == Some(i)),
                "error stage {i} without its diagnostic"
            );
        }
        if i > 0 {
            assert!(a.stages[i - 1].line < st.line, "stages in line order");
        }
    }

    // A base is listed once, and every image stage's base is listed (SPEC §11 #13, #12).
    let listed: Vec<String> = a.base_images.iter().map(|r| r.normalized()).collect();
    let distinct: HashSet<&String> = listed.iter().collect();
    assert_eq!(
        distinct.len(),
        listed.len(),
        "a base listed twice: {listed:?}"
    );
    for st in &a.stages {
        if let Some(n) = st.normalized() {
            assert!(listed.contains(&n), "image {n} missing from base_images");
        }
    }
    for r in &a.base_images {
        assert!(
            a.stages.iter().any(|s| s.reference.as_ref() == Some(r)),
            "base image {r} not from a stage"
        );
    }

    for d in &a.errors {
        in_file("error", d.line);
        if let Some(s) = d.stage {
            assert!(s < a.stages.len(), "error of stage {s} that does not exist");
        }
        assert!(!d.error.to_string().is_empty(), "empty error message");
    }
    assert!(
        a.errors.windows(2).all(|w| w[0].line <= w[1].line),
        "errors in line order"
    );
    for w in &a.warnings {
        in_file("warning", w.line);
    }
    for r in &a.other_refs {
        in_file("other reference", r.line);
    }
    assert!(
        !a.stages.is_empty() || !a.errors.is_empty(),
        "no stages and no error"
    );
    assert!(
        matches!(a.escape, '\\' | '`'),
        "escape token {:?}",
        a.escape
    );

    every_from_line_is_a_stage(&text, a);
}

/// Every `FROM` instruction is found (SPEC §11 #12): checked where instructions are one physical
/// line each — no continuation character, no heredoc, and reading not stopped by a bad directive —
/// so the instructions can be told from the lines without a second parser.
fn every_from_line_is_a_stage(text: &str, a: &Analysis) {
    let stopped = a.errors.iter().any(|d| {
        matches!(
            d.error,
            DockerfileError::InvalidEscape(_)
                | DockerfileError::RepeatedDirective(_)
                | DockerfileError::UnterminatedHeredoc
        )
    });
    if stopped || text.contains(['\\', '`']) || text.contains("<<") {
        return;
    }
    for (i, line) in text.split('\n').enumerate() {
        let line = if i == 0 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        let line = line.trim_end_matches(['\r', '\n']).trim_start();
        if line.starts_with('#') {
            continue;
        }
        // BuildKit's command word ends at `[\t\v\f\r ]`.
        let word = line
            .split(['\t', '\x0b', '\x0c', '\r', ' '])
            .next()
            .unwrap_or_default();
        if word.eq_ignore_ascii_case("from") {
            assert!(
                a.stages.iter().any(|s| s.line == i + 1),
                "FROM on line {} is not a stage",
                i + 1
            );
        }
    }
}
