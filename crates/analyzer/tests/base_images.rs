//! `analyzer base-images` honours the SPEC §10 contract on every corpus Dockerfile: valid JSON with
//! the documented fields, exit 1 exactly when `errors` is non-empty; plus usage errors exit 2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn analyzer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
}

fn corpus_dir() -> Option<PathBuf> {
    testkit::shared(testkit::SharedData::Corpus)
}

fn dockerfiles(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            dockerfiles(&path, out);
        } else if path.extension().is_none_or(|e| e != "yaml" && e != "md") {
            out.push(path);
        }
    }
}

#[test]
fn base_images_json_contract_on_corpus() {
    let Some(root) = corpus_dir() else {
        return;
    };
    let mut files = Vec::new();
    for dir in [
        "renovate",
        "buildkit-parser",
        "buildkit-integration",
        "language-docker",
        "hadolint",
        "dependabot",
    ] {
        dockerfiles(&root.join(dir), &mut files);
    }
    assert!(files.len() >= 305, "found only {} files", files.len());
    for file in files {
        let out = analyzer()
            .args(["--format", "json", "base-images"])
            .arg(&file)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", file.display()));
        for key in ["file", "stages", "base_images", "other_refs", "errors"] {
            assert!(v.get(key).is_some(), "{}: no {key}", file.display());
        }
        for st in v["stages"].as_array().unwrap() {
            for key in [
                "index",
                "name",
                "from",
                "image",
                "kind",
                "normalized",
                "platform",
                "line",
            ] {
                assert!(
                    st.get(key).is_some(),
                    "{}: stage without {key}",
                    file.display()
                );
            }
        }
        let has_errors = !v["errors"].as_array().unwrap().is_empty();
        let expected = if has_errors { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(expected), "{}", file.display());
    }
}

#[test]
fn base_images_reads_stdin_and_applies_build_args() {
    let mut child = analyzer()
        .args([
            "base-images",
            "--format",
            "json",
            "--build-arg",
            "V=20",
            "--platform",
            "linux/arm64",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"ARG V=22\nFROM node:${V}-${TARGETARCH} AS b\nFROM b\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["file"], "-");
    assert_eq!(
        v["base_images"],
        serde_json::json!(["docker.io/library/node:20-arm64"])
    );
    assert_eq!(v["stages"][1]["kind"], "stage");
    assert_eq!(v["stages"][0]["platform"], "linux/arm64");
}

#[test]
fn base_images_usage_and_io_errors_exit_2() {
    let out = analyzer()
        .args(["base-images", "/nonexistent/Dockerfile"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = analyzer()
        .args(["base-images", "--platform", "linux", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = analyzer().args(["base-images"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn base_images_text_table_lists_stages_and_errors() {
    let dir = std::env::temp_dir().join(format!("base-images-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("Dockerfile");
    std::fs::write(&file, "FROM alpine:3.20 AS a\nFROM Alpine\n").unwrap();
    let out = analyzer().arg("base-images").arg(&file).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("docker.io/library/alpine:3.20"), "{text}");
    assert!(
        text.contains("line 2: failed to parse stage name"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
