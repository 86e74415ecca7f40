//! A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, with
//! its access log readable, and images pushed to it with `skopeo` from OCI layouts written here by
//! hand (a config blob, one layer blob, a manifest; or an index of several), so each test knows the
//! exact digests it pushed.
//!
//! Both programs are installed with `apt-get` when missing; when that fails the test is skipped
//! through [`crate::skip`], which fails it under `CI`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

/// The registry binary of Debian's `docker-registry` package.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Serialises installs: parallel tests must not run two `apt-get`s (dpkg's lock would fail one).
static INSTALL: Mutex<()> = Mutex::new(());

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn apt(args: &[&str]) -> Result<(), String> {
    let out = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "apt-get {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Makes sure `docker-registry` and `skopeo` are installed, installing them with `apt-get` when
/// missing (a second try after `apt-get update`, for a machine whose package lists are stale).
///
/// # Errors
/// Why they cannot be installed.
pub fn ensure_installed() -> Result<(), String> {
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if Path::new(REGISTRY_BIN).is_file() && installed("skopeo") {
        return Ok(());
    }
    let install = [
        "install",
        "-y",
        "--no-install-recommends",
        "docker-registry",
        "skopeo",
    ];
    apt(&install).or_else(|_| {
        apt(&["update"])?;
        apt(&install)
    })?;
    if Path::new(REGISTRY_BIN).is_file() && installed("skopeo") {
        Ok(())
    } else {
        Err("apt-get succeeded but docker-registry or skopeo is still missing".to_owned())
    }
}

/// One request of the registry's access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `HEAD`, `GET`, ...
    pub method: String,
    /// The request target, e.g. `/v2/app/manifests/1.0`.
    pub path: String,
    /// The response status.
    pub status: u16,
}

