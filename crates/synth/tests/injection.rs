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
    src.branch = "feat/x_1.2".into();
    src.workflow = "build web.yml".into();
    for (k, v) in [
        ("a", "x\"}) + secret('github-token').token + quote({\"y"),
        ("b", "key: value"),
        ("c", "{not: a map}"),
        ("d", "- item"),
        ("e", "on"),
        ("f", "1.10"),
        ("g", "# comment"),
    ] {
        src.inputs.insert(k.into(), v.into());
    }
    let m = one(image).unwrap();
    common::assert_valid(&m.yaml);
    // Values only appear as literal vars; the body references them.
    let stage = m
        .objects
        .iter()
        .find_map(|o| match o {
            image_factory_synth::kargo::Object::Stage(s) if s.metadata.name == "rebuild-web" => {
                Some(s.clone())
            }
            _ => None,
        })
        .unwrap();
    let vars: BTreeMap<String, String> = stage
        .spec
        .promotion_template
        .spec
        .vars
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    assert_eq!(vars["ref"], "feat/x_1.2");
    assert_eq!(
        vars["input1"],
        "x\"}) + secret('github-token').token + quote({\"y"
    );
    let step = serde_json::to_value(&stage.spec.promotion_template.spec.steps[0].config).unwrap();
    let body = step["body"].as_str().unwrap();
    assert_eq!(
        body,
        "${{ quote({\"ref\": vars.ref, \"inputs\": {\"a\": vars.input1, \"b\": vars.input2, \"c\": vars.input3, \"d\": vars.input4, \"e\": vars.input5, \"f\": vars.input6, \"g\": vars.input7}}) }}"
    );
    assert!(
        step["url"]
            .as_str()
            .unwrap()
            .ends_with("/workflows/build%20web.yml/dispatches")
    );
    // The YAML reads back to the same strings, quoted where a YAML 1.1 reader would misread them.
    for needle in [
        "value: \"on\"",
        "value: \"1.10\"",
        "value: \"key: value\"",
        "value: \"- item\"",
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
