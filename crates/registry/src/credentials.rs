//! Credentials from the Docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`),
//! looked up the way the Docker CLI does: a registry's `credHelpers` entry, else the `credsStore`,
//! else the base64 `auth` of `auths`. Helpers are run as `docker-credential-<name> get` with the
//! server on stdin; their secret is held in memory only, and never appears in an error.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::Error;

/// The Docker config's location: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`
/// (the values are passed in, so callers decide where the environment is read).
pub fn docker_config_path(docker_config: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    match (docker_config, home) {
        (Some(dir), _) => Some(dir.join("config.json")),
        (None, Some(home)) => Some(home.join(".docker").join("config.json")),
        (None, None) => None,
    }
}

/// A user name and secret for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Basic {
    /// The user name.
    pub username: String,
    /// The password or token (never printed: `Debug` hides it).
    pub password: String,
}

impl std::fmt::Debug for Basic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Basic")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The Docker config, parsed once per run.
#[derive(Debug, Default)]
pub struct DockerConfig {
    file: ConfigFile,
    source: Option<PathBuf>,
}

/// The Docker config's cap: it is a small file, anything larger is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl DockerConfig {
    /// No credentials at all (anonymous access only).
    pub fn empty() -> DockerConfig {
        DockerConfig::default()
    }

    /// Reads `path`; a missing file is an empty config (anonymous access), as for the Docker CLI.
    ///
    /// # Errors
    /// [`Error::Credentials`] when the file cannot be read or is not a Docker config.
    pub fn load(path: &Path) -> Result<DockerConfig, Error> {
        let fail = |message: String| Error::Credentials {
            registry: "*".to_owned(),
            message: format!("{}: {message}", path.display()),
        };
        let bytes = match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DockerConfig::empty()),
            Err(e) => return Err(fail(e.to_string())),
            Ok(meta) if meta.len() > MAX_CONFIG_BYTES => {
                return Err(fail(format!("larger than {MAX_CONFIG_BYTES} bytes")));
            }
            Ok(_) => std::fs::read(path).map_err(|e| fail(e.to_string()))?,
        };
        // serde_json's messages name a line and column, never the content.
        let file = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
        Ok(DockerConfig {
            file,
            source: Some(path.to_path_buf()),
        })
    }

    /// The keys a registry may have in the config: Docker Hub's historical index URL for
    /// `docker.io`, and the host with or without a scheme.
    fn keys(registry: &str) -> Vec<String> {
        if registry == "docker.io" {
            return [
                "https://index.docker.io/v1/",
                "index.docker.io",
                "docker.io",
            ]
            .map(str::to_owned)
            .to_vec();
        }
        vec![
            registry.to_owned(),
            format!("https://{registry}"),
            format!("http://{registry}"),
        ]
    }

    /// The credentials for `registry` (the host as in image references), or `None` for anonymous
    /// access.
    ///
    /// # Errors
    /// [`Error::Credentials`] when a configured helper cannot run or fails, or an `auth` entry is
    /// not base64 `user:password`.
    pub fn lookup(&self, registry: &str) -> Result<Option<Basic>, Error> {
        let server = DockerConfig::keys(registry)
            .into_iter()
            .next()
            .unwrap_or_default();
        if let Some(helper) = self.file.cred_helpers.get(registry) {
            return run_helper(helper, registry, &server);
        }
        if let Some(store) = &self.file.creds_store
            && let Some(found) = run_helper(store, registry, &server)?
        {
            return Ok(Some(found));
        }
        let entry = DockerConfig::keys(registry).iter().find_map(|k| {
            self.file
                .auths
                .get(k)
                .or_else(|| self.file.auths.get(&format!("{k}/")))
        });
        let Some(entry) = entry else {
            return Ok(None);
        };
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let bad = || Error::Credentials {
                registry: registry.to_owned(),
                message: format!(
                    "the `auth` of {} is not base64 of `user:password`",
                    self.source_name()
                ),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (username, password) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Some(Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            }));
        }
        match (&entry.username, &entry.password) {
            (Some(username), Some(password)) => Ok(Some(Basic {
                username: username.clone(),
                password: password.clone(),
            })),
            _ => Ok(None),
        }
    }

    fn source_name(&self) -> String {
        self.source.as_ref().map_or_else(
            || "the Docker config".to_owned(),
            |p| p.display().to_string(),
        )
    }
}

