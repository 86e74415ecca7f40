//! The manifest's YAML writer (`yaml_writer`, ADR 0006) against its oracle, serde-saphyr: for
//! arbitrary strings, arbitrary nested JSON values and every kind of object a fleet synthesises,
//! the writer's text is byte for byte serde-saphyr's, and serde-saphyr reads it back as the same
//! value. Strings are drawn from the spellings YAML 1.1 and 1.2 readers would take for something
//! else (`on`, `1.10`, `0x1F`, `~`, timestamps, indicators, control and non-printable characters)
//! as well as from all of Unicode, and long enough to reach the folded and literal block styles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image_factory_synth::yaml_writer;
use image_factory_synth::{fleet, synthesize};
use model::settings::Settings;
use proptest::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The writer's text and serde-saphyr's for the same value, which must be equal.
fn both<T: Serialize>(value: &T) -> (String, String) {
    let ours = yaml_writer::to_string(value).expect("the writer fails");
    let theirs = serde_saphyr::to_string(value).expect("serde-saphyr fails");
    (ours, theirs)
}

/// Pieces that change how YAML reads a scalar, to be glued into strings.
const PIECES: &[&str] = &[
    "on",
    "off",
    "On",
    "OFF",
    "yes",
    "no",
    "y",
    "n",
    "Y",
    "N",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "1.10",
    "0x1F",
    "0o17",
    "0b11",
    "1e3",
    "1_000",
    "190:20:30",
    ".inf",
    "-.inf",
    ".nan",
    "nan",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "2024-1-1 1:2:3",
    "<<",
    "=",
    "---",
    "...",
    "#",
    " #",
    ": ",
    ":",
    "- ",
    "-",
    "?",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "*",
    "&",
    "!",
    "|",
    ">",
    "%",
    "@",
    "`",
    "'",
    "\"",
    "\\",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r",
    "\r\n",
    "\0",
    "\u{7}",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{2029}",
    "\u{feff}",
    "\u{fffe}",
    "\u{3000}",
    "é",
    "字",
    "😀",
    "${{",
    "}}",
    "a",
    "b",
    "word",
    "image-web",
    "0",
    "1",
    "9",
    ".",
    "_",
    "+",
    "ghcr.io/acme/web:1.2",
];

/// Strings from [`PIECES`], plain words and Unicode, up to a few hundred characters.
fn yaml_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(PIECES), 0..8).prop_map(|p| p.concat()),
        2 => any::<String>(),
        // Long lines of words and runs of spaces: the folded style and its wrapping.
        2 => prop::collection::vec(
            prop_oneof![
                "[a-z]{1,12}",
                Just(" ".to_owned()),
                Just("  ".to_owned()),
                Just("\t".to_owned()),
                "[a-z]{70,90}",
                prop::sample::select(PIECES).prop_map(str::to_owned),
            ],
            10..60
        )
        .prop_map(|p| p.concat()),
        // Multi-line text: the literal style, its chomping and indentation indicator.
        1 => prop::collection::vec(
            prop_oneof!["[ ]{0,3}[a-z #:]{0,20}", Just(String::new())],
            1..6
        )
        .prop_map(|lines| lines.join("\n"))
        .prop_flat_map(|text| (Just(text), 0..3usize))
        .prop_map(|(text, trailing)| text + &"\n".repeat(trailing)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        yaml_string().prop_map(Value::String),
    ]
}

/// Nested values: sequences and mappings (string keys, including the tricky ones) of anything,
/// empty ones included.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(yaml_string(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// (a) A string alone, as a mapping key and value, and as sequence items at three depths:
    /// serde-saphyr's text; (b) it reads back as the same string.
    #[test]
    fn strings_are_written_as_serde_saphyr_writes_them(s in yaml_string()) {
        let value = json!({
            "top": s,
            s.clone(): {"nested": [s, [s, {s.clone(): s}]]},
            "list": [{"k": s, "m": [s]}],
        });
        for v in [Value::String(s.clone()), value] {
            let (ours, theirs) = both(&v);
            prop_assert_eq!(&ours, &theirs);
            let back: Value = serde_saphyr::from_str(&ours).expect("does not read back");
            prop_assert_eq!(back, v);
        }
    }

    /// (a) Any nested value: serde-saphyr's text; (b) it reads back as the same value.
    #[test]
    fn values_are_written_as_serde_saphyr_writes_them(v in value()) {
        let (ours, theirs) = both(&v);
        prop_assert_eq!(&ours, &theirs);
        let back: Value = serde_saphyr::from_str(&ours).expect("does not read back");
        prop_assert_eq!(back, v);
    }
}

/// Every object of a synthesised fleet (all kinds, typed, in struct field order): serde-saphyr's
/// text, and the manifest as a whole is its documents joined.
#[test]
fn fleet_objects_are_written_as_serde_saphyr_writes_them() {
    let (images, state) = fleet::generate(300, 40);
    let mut settings = Settings::default();
    settings.backstage.enabled = true;
    let manifest = synthesize(&images, &settings, &state).expect("synthesises");
    let mut kinds = std::collections::BTreeSet::new();
    let mut joined = image_factory_synth::HEADER.to_owned();
    for (i, object) in manifest.objects.iter().enumerate() {
        let (ours, theirs) = both(object);
        assert_eq!(ours, theirs, "{}/{}", object.kind(), object.name());
        if i > 0 {
            joined.push_str("---\n");
        }
        joined.push_str(&theirs);
        kinds.insert(object.kind());
    }
    assert_eq!(manifest.yaml, joined);
    assert!(kinds.len() >= 6, "too few kinds: {kinds:?}");
}

/// Shapes the writer hands to serde-saphyr whole (floats are asked of it one by one): the output
/// is still serde-saphyr's.
#[test]
fn shapes_left_to_serde_saphyr_come_out_the_same() {
    #[derive(Serialize)]
    enum E {
        Tuple(u8, u8),
        Struct { a: u8 },
        Newtype(Vec<u8>),
        Unit,
    }
    #[derive(Serialize)]
    struct S {
        tuple: E,
        strukt: E,
        newtype: E,
        unit: E,
        list: Vec<E>,
        float: f64,
        small: f32,
        bytes: serde_bytes_like::Bytes,
    }
    mod serde_bytes_like {
        /// Serialised with `serialize_bytes`, as `serde_bytes` does.
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }
    let s = S {
        tuple: E::Tuple(1, 2),
        strukt: E::Struct { a: 1 },
        newtype: E::Newtype(vec![1, 2]),
        unit: E::Unit,
        list: vec![E::Newtype(vec![]), E::Struct { a: 2 }, E::Unit],
        float: 1e300,
        small: 0.1,
        bytes: serde_bytes_like::Bytes(vec![0, 255]),
    };
    let (ours, theirs) = both(&s);
    assert_eq!(ours, theirs);
    let long_key = "k".repeat(1100);
    for v in [
        json!({ long_key.clone(): 1, "b": [1.5, -0.0, 1e-7] }),
        json!([[[]], {}, [{}], 2.5]),
        json!(E::Newtype(vec![3])),
    ] {
        let (ours, theirs) = both(&v);
        assert_eq!(ours, theirs, "{v}");
    }
    let (ours, theirs) = both(&E::Newtype(vec![1]));
    assert_eq!(ours, theirs);
}
