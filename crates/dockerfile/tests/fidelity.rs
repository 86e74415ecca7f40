//! Our own BuildKit-fidelity cases (`tests/fidelity/`), in the shared corpus's format and compared
//! field by field the same way: line continuation after an escaped escape token, and the build args
//! BuildKit predefines (or does not) for FROM lines. The expected answers cite BuildKit's source in
//! `tests/fidelity/expected.yaml`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::path::Path;

#[test]
fn fidelity_cases_agree_with_buildkit() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity");
    let expected = common::read_expected(&dir.join("expected.yaml"));
    let mut failures = Vec::new();
    let mut fields = 0;
    for case in &expected.cases {
        let src = std::fs::read(dir.join(&case.file)).unwrap();
        let c = common::compare(&src, case);
        fields += c.fields;
        if !c.mismatches.is_empty() {
            failures.push(format!("{}: {}", case.file, c.mismatches.join("; ")));
        }
    }
    eprintln!("fidelity: {} cases, {fields} fields", expected.cases.len());
    assert_eq!(expected.cases.len(), 28);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
