//! `analyzer validate`: exit status and diagnostics on the example factory dir, the legacy
//! `images.yaml` and every case of `fixtures/bad-config/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .env_remove("IMAGE_FACTORY_LOG")
        .output()
        .expect("analyzer runs")
}

fn validate_json(dir: &Path) -> (i32, Vec<serde_json::Value>) {
    let out = analyzer(&[
        "validate",
        "--format",
        "json",
        "--factory-dir",
        dir.to_str().unwrap(),
    ]);
    let diags: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: bad JSON ({e}): {:?}", dir.display(), out));
    (out.status.code().unwrap_or(-1), diags)
}

fn position(d: &serde_json::Value) -> String {
    let file = Path::new(d["file"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    format!("{file}:{}:{}", d["line"], d["column"])
}

#[test]
fn example_factory_dir_is_valid() {
    let (code, diags) = validate_json(&root().join("image-factory"));
    assert_eq!(code, 0, "{diags:#?}");
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn every_bad_config_exits_2_at_the_right_place() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/bad-config"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 25);
    for dir in dirs {
        let (code, diags) = validate_json(&dir);
        assert_eq!(code, 2, "{}: {diags:#?}", dir.display());
        let mut got: Vec<String> = diags
            .iter()
            .filter(|d| d["severity"] == "error")
            .map(position)
            .collect();
        got.sort();
        let mut expected: Vec<String> = std::fs::read_to_string(dir.join("expect"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        expected.sort();
        assert_eq!(got, expected, "{}", dir.display());
        for d in &diags {
            for key in ["file", "line", "column", "message", "hint", "severity"] {
                assert!(d.get(key).is_some(), "{key} missing in {d}");
            }
        }
    }
}

#[test]
fn text_output_is_compiler_style() {
    let dir = root().join("fixtures/bad-config/unknown-key-typo");
    let out = analyzer(&["validate", "--factory-dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: image `web`: unknown key `rebuildDelays`"),
        "{stderr}"
    );
    assert!(stderr.contains("images.yaml:5:3"), "{stderr}");
    assert!(
        stderr.contains("5 |   rebuildDelays: 3d\n  |   ^^^^^^^^^^^^^\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("= hint: did you mean `rebuildDelay`?"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_dir_is_a_configuration_error() {
    let out = analyzer(&["validate", "--factory-dir", "/nonexistent/factory-dir"]);
    assert_eq!(out.status.code(), Some(2));
    let (code, diags) = validate_json(Path::new("/nonexistent/factory-dir"));
    assert_eq!(code, 2);
    assert_eq!(diags.len(), 1);
}

#[test]
fn warnings_do_not_fail() {
    let dir = std::env::temp_dir().join(format!("validate-warnings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("images.yaml"),
        "- name: python\n  registry: docker.io\n  repository: library/python\n  allowTags: ^3\\\\.12-slim$\n",
    )
    .unwrap();
    let (code, diags) = validate_json(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 0, "{diags:#?}");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0]["severity"], "warning");
    assert_eq!(diags[0]["line"], 4);
}
