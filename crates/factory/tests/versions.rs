//! `factory::versions` against a real registry (Debian's `docker-registry`, started by testkit):
//! the order of the tags, what is hidden, the digests, and — from the registry's own access log —
//! exactly which requests were sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use factory::{FactoryDir, JobError, UsageError, VersionsOptions, VersionsReport};
use testkit::registry::{Image, Registry};

/// A 40-hex commit tag: not a version.
const SHA_TAG: &str = "0123456789abcdef0123456789abcdef01234567";

/// A factory dir enrolling `app` at `<host>/team/app`, with `host` marked insecure (plain HTTP).
fn factory_dir(root: &Path, host: &str) -> FactoryDir {
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
    let dir = FactoryDir::load(root);
    assert!(!dir.has_errors(), "{}", dir.render_all(true));
    dir
}

/// Pushes one image under the version and other tags, and a second image as `2.0.0`; returns
/// the two digests.
fn seed(registry: &Registry) -> (String, String) {
    let first = Image::single("versions-1", "amd64");
    let second = Image::index("versions-2", &["amd64", "arm64"]);
    for tag in ["1.2.0", "1.10.0", "v2.0.0-rc.1", "latest", "main", SHA_TAG] {
        registry.push(&first, "team/app", tag);
    }
    registry.push(&second, "team/app", "2.0.0");
    (first.digest().to_owned(), second.digest().to_owned())
}

fn tags(report: &VersionsReport) -> (Vec<&str>, Vec<&str>) {
    let versions = report.versions.iter().map(|e| e.tag.as_str()).collect();
    let other = report
        .other
        .iter()
        .flatten()
        .map(|e| e.tag.as_str())
        .collect();
    (versions, other)
}

#[test]
fn real_registry_versions_newest_first_others_hidden_or_listed_with_digests() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let (first, second) = seed(&registry);
    let root = tempfile::tempdir().unwrap();
    let dir = factory_dir(root.path(), &host);

    // By enrolled name, the defaults: versions only, one list request, nothing else.
    let before = registry.request_count();
    let report = factory::versions(Some(&dir), "app", &VersionsOptions::default()).unwrap();
    assert_eq!(report.image, "app");
    assert_eq!(report.repository, format!("{host}/team/app"));
    assert_eq!(
        tags(&report),
        (vec!["2.0.0", "v2.0.0-rc.1", "1.10.0", "1.2.0"], vec![])
    );
    assert_eq!(report.versions[1].version.as_deref(), Some("2.0.0-rc.1"));
    assert!(report.versions.iter().all(|e| e.digest.is_none()));
    assert_eq!(report.other, None);
    assert_eq!(report.hidden, 3);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["requests"],
        serde_json::json!({ &host: {"head": 0, "get": 0, "token": 0, "list": 1} })
    );
    assert!(json.get("other").is_none(), "{json}");
    let log: Vec<String> = registry.requests()[before..]
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert_eq!(log, ["GET /v2/team/app/tags/list?n=1000 200"]);
    let text = report.to_string();
    assert!(
        text.contains("3 other tag(s) hidden (not versions; --all lists them)"),
        "{text}"
    );

    // --all --digests with a page size of 2: every tag, one HEAD each, no manifest GET.
    let options = VersionsOptions {
        all: true,
        digests: true,
        page_size: 2,
        ..VersionsOptions::default()
    };
    let before = registry.request_count();
    let report = factory::versions(Some(&dir), "app", &options).unwrap();
    assert_eq!(
        tags(&report),
        (
            vec!["2.0.0", "v2.0.0-rc.1", "1.10.0", "1.2.0"],
            vec![SHA_TAG, "latest", "main"]
        )
    );
    assert_eq!(report.hidden, 0);
    let digests: Vec<String> = report
        .versions
        .iter()
        .chain(report.other.iter().flatten())
        .map(|e| e.digest.as_ref().unwrap().to_string())
        .collect();
    let mut expected = vec![second.clone()];
    expected.extend(std::iter::repeat_n(first.clone(), 6));
    assert_eq!(digests, expected);
    let counts = report.requests[&host];
    assert_eq!(
        (counts.list, counts.head, counts.get, counts.token),
        (1, 7, 0, 0)
    );
    let log = registry.requests()[before..].to_vec();
    // distribution 2.8 ignores `n` (every tag in one answer, no Link): one list request. The
    // pagination itself is proven against a paginating stand-in in the registry crate's tests.
    let lists: Vec<&str> = log
        .iter()
        .filter(|r| r.path.contains("/tags/list"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(lists, ["/v2/team/app/tags/list?n=2"]);
    let heads = log.iter().filter(|r| r.method == "HEAD").count();
    assert_eq!(heads, 7);
    assert_eq!(log.len(), 8, "{log:?}");
    assert!(log.iter().all(|r| r.status == 200), "{log:?}");
}

#[test]
fn real_registry_reference_when_the_name_is_not_enrolled() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    seed(&registry);
    let root = tempfile::tempdir().unwrap();
    let dir = factory_dir(root.path(), &host);
    // Not enrolled: a reference, whose tag is ignored.
    let image = format!("{host}/team/app:1.2.0");
    let report = factory::versions(Some(&dir), &image, &VersionsOptions::default()).unwrap();
    assert_eq!(report.image, image);
    assert_eq!(report.repository, format!("{host}/team/app"));
    assert_eq!(report.versions.len(), 4);

    // A repository the registry does not have: the registry's error, not a usage error.
    let err = factory::versions(
        Some(&dir),
        &format!("{host}/team/none"),
        &VersionsOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, JobError::Registry { .. }), "{err}");
    assert!(!err.is_usage_error());
    let message = err.to_string();
    assert!(
        message.contains(&format!("registry {host}"))
            && message.contains("HTTP 404")
            && message.contains("/v2/team/none/tags/list"),
        "{message}"
    );
}

#[test]
fn neither_enrolled_nor_a_reference_is_a_usage_error_before_any_request() {
    let root = tempfile::tempdir().unwrap();
    let dir = factory_dir(root.path(), "127.0.0.1:9");
    for input in ["Not An Image", "team//app", "-app", ""] {
        let err = factory::versions(Some(&dir), input, &VersionsOptions::default()).unwrap_err();
        assert!(
            matches!(err, JobError::Usage(UsageError::NotAnImage { .. })),
            "{input}: {err}"
        );
        assert!(err.is_usage_error());
        let message = err.to_string();
        assert!(
            message.contains("images.yaml") && message.contains("such as"),
            "{message}"
        );
    }
    // Without a factory dir too.
    let err = factory::versions(None, "Not An Image", &VersionsOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no factory dir"), "{err}");
}
