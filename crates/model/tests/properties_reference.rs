//! Property tests for image references and names (SPEC §11 #6, #19; §7.3).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use image_factory_model::names::{self, BaseIds, MAX_ID_LEN, MAX_LABEL_LEN, is_dns1123_label};
use image_factory_model::reference::ImageRef;
use proptest::prelude::*;

fn domain() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("docker.io".to_owned())),
        Just(Some("localhost".to_owned())),
        Just(Some("[fc00::1]:5000".to_owned())),
        (
            "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){1,2}",
            proptest::option::of(1u16..65535)
        )
            .prop_map(|(host, port)| Some(match port {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9]{1,6}([._-][a-z0-9]{1,6}){0,2}", 1..4).prop_map(|c| c.join("/"))
}

fn reference_text() -> impl Strategy<Value = String> {
    (
        domain(),
        path(),
        proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        proptest::option::of("[a-f0-9]{64}"),
    )
        .prop_map(|(domain, path, tag, digest)| {
            // Without a domain, a first component with `.` would be read as a host: give it one.
            let first_looks_like_host = path.split('/').next().is_some_and(|c| c.contains('.'));
            let domain = match domain {
                None if first_looks_like_host && path.contains('/') => Some("docker.io".to_owned()),
                other => other,
            };
            let mut s = domain.map_or(path.clone(), |d| format!("{d}/{path}"));
            if let Some(tag) = tag {
                s = format!("{s}:{tag}");
            }
            if let Some(hex) = digest {
                s = format!("{s}@sha256:{hex}");
            }
            s
        })
}

proptest! {
    /// SPEC §11 #6: parse → format → parse is the identity, in both written forms.
    #[test]
    fn format_then_parse_is_identity(text in reference_text()) {
        let parsed = ImageRef::parse_normalized(&text).unwrap();
        prop_assert_eq!(&ImageRef::parse_normalized(&parsed.canonical()).unwrap(), &parsed);
        // Like upstream, the familiar form of a Docker Hub namespace that looks like a host
        // (`docker.io/0.0/a` → `0.0/a`) reads back as a registry; Docker Hub has no such namespaces.
        let hub_namespace_like_host = parsed.domain() == "docker.io"
            && parsed.path().split('/').next().is_some_and(|c| c.contains('.'));
        if !hub_namespace_like_host {
            prop_assert_eq!(&ImageRef::parse_normalized(&parsed.familiar()).unwrap(), &parsed);
        }
        prop_assert_eq!(&parsed.to_string().parse::<ImageRef>().unwrap(), &parsed);
    }

    /// Any text either fails cleanly or parses to a reference that round-trips.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        if let Ok(parsed) = ImageRef::parse_normalized(&text) {
            prop_assert_eq!(ImageRef::parse_normalized(&parsed.canonical()).unwrap(), parsed);
        }
    }

    /// SPEC §7.3: ids are DNS-1123 labels ≤ 40 and distinct references never share one.
    #[test]
    fn distinct_references_never_share_an_id(texts in prop::collection::vec(reference_text(), 1..40)) {
        let mut ids = BaseIds::new();
        let mut owner: BTreeMap<String, String> = BTreeMap::new();
        for text in &texts {
            let reference = ImageRef::parse_normalized(text).unwrap();
            let id = ids.assign(&reference);
            prop_assert!(is_dns1123_label(&id, MAX_ID_LEN), "{id:?}");
            let canonical = reference.canonical();
            let previous = owner.entry(id.clone()).or_insert_with(|| canonical.clone());
            prop_assert_eq!(&*previous, &canonical, "id {} shared", id);
        }
    }

    /// SPEC §11 #19: every generated Kubernetes name is a DNS-1123 label ≤ 63, whatever the input.
    #[test]
    fn every_generated_name_is_a_label(name in "\\PC{0,120}", id in "\\PC{0,120}", n in any::<usize>()) {
        for generated in [
            names::image_warehouse(&name),
            names::base_warehouse(&id),
            names::analyze_stage(&name),
            names::observe_stage(&id),
            names::update_stage(&name, n),
            names::label(&[&name, &id]),
        ] {
            prop_assert!(is_dns1123_label(&generated, MAX_LABEL_LEN), "{generated:?}");
        }
    }
}

