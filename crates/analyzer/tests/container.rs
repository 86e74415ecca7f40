//! The root `Dockerfile` (the analyzer container, docs/container.md) read by our own
//! `analyzer base-images`: the stages, base images and platforms BuildKit would use, the ARGs in
//! FROM expanded from their defaults or from `--build-arg`; and what the Jobs need of its runtime
//! stage (a numeric user, the `analyzer` entrypoint), without Docker.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

fn dockerfile() -> PathBuf {
    testkit::workspace_root().join("Dockerfile")
}

fn base_images(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(["--format", "json", "base-images"])
        .args(args)
        .arg(dockerfile())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The fields of each stage that say what BuildKit builds on.
fn stages(report: &Value) -> Vec<Value> {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            json!({
                "index": s["index"], "name": s["name"], "from": s["from"], "image": s["image"],
                "kind": s["kind"], "normalized": s["normalized"], "platform": s["platform"],
            })
        })
        .collect()
}

#[test]
fn base_images_resolves_the_root_dockerfile_from_its_arg_defaults() {
    let report = base_images(&[]);
    assert_eq!(
        stages(&report),
        [
            json!({
                "index": 0, "name": "build", "from": "rust:${RUST_VERSION}-${DEBIAN_RELEASE}",
                "image": "rust:1.95.0-bookworm", "kind": "image",
                "normalized": "docker.io/library/rust:1.95.0-bookworm", "platform": "linux/amd64",
            }),
            json!({
                "index": 1, "name": null, "from": "debian:${DEBIAN_RELEASE}-slim",
                "image": "debian:bookworm-slim", "kind": "image",
                "normalized": "docker.io/library/debian:bookworm-slim", "platform": "linux/amd64",
            }),
        ]
    );
    assert_eq!(
        report["base_images"],
        json!([
            "docker.io/library/rust:1.95.0-bookworm",
            "docker.io/library/debian:bookworm-slim"
        ])
    );
    // The `# syntax=` frontend is pulled too; `COPY --from=build` names a stage, not an image.
    assert_eq!(
        report["other_refs"],
        json!([{
            "kind": "syntax", "image": "docker/dockerfile:1",
            "normalized": "docker.io/docker/dockerfile:1", "line": 1,
        }])
    );
    assert_eq!(report["errors"], json!([]));
}

#[test]
fn build_args_and_the_platform_change_what_it_resolves() {
    let report = base_images(&[
        "--build-arg",
        "RUST_VERSION=1.96.0",
        "--build-arg",
        "DEBIAN_RELEASE=trixie",
        "--platform",
        "linux/arm64",
    ]);
    let got: Vec<(Value, Value)> = stages(&report)
        .iter()
        .map(|s| (s["normalized"].clone(), s["platform"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                json!("docker.io/library/rust:1.96.0-trixie"),
                json!("linux/arm64")
            ),
            (
                json!("docker.io/library/debian:trixie-slim"),
                json!("linux/arm64")
            ),
        ]
    );
}

/// The instructions of the last stage (the image that ships), joined continuation lines.
fn runtime_stage() -> Vec<String> {
    let text = std::fs::read_to_string(dockerfile()).unwrap();
    let joined = text.replace("\\\n", " ");
    let lines: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    lines[last_from..].iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn the_runtime_stage_runs_analyzer_as_a_numeric_non_root_user() {
    let stage = runtime_stage();
    let user = stage.iter().rev().find_map(|l| l.strip_prefix("USER "));
    let user = user.expect("the runtime stage sets USER").trim();
    let (uid, gid) = user.split_once(':').unwrap_or((user, "0"));
    // runAsNonRoot can only verify a numeric UID, and it must not be 0.
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER {user} is not numeric"));
    assert!(uid != 0, "USER {user}");
    assert!(gid.parse::<u32>().is_ok(), "USER {user}");
    assert_eq!(
        stage.iter().rev().find(|l| l.starts_with("ENTRYPOINT ")),
        Some(&r#"ENTRYPOINT ["analyzer"]"#.to_owned())
    );
    // The Jobs run git (clone-state, commit, push) over https.
    let install = stage
        .iter()
        .find(|l| l.contains("apt-get install"))
        .unwrap();
    for package in ["git", "ca-certificates"] {
        assert!(
            install.split_whitespace().any(|w| w == package),
            "{package} not installed: {install}"
        );
    }
}

#[test]
fn the_container_builds_with_the_toolchain_ci_installs() {
    let report = base_images(&[]);
    let rust = report["stages"][0]["image"].as_str().unwrap();
    let ci = std::fs::read_to_string(testkit::workspace_root().join(".github/workflows/ci.yml"))
        .unwrap();
    let ci: Value = serde_saphyr::from_str(&ci).unwrap();
    let toolchain = ci["jobs"]["ci"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s["with"]["toolchain"].as_str())
        .expect("ci.yml installs a pinned toolchain");
    assert_eq!(rust, format!("rust:{toolchain}-bookworm"));
}
