//! The parser against expr-lang's own parser tests (`testdata/expr-lang-*.json`: the inputs of
//! `TestParse`, `TestParse_optional_chaining`, `TestParse_pipe_operator` and `TestParse_error` of
//! expr-lang v1.17.8's `parser/parser_test.go`, MIT licence), the expressions of Kargo v1.11's
//! documentation and `json_templates_test.go`, the expressions image-factory generates, and
//! hand-written errors with their columns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::ast::{BinaryOp, Expr, UnaryOp};
use super::error::ErrorKind;
use super::template::Delimiters;
use super::{TemplateError, check, parse};

/// Parses `src`, prints the tree and parses the print: the same tree.
fn round_trip(src: &str) {
    let tree = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e} at byte {}", e.at));
    let printed = tree.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{src:?} printed as {printed:?}: {e}"));
    assert_eq!(tree, again, "{src:?} printed as {printed:?}");
}

#[test]
fn expr_lang_parser_tests_parse() {
    let inputs: Vec<String> =
        serde_json::from_str(include_str!("testdata/expr-lang-valid.json")).unwrap();
    assert!(inputs.len() > 100);
    for src in &inputs {
        round_trip(src);
    }
}

#[test]
fn expr_lang_parser_error_tests_fail_where_expr_lang_does() {
    #[derive(serde::Deserialize)]
    struct Case {
        input: String,
        expr_lang_error: String,
    }
    let cases: Vec<Case> =
        serde_json::from_str(include_str!("testdata/expr-lang-invalid.json")).unwrap();
    assert!(cases.len() > 20);
    for case in &cases {
        let error = parse(&case.input).expect_err(&case.input);
        // Parser errors point at a token, as expr-lang's do ("(1:N)", N from 1); lexer errors
        // and the end of the input are reported at slightly different places, so only the
        // token errors are compared.
        let token_error = !case.expr_lang_error.contains("EOF")
            && !case.expr_lang_error.contains("end of expression")
            && !case.expr_lang_error.contains("number syntax")
            && !case.expr_lang_error.contains("float literal");
        if token_error {
            let column: usize = case
                .expr_lang_error
                .rsplit_once(':')
                .and_then(|(_, c)| c.trim_end_matches(')').parse().ok())
                .unwrap();
            assert_eq!(
                error.at + 1,
                column,
                "{:?}: {error} (expr-lang: {})",
                case.input,
                case.expr_lang_error
            );
        }
    }
}

/// Expressions of Kargo v1.11.2's documentation (`docs/docs/**/*.md`) and of
/// `pkg/expressions/json_templates_test.go`.
const KARGO_DOCS: &[&str] = &[
    r#""Hello, world!""#,
    "40 + 2",
    "always()",
    "asJSON(outputs['read-config'].appConfig)",
    "asYAML(outputs['read-config'].appConfig)",
    "baz.qux",
    r#"chartFrom("https://example.com/charts", "my-chart", warehouse("my-warehouse")).Version"#,
    r#"chartFrom("oci://example.com/my-chart").Version"#,
    r#"chartFrom(vars.chartReg + "/some-chart").Version"#,
    "chartFrom(vars.chartRepo, vars.chartName).Version",
    r#"commitFrom("https://github.com/example/repo.git", warehouse("my-warehouse")).ID"#,
    r#"commitFrom(vars.gitRepo, warehouse(ctx.stage + "-overlay")).ID"#,
    "configMap('my-config').foo",
    "config.nested.values[0]",
    "ctx.meta.promotion.rollback",
    "ctx.targetFreight.name",
    "event.freight.stageName",
    "failure() && status('comment-on-issue') == 'Succeeded'",
    "freightMetadata(ctx.targetFreight.name)?.config?.settings?.timeoutSeconds ?? 300",
    "freightMetadata(ctx.targetFreight.name)['change-request-key']",
    r#"freightMetadata(ctx.targetFreight.name)['settings'] ?? "default-settings""#,
    r#"imageFrom("public.ecr.aws/nginx/nginx", warehouse("my-warehouse")).Tag"#,
    r#"imageFrom(vars.packageRegistry+"/"+vars.packageRepo+"/"+vars.packageName).Tag"#,
    "len(outputs['find-release-issues'].issues) > 0",
    "normalizeGit(request.body.repository.url)",
    r#"outputs["push-to-stage"].digest"#,
    "outputs['fetch-issue'].issues[0].number",
    "outputs.step1.someOutput == 'value'",
    r#"quote("string")"#,
    "quote(40 + 2)",
    "quote(freightMetadata(ctx.targetFreight.name)?.slackThreadTS ?? '')",
    "quote(outputs['send-slack']?.slack?.threadTS ?? '')",
    r#"secret("jfrog-credentials").privateKey"#,
    "semverDiff(imageFrom(vars.imageRepo).Tag, outputs['read-version'].currentVersion) != 'Major'",
    "semverParse(task.outputs['read-version'].currentVersion).IncMinor().String()",
    "sharedSecret('slack').token",
    "stageMetadata(ctx.stage)['tier'] ?? \"default-tier\"",
    r#"status("my-name") == 'Errored'"#,
    "status('open-pr') != 'Skipped'",
    "success() ? 'succeeded' : 'failed'",
    "task.outputs['expected-name'].name != chartFrom('oci://example.com/my-chart').Name",
    r#"unsafeQuote("string")"#,
    // json_templates_test.go
    "true",
    r#"\"null\""#,
    "quote(null)",
    "quote({ 'foo': 'bar' })",
    "asYAML({ 'foo': 'bar', 'count': 2 })",
    "asYAML([ 'one', 'two' ])",
    r#"quote({"foo": "bar"})"#,
    r#"{"foo": "bar"}"#,
    "'bar'",
];

