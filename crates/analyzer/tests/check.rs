//! `analyzer check` and `analyzer observe` as processes: against the real registry (Debian's
//! `docker-registry` on 127.0.0.1) and a private stand-in registry whose token endpoint wants the
//! credentials a Docker credential helper gives; committed and pushed to a real bare repository.
//! The JSON request counts agree with the registry's access log; no secret (credential helper,
//! `auths`, token, git password) reaches stdout, stderr, the state, the commits or any argv; an
//! expired credential fails its base only; bad input exits 2 with nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use testkit::git::git;
use testkit::http::stand_in;
use testkit::registry::{Image, Registry};

const PRIVATE_DIGEST: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
/// Secrets that must never show: the helper's and `auths`' passwords, the registry token, the git
/// password, a GitHub token in the environment.
const SECRETS: [&str; 4] = ["s3cret-helper", "s3cret-auths", "tok-s3cret", "s3cret-git"];

fn executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

struct World {
    tmp: tempfile::TempDir,
    registry: Registry,
    private: String,
    /// The password the private registry's token endpoint accepts (the helper's, at first).
    accepted: Arc<Mutex<String>>,
}

impl World {
    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }
    fn factory(&self) -> PathBuf {
        self.work().join("factory")
    }
    fn argv_log(&self) -> String {
        fs::read_to_string(self.tmp.path().join("argv.log")).unwrap_or_default()
    }

    /// `analyzer <args>` with the Docker config, the credential helper and a `git` that logs its
    /// argv on PATH, and a git password in the environment.
    fn analyzer(&self, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.tmp.path().join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
            .args(args)
            .arg("--factory-dir")
            .arg(self.factory())
            .args(["--format", "json", "-vv", "--push-backoff-ms", "20"])
            .env("PATH", path)
            .env("DOCKER_CONFIG", self.tmp.path().join("docker"))
            .env("GIT_PASSWORD", "s3cret-git")
            .env("GITHUB_TOKEN", "s3cret-github")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("IMAGE_FACTORY_GIT_ALLOW_PROTOCOL", "file")
            .env(
                "IMAGE_FACTORY_GIT_AUTHOR",
                "Factory Bot <bot@example.invalid>",
            )
            .env_remove("IMAGE_FACTORY_LOG")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        for secret in SECRETS {
            assert!(!stdout.contains(secret), "{secret} on stdout: {stdout}");
            assert!(!stderr.contains(secret), "{secret} on stderr: {stderr}");
        }
        // stderr is a pipe: no progress bar (redrawn with `\r`) and no colours.
        assert!(
            !stderr.contains('\r') && !stderr.contains("\x1b["),
            "{stderr:?}"
        );
        out
    }

    fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let out = self.analyzer(args);
        assert_eq!(out.status.code(), Some(code), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn state(&self) -> std::collections::BTreeMap<PathBuf, String> {
        testkit::snapshot(&self.factory().join("state"))
    }

    fn base_id(&self, suffix: &str) -> String {
        self.state()
            .iter()
            .find(|(path, text)| {
                path.starts_with("base-images")
                    && text
                        .lines()
                        .any(|l| l.starts_with("reference:") && l.trim_end().ends_with(suffix))
            })
            .map(|(path, _)| path.file_stem().unwrap().to_string_lossy().into_owned())
            .unwrap_or_else(|| panic!("no base {suffix}"))
    }
}

