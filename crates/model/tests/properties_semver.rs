//! Property tests for `semver::Version`: its order is a total order consistent with equality, it
//! agrees with SemVer precedence where that is defined, and parse → display → parse is the
//! identity.
#![allow(clippy::unwrap_used)]

use std::cmp::Ordering;

use image_factory_model::semver::Version;
use proptest::prelude::*;

/// A prerelease identifier: small numbers (so equal ones occur), words, and mixes.
fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..12).prop_map(|n| n.to_string()),
        "(alpha|beta|rc|a|b)",
        "[0-9A-Za-z-]{1,4}".prop_filter("no leading zero in a number", |s| {
            !(s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
        }),
    ]
}

/// The text of a version: every form Masterminds accepts (`v`, one to three parts, leading zeros
/// in the numeric parts, prerelease, build), drawn from small ranges so ties occur.
fn version_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec("0?[0-9]", 1..=3),
        proptest::option::of(prop::collection::vec(identifier(), 1..4)),
        proptest::option::of("[0-9A-Za-z-]{1,4}(\\.[0-9A-Za-z-]{1,4}){0,2}"),
    )
        .prop_map(|(v, parts, pre, build)| {
            let mut text = format!("{}{}", if v { "v" } else { "" }, parts.join("."));
            if let Some(pre) = pre {
                text.push('-');
                text.push_str(&pre.join("."));
            }
            if let Some(build) = build {
                text.push('+');
                text.push_str(&build);
            }
            text
        })
}

fn version() -> impl Strategy<Value = Version> {
    version_text().prop_map(|t| Version::parse(&t).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_round_trips(text in version_text()) {
        let v = Version::parse(&text).unwrap();
        prop_assert_eq!(v.to_string(), text.clone());
        prop_assert_eq!(Version::parse(&v.to_string()).unwrap(), v.clone());
        // The normalized form is a version of the same precedence.
        let normalized = Version::parse(&v.normalized()).unwrap();
        prop_assert_eq!(normalized.cmp_precedence(&v), Ordering::Equal);
    }

    #[test]
    fn order_is_total_and_consistent_with_equality(a in version(), b in version(), c in version()) {
        // Antisymmetric, and equal exactly when equal.
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
        prop_assert_eq!(a == b, a.as_str() == b.as_str());
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
        // Transitive.
        if a <= b && b <= c {
            prop_assert!(a <= c, "{a} <= {b} <= {c}");
        }
        // Ord refines precedence.
        if a.cmp_precedence(&b) != Ordering::Equal {
            prop_assert_eq!(a.cmp(&b), a.cmp_precedence(&b));
        }
    }

    #[test]
    fn precedence_is_a_total_preorder(a in version(), b in version(), c in version()) {
        prop_assert_eq!(a.cmp_precedence(&b), b.cmp_precedence(&a).reverse());
        if a.cmp_precedence(&b).is_le() && b.cmp_precedence(&c).is_le() {
            prop_assert!(a.cmp_precedence(&c).is_le(), "{a} <= {b} <= {c}");
        }
    }

    #[test]
    fn precedence_is_semver_where_defined(a in version(), b in version()) {
        // Numbers first, a release above its prereleases; the build never matters.
        let core = |v: &Version| (v.major(), v.minor(), v.patch());
        if core(&a) != core(&b) {
            prop_assert_eq!(a.cmp_precedence(&b), core(&a).cmp(&core(&b)));
        } else if a.prerelease().is_none() && b.prerelease().is_some() {
            prop_assert_eq!(a.cmp_precedence(&b), Ordering::Greater);
        } else if a.prerelease() == b.prerelease() {
            prop_assert_eq!(a.cmp_precedence(&b), Ordering::Equal);
        }
    }

    #[test]
    fn sorting_is_deterministic(mut versions in prop::collection::vec(version(), 0..12)) {
        let mut reversed = versions.clone();
        reversed.reverse();
        versions.sort();
        reversed.sort();
        prop_assert_eq!(versions, reversed);
    }
}