/// Colliding plain ids: `a-b:c` and `a:b-c` both slug to `a-b-c`.
#[test]
fn id_collisions_are_resolved_deterministically() {
    let refs = ["a-b:c", "a:b-c", "a/b:c"].map(|s| ImageRef::parse_normalized(s).unwrap());
    let run = || {
        let mut ids = BaseIds::new();
        refs.iter().map(|r| ids.assign(r)).collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|id| id.starts_with("a-b-c")));
    let unique: std::collections::BTreeSet<_> = first.iter().collect();
    assert_eq!(unique.len(), 3);
}

proptest! {
    /// Issue 8 part 5: a first component `splitDockerDomain` takes for a host but the grammar does
    /// not (`foo_bar.com`) leaves distribution/reference with an empty domain; no form we print
    /// then starts with `/`, and every form parses back to the same reference.
    #[test]
    fn host_like_first_components_never_print_a_leading_slash(
        first in "[a-z0-9][a-z0-9._-]{0,10}",
        rest in path(),
        tag in proptest::option::of("[a-z0-9]{1,6}"),
    ) {
        let mut text = format!("{first}/{rest}");
        if let Some(tag) = &tag {
            text = format!("{text}:{tag}");
        }
        if let Ok(r) = ImageRef::parse_normalized(&text) {
            for form in [r.name(), r.familiar_name(), r.familiar(), r.canonical(), r.normalized()] {
                prop_assert!(!form.starts_with('/'), "{text} → {form}");
                prop_assert_eq!(
                    ImageRef::parse_normalized(&form).map(|p| p.without_tag_and_digest()),
                    Ok(r.without_tag_and_digest()),
                    "{} → {}", text, form
                );
            }
            prop_assert_eq!(r.domain().is_empty(), r.name() == r.path());
        }
    }
}

/// The previous implementation, on distribution/reference's own regular expressions (leftmost-first
/// like Go's, anchored): the oracle of the hand-written grammar.
mod oracle {
    use std::sync::LazyLock;

    use regex::Regex;

    /// `(reference, name)`: `ReferenceRegexp` and `anchoredNameRegexp` of `regexp.go`.
    static GRAMMAR: LazyLock<(Regex, Regex)> = LazyLock::new(|| {
        let alnum = "[a-z0-9]+";
        let separator = "(?:[._]|__|[-]+)";
        let path_component = format!("{alnum}(?:{separator}{alnum})*");
        let domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        let domain_name = format!("{domain_component}(?:\\.{domain_component})*");
        let host = format!("(?:{domain_name}|\\[(?:[a-fA-F0-9:]+)\\])");
        let domain_and_port = format!("{host}(?::[0-9]+)?");
        let tag = "[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}";
        let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
        let remote_name = format!("{path_component}(?:/{path_component})*");
        let name = format!("(?:{domain_and_port}/)?{remote_name}");
        (
            Regex::new(&format!("^({name})(?::({tag}))?(?:@({digest}))?$")).unwrap(),
            Regex::new(&format!("^(?:({domain_and_port})/)?({remote_name})$")).unwrap(),
        )
    });

    /// (domain, path, tag, digest) of `s`, as the regular expressions split it.
    pub fn split(s: &str) -> Option<(String, String, Option<String>, Option<String>)> {
        let (reference, name_re) = &*GRAMMAR;
        let caps = reference.captures(s)?;
        let name = caps.get(1).map_or("", |m| m.as_str());
        let (domain, path) = match name_re.captures(name) {
            Some(n) => (
                n.get(1).map_or("", |m| m.as_str()),
                n.get(2).map_or("", |m| m.as_str()),
            ),
            None => ("", name),
        };
        let text = |i: usize| caps.get(i).map(|m| m.as_str().to_owned());
        Some((domain.to_owned(), path.to_owned(), text(2), text(3)))
    }
}