/// The fleet (`web` FROM the real registry's node:22, `private` FROM the stand-in's team/private:1)
/// in a clone of a bare repository, analysed and committed; the credential helper, the Docker
/// config and the argv-logging `git` in place.
fn world() -> Option<World> {
    let registry = Registry::start()?;
    let accepted = Arc::new(Mutex::new("robot:s3cret-helper".to_owned()));
    let expected = Arc::clone(&accepted);
    let (port, _) = stand_in(200, move |req, _, port| {
        use base64::Engine as _;
        if req.path.starts_with("/token") {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(expected.lock().unwrap().as_bytes());
            return if req.authorization.as_deref() == Some(&format!("Basic {basic}")) {
                (200, vec![], r#"{"token":"tok-s3cret"}"#.into())
            } else {
                (401, vec![], String::new())
            };
        }
        if req.authorization.as_deref() == Some("Bearer tok-s3cret") {
            let digest = ("Docker-Content-Digest".into(), PRIVATE_DIGEST.into());
            return (200, vec![digest], String::new());
        }
        let challenge = format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="s""#);
        (
            401,
            vec![("WWW-Authenticate".into(), challenge)],
            String::new(),
        )
    });
    let private = format!("127.0.0.1:{port}");
    let host = registry.host();
    registry.push(&Image::single("node-v1", "amd64"), "library/node", "22");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // The credential helper, and a git that logs its argv before running the real one.
    let bin = t.join("bin");
    fs::create_dir_all(&bin).unwrap();
    executable(
        &bin.join("docker-credential-fake"),
        "#!/bin/sh\nread server\nprintf '{\"Username\":\"robot\",\"Secret\":\"s3cret-helper\"}'\n",
    );
    let real_git = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    executable(
        &bin.join("git"),
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            t.join("argv.log").display(),
            real_git.trim()
        ),
    );
    fs::create_dir_all(t.join("docker")).unwrap();
    // base64("someone:s3cret-auths") for the public registry: never needed, never shown.
    fs::write(
        t.join("docker/config.json"),
        format!(
            r#"{{"auths":{{"{host}":{{"auth":"c29tZW9uZTpzM2NyZXQtYXV0aHM="}}}},"credHelpers":{{"{private}":"fake"}}}}"#
        ),
    )
    .unwrap();
    // Sources and the factory dir, in a repository with a bare remote.
    for (name, from) in [
        ("web", format!("{host}/library/node:22")),
        ("private", format!("{private}/team/private:1")),
    ] {
        let dir = t.join("src/acme").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("Dockerfile"), format!("FROM {from}\n")).unwrap();
    }
    let bare = t.join("remote.git");
    fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare", "-b", "main"]);
    let work = t.join("work");
    let factory = work.join("factory");
    fs::create_dir_all(&factory).unwrap();
    git(&work, &["init", "--quiet", "-b", "main"]);
    fs::write(
        factory.join("images.yaml"),
        "- name: web\n  repository: acme/web\n  source: {repo: acme/web}\n  rebuildDelay: 2d\n\
         - name: private\n  repository: acme/private\n  source: {repo: acme/private}\n",
    )
    .unwrap();
    fs::write(
        factory.join("factory.yaml"),
        format!(
            "registries:\n  \"{host}\": {{insecure: true}}\n  \"{private}\": {{insecure: true}}\n"
        ),
    )
    .unwrap();
    let world = World {
        tmp,
        registry,
        private,
        accepted,
    };
    let src = world.tmp.path().join("src");
    let out = world.analyzer(&[
        "analyze",
        "--source-root",
        src.to_str().unwrap(),
        "--now",
        "2026-03-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "seed"]);
    git(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
    git(&work, &["push", "--quiet", "origin", "main"]);
    Some(world)
}

#[test]
fn check_then_observe_as_processes_counts_exact_and_secrets_kept() {
    let Some(w) = world() else {
        return;
    };
    let host = w.registry.host();
    let node = w.base_id("library/node:22");
    let private = w.base_id("team/private:1");

    // Baselines, committed and pushed; counts as the registry logged them.
    let from = w.registry.request_count();
    let first = w.json(
        &[
            "check",
            "--now",
            "2026-03-01T01:00:00Z",
            "--commit",
            "--push",
        ],
        0,
    );
    let logged: Vec<_> = w.registry.requests()[from..]
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(logged, ["HEAD"]);
    assert_eq!(
        first["requests"][&host],
        serde_json::json!({"head": 1, "get": 0, "token": 0})
    );
    // The private registry: a 401, a token (the helper's credentials), the HEAD again.
    assert_eq!(
        first["requests"][&w.private],
        serde_json::json!({"head": 2, "get": 0, "token": 1})
    );
    assert_eq!(first["checked"], 2);
    assert_eq!(first["updated"], serde_json::json!([]));
    assert_eq!(first["errors"], serde_json::json!([]));
    assert_eq!(first["pushed"], true);
    let work = w.work();
    assert_eq!(
        git(&work, &["rev-parse", "HEAD"]),
        git(&work, &["rev-parse", "origin/main"])
    );

    // A Warehouse saw a new digest: observe records it, with web's pending entry.
    let digest = format!("sha256:{}", "3".repeat(64));
    let observed = w.json(
        &[
            "observe",
            "--base",
            &node,
            "--digest",
            &digest,
            "--now",
            "2026-03-02T00:00:00Z",
            "--commit",
            "--push",
        ],
        0,
    );
    assert_eq!(observed["seen"], "update");
    assert_eq!(observed["dependents"], serde_json::json!(["web"]));
    let web = &w.state()[Path::new("images/web.yaml")];
    assert!(
        web.contains("eligibleAt: \"2026-03-04T00:00:00Z\""),
        "{web}"
    );
    // The same digest again: known, nothing written, no commit.
    let head = git(&work, &["rev-parse", "HEAD"]);
    let again = w.json(
        &[
            "observe",
            "--base",
            &node,
            "--digest",
            &digest,
            "--now",
            "2026-03-02T01:00:00Z",
            "--commit",
        ],
        0,
    );
    assert_eq!(again["seen"], "known");
    assert_eq!(again["filesWritten"], serde_json::json!([]));
    assert_eq!(git(&work, &["rev-parse", "HEAD"]), head);

    // Expired credentials: the private base fails alone, with a clear message; nothing lost.
    *w.accepted.lock().unwrap() = "robot:rotated".to_owned();
    let before = w.state();
    let failed = w.json(&["check", "--now", "2026-03-03T00:00:00Z"], 1);
    assert_eq!(failed["checked"], 2);
    let errors = failed["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{failed}");
    assert_eq!(errors[0]["base"], private.as_str());
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("token request") && message.contains("401"),
        "{message}"
    );
    // node:22 still points at node-v1 on the registry: a digest seen before, nothing to write.
    assert_eq!(w.state(), before);

    // A credential helper that is not installed: the same, with the helper named.
    let config = w.tmp.path().join("docker/config.json");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, text.replace("\"fake\"", "\"not-installed\"")).unwrap();
    let failed = w.json(&["check", "--now", "2026-03-03T00:00:00Z"], 1);
    let errors = failed["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{failed}");
    assert_eq!(errors[0]["base"], private.as_str());
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("docker-credential-not-installed"),
        "{message}"
    );
    assert_eq!(w.state(), before);

    // No secret in the state, the commits or any git argv.
    let history = git(&work, &["log", "-p", "--all"]);
    let argv = w.argv_log();
    assert!(argv.contains("push"), "the git shim saw no push: {argv}");
    for secret in SECRETS {
        assert!(!history.contains(secret), "{secret} committed");
        assert!(!argv.contains(secret), "{secret} in a git argv: {argv}");
        for (path, text) in w.state() {
            assert!(!text.contains(secret), "{secret} in {}", path.display());
        }
    }
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let Some(w) = world() else {
        return;
    };
    let node = w.base_id("library/node:22");
    let before = w.state();
    let good = format!("sha256:{}", "4".repeat(64));
    for (args, message) in [
        (
            vec!["observe", "--base", "nope", "--digest", good.as_str()],
            "unknown base image `nope`",
        ),
        (
            vec!["observe", "--base", node.as_str(), "--digest", "sha256:12"],
            "is not a digest",
        ),
        (vec!["check", "--base", "nope"], "unknown base image `nope`"),
    ] {
        let out = w.analyzer(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(w.state(), before, "{args:?}");
    }
    // A Docker config that is not JSON: a configuration error naming the file.
    fs::write(w.tmp.path().join("docker/config.json"), "{").unwrap();
    let out = w.analyzer(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json"), "{stderr}");
    assert_eq!(w.state(), before);
}