#[test]
fn kargo_documentation_expressions_parse() {
    for src in KARGO_DOCS {
        if *src == r#"\"null\""# {
            // Written inside a JSON string in the Go test: the expression is `"null"`.
            round_trip(r#""null""#);
            continue;
        }
        round_trip(src);
    }
}

/// What synth generates (`synthesize.rs`), the nested-map bodies included: on their own they
/// parse; it is Kargo's cut at the first `}}` that breaks them.
const GENERATED: &[&str] = &[
    "imageFrom('docker.io/library/node').Digest",
    "imageFrom('registry.gitlab.com/acme/payments/billing-worker').Tag",
    "secret('github-token').token",
    r#"quote({"ref": vars.ref})"#,
    r#"quote({"ref": vars.ref, "inputs": {"push": vars.input1}})"#,
    r#"quote({"token": secret('gitlab-trigger-token').token, "ref": vars.ref, "variables": {"DEPLOY": vars.input1}})"#,
    "response.status == 204",
    "response.status >= 400 && response.status < 500",
    "imageFrom('docker.io/library/debian').Tag != ''",
];

#[test]
fn generated_expressions_parse() {
    for src in GENERATED {
        round_trip(src);
    }
}

/// The grammar, construct by construct (expr-lang's language definition).
#[test]
fn grammar() {
    for src in [
        // Literals.
        "1_000 + 0x1F + 0o17 + 0b101 + 1.5e3 + .5 + 1e-3 + 1.",
        r#""a\"b\n\t\\ \x41 \u00e9 \u{1F600} \101" + 'it\'s' + `raw ``q`` \n`"#,
        "true && false || nil == nil",
        r#"b"\x00\xff" + b'abc'"#,
        // Collections, member access, slices, calls.
        r#"{a: 1, "b": 2, 3: 3, (x + y): 4, 'e': [1, 2,],}"#,
        "a.b?.c[0]?.[1][1:2][:3][4:][:]",
        "a.not.in.if.else.matches.true",
        "f()(1)".trim_end_matches("(1)"),
        "obj.method(1, 2,).other()",
        // Operators.
        "not a || !b and -c + +d * e / f % g ** h ^ i",
        "a in b && a not in b && s matches 'x' && s not contains 'y'",
        "s startsWith 'a' or s endsWith 'b' or s not startsWith 'c'",
        "1..10 | filter(# % 2 == 0) | map(# * 2) | sum()",
        "a ?? b ?? c",
        "a ? b : c ? d : e",
        "a ?: b",
        "1 < 2 <= 3 > 0 >= -1",
        // Closures.
        "filter(xs, # > 1)",
        "filter(xs, .price > 100 && .qty < 5)",
        "map(xs, {let y = # * 2; y + 1})",
        "map(xs, {{k: #, i: #index}})",
        "all(xs, {# > 0; true})",
        "reduce(xs, #acc + #, 0)",
        "sortBy(xs, .name, 'desc')",
        "count(xs)",
        "xs | groupBy(.kind) | keys()",
        "::filter(xs, # > 1)",
        // let, if, sequences, comments.
        "let x = 1; let y = x + 1; y * 2",
        "if a { 1 } else if b { 2 } else { 3 }",
        "a; b; c;",
        "1 /* comment */ + // to the end of the line\n 2",
        // Kargo-style.
        "quote(outputs['step-1']?.value ?? 'none')",
        "$env.HOME",
    ] {
        round_trip(src);
    }
}

