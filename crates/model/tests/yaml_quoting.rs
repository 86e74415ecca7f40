//! ADR 0001: serde-saphyr quotes every string that YAML 1.1 readers (Kubernetes, Argo CD, PyYAML)
//! would take for something else, so our generated files mean what we wrote.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

/// Strings that a YAML 1.1 reader takes for booleans, numbers or null when written plain.
const AMBIGUOUS: &[&str] = &[
    "on", "off", "yes", "no", "y", "n", "true", "false", "ON", "Yes", "null", "~", "1.10", "0",
    "010", "1e3", "0x1F", ".inf", "", "7d: x", "- a", "#c",
];

#[test]
fn ambiguous_strings_are_quoted_and_survive_a_round_trip() {
    let map: BTreeMap<String, String> = AMBIGUOUS
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("k{i:02}"), (*s).to_owned()))
        .collect();
    let text = serde_saphyr::to_string(&map).unwrap();
    for (key, value) in &map {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .unwrap();
        let written = line[key.len() + 1..].trim();
        assert!(
            written.starts_with('"') || written.starts_with('\''),
            "{value:?} written unquoted: {line:?}"
        );
    }
    let back: BTreeMap<String, String> = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(back, map);
}

#[test]
fn on_survives_quoted() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Trigger {
        on: String,
    }
    let value = Trigger { on: "on".into() };
    let text = serde_saphyr::to_string(&value).unwrap();
    // Even the key is quoted: a YAML 1.1 reader would read a plain `on:` key as `true:`.
    assert_eq!(text.trim(), r#""on": "on""#);
    assert_eq!(serde_saphyr::from_str::<Trigger>(&text).unwrap(), value);
}
