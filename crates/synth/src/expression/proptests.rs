//! Properties of the parser over random syntax trees: every tree, printed, parses back to the same
//! tree; and printed between Kargo's delimiters (`${{ }}`, or `${% %}` when the text holds `}}`),
//! it passes [`super::check`]; and no input, random text or random token soup, makes the parser or
//! the template check panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;

use proptest::prelude::*;

use super::ast::{BinaryOp, Expr, UnaryOp};
use super::lexer::is_keyword;
use super::parser::predicate_signature;
use super::{check, parse};

/// Names of variables, functions, methods and `let` bindings: never a keyword, a literal name or
/// a predicate function.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_$][a-zA-Z0-9_$]{0,6}".prop_filter("not a reserved word", |n| {
        !is_keyword(n)
            && !matches!(n.as_str(), "true" | "false" | "nil")
            && predicate_signature(n).is_none()
    })
}

fn leaf() -> impl Strategy<Value = Expr<'static>> {
    prop_oneof![
        Just(Expr::Nil),
        any::<bool>().prop_map(Expr::Bool),
        (0..=i64::MAX).prop_map(Expr::Int),
        (0.0..1e300f64).prop_map(Expr::Float),
        any::<String>().prop_map(|s| Expr::Str(Cow::Owned(s))),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(Expr::Bytes),
        name().prop_map(|n| Expr::Ident(Cow::Owned(n))),
        // Pointers are only valid in predicates: `fix` turns the others into names.
        prop_oneof![
            Just(String::new()),
            Just("index".to_owned()),
            Just("acc".to_owned())
        ]
        .prop_map(|n| Expr::Pointer(Cow::Owned(n))),
    ]
}

fn boxed(e: Expr<'static>) -> Box<Expr<'static>> {
    Box::new(e)
}

fn expr() -> impl Strategy<Value = Expr<'static>> {
    leaf()
        .prop_recursive(5, 48, 4, |inner| {
            let predicates = [
                "all",
                "none",
                "any",
                "one",
                "filter",
                "map",
                "count",
                "sum",
                "find",
                "findIndex",
                "findLast",
                "findLastIndex",
                "groupBy",
                "sortBy",
                "reduce",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Expr::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            any::<String>().prop_map(|s| Expr::Str(Cow::Owned(s))),
                            inner.clone()
                        ],
                        inner.clone()
                    ),
                    0..3
                )
                .prop_map(Expr::Map),
                (inner.clone(), name(), any::<bool>()).prop_map(|(o, n, optional)| Expr::Member {
                    object: boxed(o),
                    property: boxed(Expr::Str(Cow::Owned(n))),
                    optional,
                }),
                (inner.clone(), inner.clone(), any::<bool>()).prop_map(|(o, p, optional)| {
                    Expr::Member {
                        object: boxed(o),
                        property: boxed(p),
                        optional,
                    }
                }),
                (
                    inner.clone(),
                    proptest::option::of(inner.clone()),
                    proptest::option::of(inner.clone())
                )
                    .prop_map(|(o, from, to)| Expr::Slice {
                        object: boxed(o),
                        from: from.map(boxed),
                        to: to.map(boxed),
                    }),
                (name(), proptest::collection::vec(inner.clone(), 0..3)).prop_map(|(n, args)| {
                    Expr::Call {
                        callee: boxed(Expr::Ident(Cow::Owned(n))),
                        args,
                    }
                }),
                (
                    inner.clone(),
                    name(),
                    any::<bool>(),
                    proptest::collection::vec(inner.clone(), 0..3)
                )
                    .prop_map(|(o, n, optional, args)| Expr::Call {
                        callee: boxed(Expr::Member {
                            object: boxed(o),
                            property: boxed(Expr::Str(Cow::Owned(n))),
                            optional,
                        }),
                        args,
                    }),
                (
                    proptest::sample::select(predicates.to_vec()),
                    inner.clone(),
                    inner.clone(),
                    proptest::option::of(inner.clone()),
                    any::<bool>()
                )
                    .prop_map(|(n, collection, body, extra, short)| {
                        let (kinds, required) = predicate_signature(n).unwrap_or((&[], 0));
                        let mut args = vec![collection, Expr::Predicate(boxed(body))];
                        if let Some(extra) = extra
                            && kinds.len() > 2
                        {
                            args.push(extra);
                        }
                        args.truncate(if short { required } else { args.len() });
                        Expr::Call {
                            callee: boxed(Expr::Ident(Cow::Borrowed(n))),
                            args,
                        }
                    }),
                (
                    proptest::sample::select(vec![
                        UnaryOp::Not,
                        UnaryOp::Bang,
                        UnaryOp::Neg,
                        UnaryOp::Plus
                    ]),
                    inner.clone()
                )
                    .prop_map(|(op, operand)| Expr::Unary {
                        op,
                        operand: boxed(operand),
                    }),
                (
                    proptest::sample::select(BinaryOp::ALL.to_vec()),
                    inner.clone(),
                    inner.clone()
                )
                    .prop_map(|(op, l, r)| Expr::Binary {
                        op,
                        left: boxed(l),
                        right: boxed(r),
                    }),
                (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, t, o)| {
                    Expr::Conditional {
                        cond: boxed(c),
                        then: boxed(t),
                        otherwise: boxed(o),
                    }
                }),
                (name(), inner.clone(), inner.clone()).prop_map(|(n, v, b)| Expr::Let {
                    name: Cow::Owned(n),
                    value: boxed(v),
                    body: boxed(b),
                }),
                proptest::collection::vec(inner, 2..4).prop_map(Expr::Sequence),
            ]
        })
        .prop_map(|e| fix(e, false))
}