/// A running registry, killed (and its storage removed) on drop.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Registry {
    /// Starts a registry on a free port of 127.0.0.1 and waits until `GET /v2/` answers; `None`
    /// when it cannot be installed outside CI (the skip is recorded).
    ///
    /// # Panics
    /// Under `CI` when the registry cannot be installed; when it does not start.
    pub fn start() -> Option<Registry> {
        if let Err(reason) = ensure_installed() {
            crate::skip(&format!("docker-registry unavailable: {reason}"));
            return None;
        }
        // A port taken between our probe and the registry's bind fails its start: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            match Registry::try_start() {
                Ok(registry) => return Some(registry),
                Err(e) => last = e,
            }
        }
        panic!("docker-registry does not start: {last}");
    }

    fn try_start() -> Result<Registry, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let storage = dir.path().join("storage");
        fs::create_dir_all(&storage).map_err(|e| e.to_string())?;
        let config = dir.path().join("config.yml");
        // The access log (one combined-format line per request) goes to stdout, the application
        // log to stderr: both are kept in files the tests read.
        let text = format!(
            "version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: test-only-secret\n",
            storage.display()
        );
        fs::write(&config, text).map_err(|e| e.to_string())?;
        let access = fs::File::create(dir.path().join("access.log")).map_err(|e| e.to_string())?;
        let errors =
            fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(access)
            .stderr(errors)
            .spawn()
            .map_err(|e| format!("cannot run {REGISTRY_BIN}: {e}"))?;
        let mut registry = Registry { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = registry.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("exited with {status}: {}", registry.app_log()));
            }
            if get_status(port, "/v2/") == Some(200) {
                return Ok(registry);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "no answer on /v2/ within 20 s: {}",
            registry.app_log()
        ))
    }

    /// `127.0.0.1:<port>`, the registry's host in image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's application log (stderr).
    pub fn app_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Every request in the access log so far, in order. The log line is written just after the
    /// response, so this waits until the log has stopped growing for 200 ms.
    pub fn requests(&self) -> Vec<Request> {
        let path = self.dir.path().join("access.log");
        let mut text = fs::read_to_string(&path).unwrap_or_default();
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let again = fs::read_to_string(&path).unwrap_or_default();
            if again == text {
                break;
            }
            text = again;
        }
        text.lines().filter_map(parse_access_line).collect()
    }

    /// The number of requests logged so far (to slice [`Registry::requests`] around a call).
    pub fn request_count(&self) -> usize {
        self.requests().len()
    }

    /// Pushes `image` as `<host>/<repository>:<tag>` with `skopeo` (digests preserved, so the
    /// registry holds exactly the bytes of `image`).
    ///
    /// # Panics
    /// When skopeo fails.
    pub fn push(&self, image: &Image, repository: &str, tag: &str) {
        let layout = tempfile::tempdir().unwrap();
        image.write_layout(layout.path(), tag);
        let out = Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--all",
                "--preserve-digests",
                "--quiet",
            ])
            .arg("--dest-tls-verify=false")
            .arg(format!("oci:{}:{tag}", layout.path().display()))
            .arg(format!("docker://{}/{repository}:{tag}", self.host()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Registry {
    /// Adds the tag `tag` to `image`, already pushed to `repository`: one `PUT` of its top
    /// manifest (no skopeo process, so thousands of tags take seconds).
    ///
    /// # Panics
    /// When the registry refuses.
    pub fn tag(&self, image: &Image, repository: &str, tag: &str) {
        use std::io::{Read as _, Write as _};
        let top = image.top();
        let mut stream = std::net::TcpStream::connect(self.host()).unwrap();
        let head = format!(
            "PUT /v2/{repository}/manifests/{tag} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.host(),
            image.media_type(),
            top.bytes.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&top.bytes).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "PUT {repository}:{tag}: {answer}"
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `127.0.0.1 - - [date] "HEAD /v2/x/manifests/t HTTP/1.1" 200 0 "" "agent"` → the request.
fn parse_access_line(line: &str) -> Option<Request> {
    let (_, rest) = line.split_once('"')?;
    let (request, rest) = rest.split_once('"')?;
    let mut parts = request.split(' ');
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let status = rest.split_whitespace().next()?.parse().ok()?;
    Some(Request {
        method,
        path,
        status,
    })
}

/// A blob: its bytes and `sha256:<hex>` digest.
#[derive(Clone, Debug)]
pub struct Blob {
    /// The content.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of the content.
    pub digest: String,
}

impl Blob {
    /// A blob of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Blob {
        let digest = format!("sha256:{}", hex(&Sha256::digest(&bytes)));
        Blob { bytes, digest }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A test image: a single-platform manifest or an index of them.
#[derive(Clone, Debug)]
pub enum Image {
    /// One manifest with its config and layer.
    Single {
        /// The manifest.
        manifest: Blob,
        /// Its config.
        config: Blob,
        /// Its one layer.
        layer: Blob,
    },
    /// An OCI image index over single-platform images.
    Index {
        /// The index.
        index: Blob,
        /// Its images (each [`Image::Single`]).
        images: Vec<Image>,
    },
}

/// An empty tar archive (two zero blocks): a valid layer whose content does not matter here.
const EMPTY_TAR: [u8; 1024] = [0; 1024];

impl Image {
    /// A linux image for `arch` whose digest depends on `seed` (the seed is a label of its
    /// config, so two seeds give two different manifests).
    pub fn single(seed: &str, arch: &str) -> Image {
        let layer = Blob::new(EMPTY_TAR.to_vec());
        let config = Blob::new(
            format!(
                r#"{{"architecture":"{arch}","os":"linux","config":{{"Labels":{{"seed":"{seed}"}}}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
                layer.digest
            )
            .into_bytes(),
        );
        let manifest = Blob::new(
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
                config.digest,
                config.bytes.len(),
                layer.digest,
                layer.bytes.len()
            )
            .into_bytes(),
        );
        Image::Single {
            manifest,
            config,
            layer,
        }
    }

    /// A multi-arch image: an index over one image per architecture, all from `seed`.
    pub fn index(seed: &str, arches: &[&str]) -> Image {
        let images: Vec<Image> = arches.iter().map(|a| Image::single(seed, a)).collect();
        let entries: Vec<String> = images
            .iter()
            .zip(arches)
            .map(|(image, arch)| {
                let top = image.top();
                format!(
                    r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
                    top.digest,
                    top.bytes.len()
                )
            })
            .collect();
        let index = Blob::new(
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
                entries.join(",")
            )
            .into_bytes(),
        );
        Image::Index { index, images }
    }

    /// The blob a tag points at: the manifest or the index.
    pub fn top(&self) -> &Blob {
        match self {
            Image::Single { manifest, .. } => manifest,
            Image::Index { index, .. } => index,
        }
    }

    /// The digest a tag of this image resolves to.
    pub fn digest(&self) -> &str {
        &self.top().digest
    }

    fn media_type(&self) -> &'static str {
        match self {
            Image::Single { .. } => OCI_MANIFEST,
            Image::Index { .. } => OCI_INDEX,
        }
    }

    fn blobs(&self) -> Vec<&Blob> {
        match self {
            Image::Single {
                manifest,
                config,
                layer,
            } => vec![manifest, config, layer],
            Image::Index { index, images } => std::iter::once(index)
                .chain(images.iter().flat_map(Image::blobs))
                .collect(),
        }
    }

    /// Writes an OCI image layout holding this image under the name `tag`.
    fn write_layout(&self, dir: &Path, tag: &str) {
        let blobs: PathBuf = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).unwrap();
        for blob in self.blobs() {
            let hex = blob.digest.trim_start_matches("sha256:");
            fs::write(blobs.join(hex), &blob.bytes).unwrap();
        }
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let top = self.top();
        fs::write(
            dir.join("index.json"),
            format!(
                r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#,
                self.media_type(),
                top.digest,
                top.bytes.len()
            ),
        )
        .unwrap();
    }
}

/// The status of `GET path` on 127.0.0.1:`port`, or `None` when nothing answers (yet).
fn get_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read as _, Write as _};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_lines_parse() {
        let line = r#"127.0.0.1 - - [01/Dec/2026:03:56:10 +0000] "HEAD /v2/foo/manifests/bar HTTP/1.1" 404 93 "" "curl/7.88.1""#;
        assert_eq!(
            parse_access_line(line),
            Some(Request {
                method: "HEAD".into(),
                path: "/v2/foo/manifests/bar".into(),
                status: 404
            })
        );
    }

    /// The registry starts, a pushed image and index are served under the digests computed
    /// here, and the access log shows the requests.
    #[test]
    fn pushed_digests_are_the_computed_ones() {
        let Some(registry) = Registry::start() else {
            return;
        };
        let single = Image::single("one", "amd64");
        let index = Image::index("two", &["amd64", "arm64"]);
        assert_ne!(single.digest(), index.digest());
        registry.push(&single, "team/app", "1.0");
        registry.push(&index, "team/multi", "2.0");
        for (repo, tag, image, media) in [
            ("team/app", "1.0", &single, OCI_MANIFEST),
            ("team/multi", "2.0", &index, OCI_INDEX),
        ] {
            let out = Command::new("skopeo")
                .args(["inspect", "--raw", "--tls-verify=false"])
                .arg(format!("docker://{}/{repo}:{tag}", registry.host()))
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            assert_eq!(out.stdout, image.top().bytes, "{repo}:{tag}");
            assert!(String::from_utf8_lossy(&out.stdout).contains(media));
        }
        let requests = registry.requests();
        assert!(
            requests
                .iter()
                .any(|r| r.method == "PUT" && r.path == "/v2/team/app/manifests/1.0"),
            "{requests:?}"
        );
    }
}