/// The helper's way of saying it has nothing for this server (docker-credential-helpers'
/// `ErrCredentialsNotFound`).
const NOT_FOUND: &str = "credentials not found in native keychain";

/// Runs `docker-credential-<helper> get` with `server` on stdin.
fn run_helper(helper: &str, registry: &str, server: &str) -> Result<Option<Basic>, Error> {
    let program = format!("docker-credential-{helper}");
    let fail = |message: String| Error::Credentials {
        registry: registry.to_owned(),
        message: format!("{program}: {message}"),
    };
    // A helper name with a path separator would run something else than a credential helper.
    if helper.is_empty() || helper.contains(['/', '\\']) {
        return Err(fail("not a credential helper name".to_owned()));
    }
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                fail("not found on PATH (named in the Docker config)".to_owned())
            } else {
                fail(e.to_string())
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout);
        if said.contains(NOT_FOUND) || String::from_utf8_lossy(&out.stderr).contains(NOT_FOUND) {
            return Ok(None);
        }
        // The helper's own output may echo a secret: only its exit status is reported.
        return Err(fail(format!("`get` failed ({})", out.status)));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|_| fail("`get` did not answer {\"Username\", \"Secret\"} JSON".to_owned()))?;
    Ok(Some(Basic {
        username: answer.username,
        password: answer.secret,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(dir: &Path, json: &str) -> DockerConfig {
        let path = dir.join("config.json");
        std::fs::write(&path, json).unwrap();
        DockerConfig::load(&path).unwrap()
    }

    #[test]
    fn auths_base64_and_docker_hub_key() {
        let dir = tempfile::tempdir().unwrap();
        // "alice:s3cret" and "bob:pw:with:colons"
        let c = config(
            dir.path(),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcmV0"},
                "ghcr.io":{"auth":"Ym9iOnB3OndpdGg6Y29sb25z"}}}"#,
        );
        let hub = c.lookup("docker.io").unwrap().unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("alice", "s3cret")
        );
        let gh = c.lookup("ghcr.io").unwrap().unwrap();
        assert_eq!(gh.password, "pw:with:colons");
        assert_eq!(c.lookup("quay.io").unwrap(), None);
        assert!(!format!("{hub:?}").contains("s3cret"));
    }

    #[test]
    fn missing_file_is_anonymous_and_bad_auth_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let none = DockerConfig::load(&dir.path().join("absent.json")).unwrap();
        assert_eq!(none.lookup("ghcr.io").unwrap(), None);
        let c = config(dir.path(), r#"{"auths":{"ghcr.io":{"auth":"!!!"}}}"#);
        let err = c.lookup("ghcr.io").unwrap_err().to_string();
        assert!(err.contains("not base64"), "{err}");
    }

    #[test]
    fn missing_helper_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(
            dir.path(),
            r#"{"credHelpers":{"ghcr.io":"image-factory-test-absent"}}"#,
        );
        let err = c.lookup("ghcr.io").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-image-factory-test-absent")
                && err.contains("not found"),
            "{err}"
        );
    }

    #[test]
    fn paths_follow_docker_config_then_home() {
        assert_eq!(
            docker_config_path(Some(Path::new("/d")), Some(Path::new("/h"))),
            Some(PathBuf::from("/d/config.json"))
        );
        assert_eq!(
            docker_config_path(None, Some(Path::new("/h"))),
            Some(PathBuf::from("/h/.docker/config.json"))
        );
    }
}
