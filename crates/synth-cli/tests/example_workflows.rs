//! Every `synth` command line in the example CI files (`examples/`, used by the state repository's
//! synth workflows) uses flags the binary accepts; the `analyzer` ones are checked in
//! `crates/analyzer/tests/example_workflows.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The flags of each line of `text` that runs `synth` (a YAML `run:` value, a list item, or a
/// shell line).
fn synth_flags(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("- ").unwrap_or(line);
            let line = line.strip_prefix("run: ").unwrap_or(line);
            let rest = line.strip_prefix("synth ")?;
            Some(
                rest.split_whitespace()
                    .take_while(|w| !["||", "&&", ";", "|"].contains(w))
                    .filter_map(|w| w.strip_prefix("--"))
                    .map(|f| format!("--{}", f.split('=').next().unwrap_or(f)))
                    .collect(),
            )
        })
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_synth_command_in_the_examples_uses_flags_it_accepts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_synth"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    let mut commands = 0;
    for dir in ["examples/github", "examples/gitlab"] {
        for file in files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for flags in synth_flags(&text) {
                commands += 1;
                for flag in flags {
                    assert!(
                        help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                        "{}: synth has no {flag}",
                        file.display()
                    );
                }
            }
        }
    }
    // synth.yml's drift check and regeneration, and the GitLab state repository's.
    assert!(commands >= 4, "only {commands} synth commands found");
}

#[test]
fn the_scan_finds_commands_and_their_flags() {
    let text = "      - run: synth --factory-dir \"$F\" --out=x --check || exit 1\n  echo synth\n";
    assert_eq!(
        synth_flags(text),
        [vec!["--factory-dir", "--out", "--check"]]
    );
}
