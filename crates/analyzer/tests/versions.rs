//! `analyzer versions` as a whole process against a real registry (Debian's `docker-registry`,
//! started by testkit): text and JSON output, exit statuses 0, 1 and 2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use testkit::registry::{Image, Registry};

const SHA_TAG: &str = "0123456789abcdef0123456789abcdef01234567";

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .env_remove("IMAGE_FACTORY_LOG")
        // No credentials of the machine's user.
        .env("DOCKER_CONFIG", "/nonexistent")
        .output()
        .expect("analyzer runs")
}

/// A factory dir enrolling `app` at `<host>/team/app`, with `host` served over plain HTTP.
fn factory_dir(root: &Path, host: &str) -> String {
    std::fs::write(
        root.join("images.yaml"),
        format!("- name: app\n  registry: \"{host}\"\n  repository: team/app\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("factory.yaml"),
        format!("registries:\n  \"{host}\": {{insecure: true}}\n"),
    )
    .unwrap();
    root.to_str().unwrap().to_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn real_registry_text_and_json() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let first = Image::single("cli-1", "amd64");
    let second = Image::single("cli-2", "amd64");
    for tag in ["1.2.0", "1.10.0", "v2.0.0-rc.1", "latest", "main", SHA_TAG] {
        registry.push(&first, "team/app", tag);
    }
    registry.push(&second, "team/app", "2.0.0");
    let root = tempfile::tempdir().unwrap();
    let dir = factory_dir(root.path(), &host);

    let before = registry.request_count();
    let out = analyzer(&["versions", "app", "--factory-dir", &dir]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        format!(
            "{host}/team/app: 4 version tag(s), newest first\n  2.0.0\n  v2.0.0-rc.1\n  1.10.0\n  \
             1.2.0\n3 other tag(s) hidden (not versions; --all lists them)\n"
        )
    );
    let log = registry.requests();
    let sent: Vec<String> = log[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(sent, ["GET /v2/team/app/tags/list?n=1000"]);

    let out = analyzer(&[
        "versions",
        "app",
        "--factory-dir",
        &dir,
        "--all",
        "--digests",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (a, b) = (first.digest(), second.digest());
    let entry = |tag: &str, version: &str, digest: &str| serde_json::json!({"tag": tag, "version": version, "digest": digest});
    let other = |tag: &str| serde_json::json!({"tag": tag, "digest": a});
    assert_eq!(
        json,
        serde_json::json!({
            "image": "app",
            "repository": format!("{host}/team/app"),
            "versions": [
                entry("2.0.0", "2.0.0", b),
                entry("v2.0.0-rc.1", "2.0.0-rc.1", a),
                entry("1.10.0", "1.10.0", a),
                entry("1.2.0", "1.2.0", a),
            ],
            "other": [other(SHA_TAG), other("latest"), other("main")],
            "hidden": 0,
            "requests": { &host: {"head": 7, "get": 0, "token": 0, "list": 1} },
        })
    );

    // A reference (not enrolled) with a tag: the tag is ignored, the repository listed.
    let image = format!("{host}/team/app:main");
    let out = analyzer(&[
        "versions",
        &image,
        "--factory-dir",
        &dir,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["image"], image);
    assert_eq!(json["hidden"], 3);
    assert_eq!(json["versions"][0]["tag"], "2.0.0");
    assert!(json.get("other").is_none());

    // The registry fails (no such repository): exit 1, naming the registry and what it said.
    let out = analyzer(&[
        "versions",
        &format!("{host}/team/none"),
        "--factory-dir",
        &dir,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("registry {host}")) && stderr.contains("HTTP 404"),
        "{stderr}"
    );
}

#[test]
fn neither_enrolled_nor_a_reference_exits_2_with_a_hint() {
    let root = tempfile::tempdir().unwrap();
    let dir = factory_dir(root.path(), "127.0.0.1:9");
    let out = analyzer(&["versions", "Not An Image", "--factory-dir", &dir]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"Not An Image\" is neither an image enrolled in")
            && stderr.contains("such as `node`"),
        "{stderr}"
    );
    // No factory dir at all: the same, saying so.
    let missing = root.path().join("missing");
    let out = analyzer(&[
        "versions",
        "team//app",
        "--factory-dir",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(no factory dir)"),
        "{out:?}"
    );
}

#[test]
fn invalid_factory_dir_exits_2_with_its_diagnostics() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("images.yaml"), "- name: [\n").unwrap();
    let out = analyzer(&[
        "versions",
        "node",
        "--factory-dir",
        root.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("images.yaml") && stderr.contains("configuration is invalid"),
        "{stderr}"
    );
}
