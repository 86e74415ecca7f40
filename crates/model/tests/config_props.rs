//! Property tests of the configuration layer: validation never panics on arbitrary text, and
//! durations survive formatting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image_factory_model as model;

use model::config::validate_factory;
use model::duration::Duration;
use proptest::prelude::*;

/// Text built from YAML's punctuation, keys we know and arbitrary characters.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("- ".to_owned()),
        Just(": ".to_owned()),
        Just("\n".to_owned()),
        Just("\n  ".to_owned()),
        Just("\n    ".to_owned()),
        Just("name".to_owned()),
        Just("repository".to_owned()),
        Just("registry".to_owned()),
        Just("source".to_owned()),
        Just("repo".to_owned()),
        Just("provider".to_owned()),
        Just("updates".to_owned()),
        Just("type".to_owned()),
        Just("tagPolicy".to_owned()),
        Just("rebuildDelay".to_owned()),
        Just("monitoring".to_owned()),
        Just("7d".to_owned()),
        Just("gitlab".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("<<: ".to_owned()),
        Just("!!str ".to_owned()),
        Just("|\n".to_owned()),
        Just("# c".to_owned()),
        Just("---\n".to_owned()),
        Just("\t".to_owned()),
        "[a-zA-Z0-9_./:@-]{0,12}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn validate_never_panics(images in yamlish(), factory in proptest::option::of(yamlish())) {
        let result = validate_factory(&images, "images.yaml", factory.as_deref().map(|t| (t, "factory.yaml")));
        for d in &result.diagnostics {
            let source = if d.file == "factory.yaml" { factory.as_deref().unwrap_or("") } else { &images };
            let _ = d.render(source);
        }
        let _ = result.resolved();
    }

    #[test]
    fn validate_never_panics_on_any_text(images in ".{0,200}") {
        let _ = validate_factory(&images, "images.yaml", Some((&images, "factory.yaml")));
    }

    #[test]
    fn duration_format_parse_roundtrip(secs in 0u64..10_000_000_000) {
        let d = Duration::from_secs(secs);
        prop_assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        prop_assert!(d.to_kargo().ends_with(['h', 'm', 's']));
    }
}

/// A value: scalars of every type, short lists and small mappings with known keys.
fn value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("~".to_owned()),
        Just("true".to_owned()),
        Just("on".to_owned()),
        Just("0".to_owned()),
        Just("3.10".to_owned()),
        Just("\"0\"".to_owned()),
        Just("7d".to_owned()),
        Just("1d12h".to_owned()),
        Just("gitlab".to_owned()),
        Just("acme/web".to_owned()),
        Just("a/b/c".to_owned()),
        Just("ghcr.io".to_owned()),
        Just("Acme/Web:1".to_owned()),
        Just("yaml-update".to_owned()),
        Just("Digest".to_owned()),
        Just("\"${{ x }}\"".to_owned()),
        "[a-z0-9./:@_-]{0,20}",
    ];
    scalar.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..6).prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "name",
        "registry",
        "repository",
        "tag",
        "source",
        "provider",
        "repo",
        "branch",
        "dockerfile",
        "context",
        "workflow",
        "inputs",
        "buildArgs",
        "platform",
        "rebuildDelay",
        "autoRebuild",
        "priority",
        "updates",
        "type",
        "key",
        "path",
        "tagPolicy",
        "strategy",
        "constraint",
        "allowTags",
        "repoURL",
        "local",
        "imageSelectionStrategy",
        "rebuildDelays",
        "project",
        "defaults",
        "monitoring",
        "baseInterval",
        "stagger",
        "secrets",
        "githubToken",
    ])
    .prop_map(str::to_owned)
}

/// Well-formed YAML lists of entries with arbitrary keys and values: exercises the decoders deeply.
fn entries() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::collection::vec((key(), value()), 0..8), 0..6).prop_map(|items| {
        items
            .into_iter()
            .map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("- {{{}}}\n", body.join(", "))
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_arbitrary_entries_never_panics(images in entries(), settings in value()) {
        let result = validate_factory(&images, "images.yaml", Some((&settings, "factory.yaml")));
        for d in &result.diagnostics {
            prop_assert!(d.line > 0 || d.message.contains("empty"), "{d:?}");
            let _ = d.render(&images);
        }
        if let Some(images) = result.resolved() {
            for image in images {
                prop_assert!(image.image_ref().is_some());
            }
        }
    }
}

#[test]
fn a_large_fleet_loads() {
    let mut text = String::new();
    for i in 0..12_000 {
        text.push_str(&format!(
            "- name: img-{i}\n  repository: acme/img-{i}\n  source:\n    repo: acme/repo-{}\n    dockerfile: apps/img-{i}/Dockerfile\n  rebuildDelay: {}d\n",
            i % 500,
            i % 9
        ));
    }
    let result = validate_factory(&text, "images.yaml", None);
    assert!(
        result.diagnostics.is_empty(),
        "{:?}",
        result.diagnostics.first()
    );
    assert_eq!(result.resolved().map(|i| i.len()), Some(12_000));
}