/// Text near the grammar: its characters, hosts, ports, IPv6, separators, tags and digests.
fn grammar_noise() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z0-9]{1,4}",
        "[A-Z]{1,2}",
        Just("/".to_owned()),
        Just(":".to_owned()),
        Just("@".to_owned()),
        Just(".".to_owned()),
        Just("_".to_owned()),
        Just("__".to_owned()),
        Just("---".to_owned()),
        Just("[::1]".to_owned()),
        Just("[fe80:".to_owned()),
        Just("localhost:5000".to_owned()),
        Just("sha256:".to_owned()),
        "[a-f0-9]{32,64}",
        "[+.\\-_][a-z]",
    ];
    prop::collection::vec(piece, 0..10).prop_map(|p| p.concat())
}

/// Reference-shaped text: components of grammar characters (edges included: leading and trailing
/// separators, `-` at a host's ends, upper case, ports, IPv6), an optional tag and digest.
fn reference_shaped() -> impl Strategy<Value = String> {
    let component = prop_oneof![
        "[a-zA-Z0-9._-]{1,7}",
        "[a-z0-9]{1,3}((__|_|\\.|-+)[a-z0-9]{0,3}){1,3}",
        "[a-z0-9-]{1,4}(\\.[a-z0-9-]{1,4}){0,2}(:[0-9]{0,5})?",
        "\\[[a-fA-F0-9:]{0,5}\\](:[0-9]{1,4})?",
    ];
    (
        prop::collection::vec(component, 1..4),
        proptest::option::of("[a-zA-Z0-9._:/-]{0,8}"),
        proptest::option::of("[a-zA-Z0-9+._-]{1,8}:[a-fA-F0-9]{30,66}"),
    )
        .prop_map(|(components, tag, digest)| {
            let mut s = components.join("/");
            if let Some(tag) = tag {
                s = format!("{s}:{tag}");
            }
            if let Some(digest) = digest {
                s = format!("{s}@{digest}");
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The hand-written grammar accepts exactly what distribution/reference's regular expressions
    /// accept, and splits it the same way (checked through `parse_normalized` on names that carry
    /// an explicit domain, where normalisation adds nothing).
    #[test]
    fn the_grammar_agrees_with_the_regular_expressions(
        text in prop_oneof![reference_shaped(), grammar_noise(), reference_text(), "\\PC{0,30}"]
    ) {
        let explicit = format!("docker.io/{text}");
        for input in [text.as_str(), explicit.as_str()] {
            let parsed = ImageRef::parse_normalized(input);
            // parse_normalized puts the domain in front when the first component is not one.
            let (domain, remainder) = match input.split_once('/') {
                Some((d, r)) if d.contains(['.', ':']) || d == "localhost" || d.to_lowercase() != d => {
                    (if d == "index.docker.io" { "docker.io" } else { d }, r.to_owned())
                }
                _ => ("docker.io", input.to_owned()),
            };
            let remainder = if domain == "docker.io" && !remainder.contains('/') {
                format!("library/{remainder}")
            } else {
                remainder
            };
            let full = format!("{domain}/{remainder}");
            let hex_id = input.len() == 64 && input.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            let upper = remainder.split_once(':').map_or(remainder.as_str(), |(r, _)| r);
            match oracle::split(&full) {
                Some((d, p, tag, digest))
                    if !hex_id && upper.to_lowercase() == upper && p.len() <= 255 =>
                {
                    match &parsed {
                        Ok(r) => {
                            prop_assert_eq!(r.domain(), d.as_str(), "{}", input);
                            prop_assert_eq!(r.path(), p.as_str(), "{}", input);
                            prop_assert_eq!(r.tag().map(str::to_owned), tag, "{}", input);
                            prop_assert_eq!(r.digest().map(str::to_owned), digest, "{}", input);
                        }
                        // Only go-digest's own check may refuse what the grammar accepts.
                        Err(e) => prop_assert!(e.to_string().contains("digest"), "{input}: {e}"),
                    }
                }
                Some(_) => prop_assert!(parsed.is_err(), "{}", input),
                None => prop_assert!(parsed.is_err(), "{} parsed as {:?}", input, parsed),
            }
        }
    }
}