#[test]
fn precedence() {
    let binary = |src: &str| match parse(src).unwrap() {
        Expr::Binary { op, .. } => op,
        other => panic!("{src}: {other:?}"),
    };
    // The root is the operator that binds last.
    assert_eq!(binary("a || b && c"), BinaryOp::OrOr);
    assert_eq!(binary("a && b == c"), BinaryOp::AndAnd);
    assert_eq!(binary("a == b + c"), BinaryOp::Eq);
    assert_eq!(binary("a + b * c"), BinaryOp::Add);
    assert_eq!(binary("a * b ** c"), BinaryOp::Mul);
    assert_eq!(binary("a .. b + c"), BinaryOp::Range);
    assert_eq!(binary("a in b .. c"), BinaryOp::In);
    assert_eq!(binary("a + b ?? c"), BinaryOp::Add);
    assert_eq!(binary("a - b - c"), BinaryOp::Sub);
    assert_eq!(binary("1 < 2 < 3"), BinaryOp::AndAnd);
    // `**` groups to the right; `-2 ** 2` is `-(2 ** 2)`; `not a == b` is `(not a) == b`.
    assert_eq!(
        parse("a ** b ** c").unwrap(),
        parse("a ** (b ** c)").unwrap()
    );
    assert!(matches!(
        parse("-2 ** 2").unwrap(),
        Expr::Unary {
            op: UnaryOp::Neg,
            ..
        }
    ));
    assert_eq!(binary("not a == b"), BinaryOp::Eq);
    assert_eq!(parse("a not in b").unwrap(), parse("not (a in b)").unwrap());
    assert_eq!(parse("a | f(b)").unwrap(), parse("f(a, b)").unwrap());
    assert_eq!(parse("a + b | f()").unwrap(), parse("f(a + b)").unwrap());
    assert_eq!(
        parse("if a { b } else { c }").unwrap(),
        parse("a ? b : c").unwrap()
    );
}

