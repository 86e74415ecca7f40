//! Text from images.yaml can never inject a Kargo `${{ }}` expression, an Argo `{{args}}`
//! placeholder or YAML structure into the manifests (SPEC §8.2), and strings Kubernetes would
//! misread are quoted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use image_factory_synth::{SynthError, fleet, synthesize};
use model::duration::Duration;
use model::settings::Settings;

fn one(
    image: model::enrollment::EffectiveImage,
) -> Result<image_factory_synth::Manifest, SynthError> {
    let deps = BTreeMap::from([(image.name.clone(), vec!["node:22".to_owned()])]);
    let images = vec![image];
    let state = common::merged(&images, &deps);
    synthesize(&images, &Settings::default(), &state)
}

#[test]
fn expressions_in_configuration_are_refused() {
    for bad in [
        "${{ secret('x').token }}",
        "{{args.image}}",
        "a }} b",
        "${ x",
    ] {
        let mut image = fleet::managed("web", "acme/web", Duration::from_days(7));
        image
            .source
            .as_mut()
            .unwrap()
            .inputs
            .insert("tag".into(), bad.into());
        let err = one(image).unwrap_err();
        assert!(matches!(err, SynthError::UnsafeText { .. }), "{bad}: {err}");
    }
}

#[test]
fn quotes_and_yaml_structure_stay_literal() {
    let mut image = fleet::managed("web", "acme/web", Duration::from_days(7));
    let src = image.source.as_mut().unwrap();
    src.branch = "1.10".into();
    src.workflow = "build web.yml".into();
    for (k, v) in [
        ("a", "x\"}) + secret('github-token').token + quote({\"y"),
        ("b", "key: value"),
        ("c", "{not: a map}"),
        ("d", "- item"),
    ] {
        src.inputs.insert(k.into(), v.into());
    }
    image.updates.push(model::enrollment::UpdateTarget {
        repo: "acme/gitops".into(),
        path: "deploy/values.yaml".into(),
        kind: model::enrollment::UpdateKind::YamlUpdate,
        key: Some("yes".into()),
        branch: Some("on".into()),
    });
    let m = one(image).unwrap();
    common::assert_valid(&m.yaml);
    // Workflow inputs are the rebuild engine's (`analyzer trigger`): no manifest carries them.
    for v in [
        "secret('github-token')",
        "key: value",
        "{not: a map}",
        "- item",
    ] {
        assert!(!m.yaml.contains(v), "{v} in the manifests");
    }
    // The YAML reads back to the same strings, quoted where a YAML 1.1 reader would misread them.
    for needle in [
        "branch: \"1.10\"",
        "key: \"yes\"",
        "branch: \"on\"",
        "targetBranch: \"on\"",
    ] {
        assert!(
            m.yaml.contains(needle) || m.yaml.contains(&needle.replace('"', "'")),
            "{needle} not quoted"
        );
    }
    let back = image_factory_synth::parse_objects(&m.yaml).unwrap();
    assert_eq!(back, m.objects);
}

#[test]
fn branches_kargo_rejects_are_refused() {
    let mut image = fleet::managed("web", "acme/web", Duration::from_days(7));
    image.source.as_mut().unwrap().branch = "feat/\"quoted\"".into();
    assert!(matches!(
        one(image).unwrap_err(),
        SynthError::InvalidBranch { .. }
    ));
}

#[test]
fn namespace_only_with_labels() {
    let image = fleet::managed("web", "acme/web", Duration::from_days(7));
    let m = one(image.clone()).unwrap();
    assert!(!m.objects.iter().any(|o| o.kind() == "Namespace"));
    let deps = BTreeMap::from([("web".to_owned(), vec!["node:22".to_owned()])]);
    let images = vec![image];
    let state = common::merged(&images, &deps);
    let mut settings = Settings::default();
    settings.namespace.labels = BTreeMap::from([("team".to_owned(), "platform".to_owned())]);
    let m = synthesize(&images, &settings, &state).unwrap();
    common::assert_valid(&m.yaml);
    let image_factory_synth::kargo::Object::Namespace(ns) = &m.objects[0] else {
        panic!("first object is not the Namespace")
    };
    assert_eq!(ns.metadata.labels["kargo.akuity.io/project"], "true");
}
