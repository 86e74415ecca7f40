//! The enroll job through the library: the entry the seed's Backstage backend proposed comes out
//! equivalent, CRLF files stay CRLF, and a file changed meanwhile is not overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use factory::{EnrollError, EnrollOptions, FactoryDir, JobError};
use model::enrollment::{Draft, DraftSource};

fn factory_dir(images: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("images.yaml"), images).unwrap();
    tmp
}

fn options(draft: Draft) -> EnrollOptions {
    EnrollOptions {
        draft,
        comment: None,
        dry_run: false,
    }
}

fn images(path: &Path) -> String {
    std::fs::read_to_string(path.join("images.yaml")).unwrap()
}

/// The Backstage backend's pull request added this entry (`shared/legacy`, eda-mesh's
/// images.yaml); `enroll` with the same values writes an entry that resolves to the same
/// effective configuration, defaults left out.
#[test]
fn the_backstage_entry_comes_out_equivalent() {
    let Some(legacy) = testkit::shared(testkit::SharedData::Legacy) else {
        return;
    };
    let legacy_text = std::fs::read_to_string(legacy.join("eda-mesh__images.yaml")).unwrap();
    let checked = model::config::validate_factory(&legacy_text, "images.yaml", None);
    let legacy_images = checked.resolved().expect("the legacy file validates");
    let proposed = legacy_images
        .iter()
        .find(|i| i.name == "backstage")
        .unwrap();

    let tmp = factory_dir("# Enrolled images.\n");
    let dir = FactoryDir::load(tmp.path());
    let draft = Draft {
        name: "backstage".into(),
        registry: Some("ghcr.io".into()),
        repository: Some("craigedmunds/backstage".into()),
        source: DraftSource {
            provider: Some("github".into()),
            repo: "craigedmunds/argocd-eda".into(),
            branch: Some("main".into()),
            dockerfile: Some("backstage/app/packages/backend/Dockerfile".into()),
            workflow: Some("backstage.yml".into()),
            ..DraftSource::default()
        },
        rebuild_delay: Some("7d".into()),
        auto_rebuild: None,
        priority: None,
    };
    let report = factory::enroll(&dir, &options(draft)).unwrap();
    assert!(report.written);
    assert_eq!(
        images(tmp.path()),
        "# Enrolled images.\n\n- name: backstage\n  repository: craigedmunds/backstage\n  source:\n    \
         repo: craigedmunds/argocd-eda\n    dockerfile: backstage/app/packages/backend/Dockerfile\n    \
         workflow: backstage.yml\n"
    );
    let enrolled = FactoryDir::load(tmp.path());
    let config = enrolled.config().unwrap();
    assert_eq!(config.images, vec![proposed.clone()]);
}

#[test]
fn crlf_files_stay_crlf_and_validate() {
    let text =
        "# images\r\n\r\n- name: a\r\n  repository: acme/a\r\n  source:\r\n    repo: acme/a\r\n";
    let tmp = factory_dir(text);
    let dir = FactoryDir::load(tmp.path());
    let mut draft = Draft {
        name: "b".into(),
        source: DraftSource {
            repo: "acme/b".into(),
            inputs: [("push".to_owned(), "yes".to_owned())].into(),
            ..DraftSource::default()
        },
        ..Draft::default()
    };
    draft.priority = Some("high".into());
    let report = factory::enroll(&dir, &options(draft)).unwrap();
    let after = images(tmp.path());
    assert!(after.starts_with(text));
    assert_eq!(
        &after[text.len()..],
        "\r\n- name: b\r\n  repository: acme/b\r\n  source:\r\n    repo: acme/b\r\n    inputs:\r\n      \
         push: \"yes\"\r\n  priority: high\r\n"
    );
    assert_eq!(report.line, 8);
    let enrolled = FactoryDir::load(tmp.path());
    let config = enrolled.config().unwrap();
    let b = &config.images[1];
    assert_eq!(b.source.as_ref().unwrap().inputs["push"], "yes");
    assert_eq!(b.priority, model::enrollment::Priority::High);
}

#[test]
fn a_file_changed_meanwhile_is_not_overwritten() {
    let tmp = factory_dir("- name: a\n  repository: acme/a\n  source:\n    repo: acme/a\n");
    let dir = FactoryDir::load(tmp.path());
    let edited = "- name: a\n  repository: acme/a\n  source:\n    repo: acme/a\n# someone else\n";
    std::fs::write(tmp.path().join("images.yaml"), edited).unwrap();
    let draft = Draft {
        name: "b".into(),
        source: DraftSource {
            repo: "acme/b".into(),
            ..DraftSource::default()
        },
        ..Draft::default()
    };
    let err = factory::enroll(&dir, &options(draft)).unwrap_err();
    assert!(
        matches!(err, JobError::Enroll(EnrollError::Changed { .. })),
        "{err}"
    );
    assert!(err.is_usage_error());
    assert_eq!(images(tmp.path()), edited);
}

#[test]
fn settings_defaults_decide_what_is_left_out() {
    let tmp = factory_dir("");
    std::fs::write(
        tmp.path().join("factory.yaml"),
        "defaults:\n  registry: registry.example.com\n  rebuildDelay: 3d\n",
    )
    .unwrap();
    let dir = FactoryDir::load(tmp.path());
    let draft = Draft {
        name: "web".into(),
        registry: Some("registry.example.com".into()),
        source: DraftSource {
            repo: "acme/web".into(),
            ..DraftSource::default()
        },
        rebuild_delay: Some("7d".into()),
        ..Draft::default()
    };
    let report = factory::enroll(&dir, &options(draft)).unwrap();
    assert_eq!(
        images(tmp.path()),
        "- name: web\n  repository: acme/web\n  source:\n    repo: acme/web\n  rebuildDelay: 7d\n"
    );
    assert_eq!(report.line, 1);
    // Without `--workflow` the build workflow is generated into the state repository.
    assert!(
        report.next[3].contains(".github/workflows/build-web.yml"),
        "{}",
        report.next[3]
    );
}
