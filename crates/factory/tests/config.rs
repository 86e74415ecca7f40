//! One loader for every job: whatever `validate` says about a factory dir, `analyze` and
//! `synthesize` agree with (they refuse exactly the configurations `validate` rejects).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use factory::{AnalyzeOptions, FactoryDir, JobError, Sources, SynthOptions};

fn analyze_options() -> AnalyzeOptions {
    AnalyzeOptions {
        sources: Sources::Root(testkit::workspace_root().join("fixtures/sources")),
        images: Vec::new(),
        build: None,
        now: model::time::Timestamp::UNIX_EPOCH,
        commit: false,
        push: None,
        lock_timeout: Duration::from_secs(10),
        environment: factory::Environment::default(),
    }
}

#[test]
fn every_bad_config_is_refused_by_every_job_with_the_same_diagnostics() {
    let root = testkit::workspace_root().join("fixtures/bad-config");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 25);
    for path in dirs {
        let dir = FactoryDir::load(&path);
        let validation = factory::validate(&dir);
        assert!(!validation.is_valid(), "{}", path.display());
        assert!(dir.has_errors());
        let errors = validation.errors;
        for err in [
            factory::synthesize(&dir, &SynthOptions::default()).map(|_| ()),
            factory::analyze(&dir, &analyze_options()).map(|_| ()),
        ] {
            match err {
                Err(JobError::InvalidConfig { errors: n, .. }) => assert_eq!(n, errors),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        assert!(!path.join("state").exists(), "nothing written");
    }
}

#[test]
fn a_missing_dir_is_one_diagnostic_for_every_job() {
    let dir = FactoryDir::load("/nonexistent/factory-dir");
    assert_eq!(dir.diagnostics().len(), 1);
    let text = dir.render(&dir.diagnostics()[0]);
    assert!(text.contains("factory dir not found"), "{text}");
    assert!(text.contains("--> /nonexistent/factory-dir\n"), "{text}");
    let err = factory::synthesize(&dir, &SynthOptions::default()).unwrap_err();
    assert!(err.is_usage_error());
    assert_eq!(
        err.to_string(),
        "configuration errors in /nonexistent/factory-dir; nothing written"
    );
}

#[test]
fn the_example_validates_and_synthesises_to_the_committed_manifest() {
    let root = testkit::workspace_root();
    let dir = FactoryDir::load(root.join("image-factory"));
    let validation = factory::validate(&dir);
    assert!(validation.is_valid() && validation.diagnostics.is_empty());
    let synthesis = factory::synthesize(&dir, &SynthOptions::default()).unwrap();
    assert!(factory::is_up_to_date(
        Path::new(&root.join("dist/image-factory.k8s.yaml")),
        &synthesis.manifest
    ));
    assert!(!synthesis.state.images.is_empty());
}

#[test]
fn manifests_are_checked_against_the_rules_and_the_schemas() {
    let Some(schemas) = testkit::shared(testkit::SharedData::KargoSchemas) else {
        return;
    };
    let root = testkit::workspace_root();
    let dir = FactoryDir::load(root.join("image-factory"));
    let options = SynthOptions {
        schemas: Some(schemas.clone()),
    };
    assert!(factory::synthesize(&dir, &options).is_ok());
    let committed = [root.join("dist/image-factory.k8s.yaml")];
    let report = factory::validate_manifests(&committed, Some(&schemas)).unwrap();
    assert!(report.schemas_checked && report.documents > 10);
    assert_eq!(report.problems, Vec::new());
    // A broken manifest: its problems name file, document and rule.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    let text = std::fs::read_to_string(&committed[0]).unwrap();
    std::fs::write(
        &bad,
        text.replacen("kind: Stage", "kind: Stage\nunknownField: 1", 1),
    )
    .unwrap();
    let report = factory::validate_manifests(std::slice::from_ref(&bad), Some(&schemas)).unwrap();
    assert!(!report.problems.is_empty());
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.file == bad.display().to_string())
    );
    assert!(
        report.problems.iter().any(|p| p.rule == "schema"),
        "{:?}",
        report.problems
    );
    // Not YAML, and no schema dir: errors of their own kind.
    std::fs::write(&bad, "a: [\n").unwrap();
    let err = factory::validate_manifests(std::slice::from_ref(&bad), None).unwrap_err();
    assert!(
        matches!(err, JobError::InvalidYaml { .. }) && !err.is_usage_error(),
        "{err}"
    );
    let err = factory::load_schemas(tmp.path()).unwrap_err();
    assert!(matches!(err, factory::SchemasError::Empty(_)), "{err}");
}