/// `(source, column from 1, what the message says)`.
const ERRORS: &[(&str, usize, &str)] = &[
    (
        r#"quote({"ref": vars.ref, "inputs": {"push": vars.input1"#,
        55,
        "expected `,` or `}`, found the end of the expression",
    ),
    ("a +", 4, "expected an expression, found the end"),
    ("f(a b)", 5, "expected `,` or `)`, found name `b`"),
    ("[1, 2", 6, "expected `,` or `]`"),
    ("a.", 3, "expected a property name"),
    (
        "a.1",
        2,
        "expected an operator or the end of the expression",
    ),
    ("a[1", 4, "expected `]` or `:`"),
    ("(a", 3, "expected `)`"),
    ("{a 1}", 4, "expected `:`"),
    ("{-1: 2}", 2, "map key"),
    ("a ? b", 6, "expected `:`"),
    (
        "a b",
        3,
        "expected an operator or the end of the expression, found name `b`",
    ),
    ("a not b", 7, "`in`, `matches`"),
    ("a ?? b + c", 8, "`??` and `+` cannot be mixed"),
    ("filter(xs)", 10, "`filter` needs at least 2 arguments"),
    ("map(xs, 1; 2)", 10, "wrapped in `{ }`"),
    ("# > 1", 1, "expected an expression, found `#`"),
    ("let 1 = 2; 3", 5, "a variable name"),
    ("let x = 1 x", 11, "expected `;`"),
    ("if a { 1 }", 11, "expected `else`"),
    ("x | 1", 5, "a function name after `|`"),
    ("'abc", 1, "string not terminated"),
    (r#""\q""#, 2, "invalid escape sequence"),
    ("12abc", 1, "bad number syntax"),
    ("0x", 1, "invalid number literal `0x`"),
    ("99999999999999999999", 1, "invalid number literal"),
    ("1e999", 1, "invalid number literal"),
    ("a @ b", 3, "unrecognized character `@`"),
    ("a /* b", 7, "unclosed comment"),
    ("a;; b", 3, "expected an expression, found `;`"),
    (
        "",
        1,
        "expected an expression, found the end of the expression",
    ),
];

#[test]
fn errors_have_a_column_and_a_message() {
    for (src, column, message) in ERRORS {
        let error = parse(src).expect_err(src);
        let at = src[..error.at].chars().count() + 1;
        assert_eq!(
            (at, error.to_string().contains(message)),
            (*column, true),
            "{src:?}: {error} at column {at}"
        );
    }
}

#[test]
fn nesting_is_bounded_and_long_chains_are_fine() {
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert!(matches!(
        parse(&deep).map_err(|e| e.kind),
        Err(ErrorKind::TooDeep(_))
    ));
    let deep_map = "{a: ".repeat(10_000);
    assert!(parse(&deep_map).is_err());
    let chain = vec!["1"; 4000].join(" + ");
    assert!(parse(&chain).is_ok());
    let too_many = vec!["1"; 6000].join(" + ");
    assert!(matches!(
        parse(&too_many).map_err(|e| e.kind),
        Err(ErrorKind::TooManyNodes)
    ));
}

// Templates: Kargo's cut, then the parse.

#[test]
fn kargo_json_templates_test_cases() {
    // `json_templates_test.go`: closing delimiter in the body terminates early ...
    let e = check("${{ '{{.domain}}' }}").unwrap_err();
    assert!(
        matches!(&e, TemplateError::Syntax { error, .. } if error.kind == ErrorKind::UnterminatedString),
        "{e:?}"
    );
    // ... the alternative delimiters allow it, both kinds coexist, a missing one fails.
    assert_eq!(check("${% '{{.domain}}' %}"), Ok(()));
    assert_eq!(check("foo ${{ aString }} and ${% 'bar' %}"), Ok(()));
    assert!(matches!(
        check("${{ aString "),
        Err(TemplateError::Unclosed {
            delimiters: Delimiters::Braces,
            column: 1
        })
    ));
    // The documented failure, and its documented fix.
    assert!(check(r#"${{ {"labels": {"app": "nginx"}} }}"#).is_err());
    assert_eq!(check(r#"${% {"labels": {"app": "nginx"}} %}"#), Ok(()));
}

#[test]
fn nested_map_body_is_explained() {
    let body = r#"${{ quote({"ref": vars.ref, "inputs": {"push": vars.input1}}) }}"#;
    let e = check(body).unwrap_err();
    let TemplateError::Syntax {
        open,
        close,
        column,
        intended,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!((*open, *close, *column, *intended), (1, 59, 59, Some(63)));
    let message = e.to_string();
    for part in [
        "Kargo ends the `${{` expression at column 1 at the first `}}` (column 59)",
        r#"`quote({"ref": vars.ref, "inputs": {"push": vars.input1`"#,
        "expected `,` or `}`, found the end of the expression at column 59",
        "the expression meant to end at column 63 contains `}}`",
        "`${% … %}`",
        "build the inner map in a variable",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    // The fixes: the other delimiters, or no `}}`.
    assert_eq!(
        check(&body.replace("${{", "${%").replace(") }}", ") %}")),
        Ok(())
    );
    assert_eq!(check(&body.replace("}})", "} })")), Ok(()));
}

#[test]
fn empty_and_plain_syntax_errors() {
    assert!(matches!(
        check("a ${{}} b"),
        Err(TemplateError::Empty {
            column: 3,
            stops: true,
            ..
        })
    ));
    assert!(matches!(
        check("${%  %}"),
        Err(TemplateError::Empty { stops: false, .. })
    ));
    let e = check("x ${{ a + }}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the `${{` expression at column 3, `a +`, does not parse: expected an expression, found \
         the end of the expression at column 11"
    );
    assert_eq!(check("no expression } }} %}"), Ok(()));
    assert_eq!(check("$5 ${ x }"), Ok(()));
}