/// Replaces the pointers outside predicates (which expr-lang refuses) by a name.
fn fix(e: Expr<'static>, in_predicate: bool) -> Expr<'static> {
    let f = |e: Expr<'static>| fix(e, in_predicate);
    let b = |e: Box<Expr<'static>>| boxed(fix(*e, in_predicate));
    match e {
        Expr::Pointer(_) if !in_predicate => Expr::Ident(Cow::Borrowed("x")),
        Expr::Predicate(body) => Expr::Predicate(boxed(fix(*body, true))),
        Expr::Array(items) => Expr::Array(items.into_iter().map(f).collect()),
        Expr::Map(pairs) => Expr::Map(pairs.into_iter().map(|(k, v)| (f(k), f(v))).collect()),
        Expr::Member {
            object,
            property,
            optional,
        } => Expr::Member {
            object: b(object),
            property: b(property),
            optional,
        },
        Expr::Slice { object, from, to } => Expr::Slice {
            object: b(object),
            from: from.map(b),
            to: to.map(b),
        },
        Expr::Call { callee, args } => Expr::Call {
            callee: b(callee),
            args: args.into_iter().map(f).collect(),
        },
        Expr::Unary { op, operand } => Expr::Unary {
            op,
            operand: b(operand),
        },
        Expr::Binary { op, left, right } => Expr::Binary {
            op,
            left: b(left),
            right: b(right),
        },
        Expr::Conditional {
            cond,
            then,
            otherwise,
        } => Expr::Conditional {
            cond: b(cond),
            then: b(then),
            otherwise: b(otherwise),
        },
        Expr::Let { name, value, body } => Expr::Let {
            name,
            value: b(value),
            body: b(body),
        },
        Expr::Sequence(items) => Expr::Sequence(items.into_iter().map(f).collect()),
        leaf => leaf,
    }
}

/// Text made of expr-lang tokens and Kargo delimiters, to reach deep into the parser.
fn token_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "a", "b.c", "#", "#index", ".", "?.", "??", "?", ":", "::", "(", ")", "[", "]", "{", "}",
        ",", ";", "|", "||", "&&", "!", "not", "in", "let", "=", "if", "else", "+", "-", "**",
        "..", "<", "<=", "1", "1_0", "0x1F", ".5", "1e3", "'s'", "\"t\"", "`r`", "b'x'", "filter(",
        "map(", "count(", "f(", "true", "nil", " ", "${{", "}}", "${%", "%}", "\\", "\"", "'",
        "/*", "*/", "//", "\n",
    ];
    proptest::collection::vec(proptest::sample::select(tokens), 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_input_panics(text in prop_oneof![any::<String>(), token_soup()]) {
        let parsed = parse(&text);
        if let Err(e) = &parsed {
            prop_assert!(e.at <= text.len() && text.is_char_boundary(e.at), "{text:?}: {e:?}");
        }
        let _ = check(&text);
        let _ = super::check_bare(&text);
    }

    #[test]
    fn printed_trees_parse_back_to_the_same_tree(tree in expr()) {
        let printed = tree.to_string();
        let parsed = parse(&printed);
        prop_assert!(parsed.is_ok(), "{printed:?}: {parsed:?}");
        prop_assert_eq!(parsed.ok(), Some(tree), "{:?}", printed);
    }

    #[test]
    fn printed_trees_pass_the_kargo_check(tree in expr()) {
        let printed = tree.to_string();
        let template = if printed.contains("}}") {
            format!("${{% {printed} %}}")
        } else {
            format!("prefix ${{{{ {printed} }}}} suffix")
        };
        if !(printed.contains("}}") && printed.contains("%}")) {
            prop_assert_eq!(check(&template), Ok(()), "{}", template);
        }
    }
}
