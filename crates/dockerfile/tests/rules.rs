//! One test per rule of SPEC §5 / issue #3, named after the rule.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use image_factory_dockerfile::{
    Analysis, DockerfileError, Options, Platform, RefKind, StageKind, analyze,
};

fn run(src: &str) -> Analysis {
    analyze(src.as_bytes(), &Options::default())
}

fn run_with(src: &str, args: &[(&str, &str)], platform: &str) -> Analysis {
    let opts = Options {
        build_args: args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        platform: platform.parse::<Platform>().unwrap(),
    };
    analyze(src.as_bytes(), &opts)
}

/// The expanded images of image stages, in order.
fn images(a: &Analysis) -> Vec<String> {
    a.stages
        .iter()
        .filter(|s| s.kind == StageKind::Image)
        .map(|s| s.image.clone().unwrap())
        .collect()
}

fn base(a: &Analysis) -> Vec<String> {
    a.base_images.iter().map(|r| r.normalized()).collect()
}

fn errors(a: &Analysis) -> Vec<(usize, String)> {
    a.errors
        .iter()
        .map(|d| (d.line, d.error.to_string()))
        .collect()
}

fn ok(src: &str) -> Analysis {
    let a = run(src);
    assert!(a.errors.is_empty(), "unexpected errors: {:?}", errors(&a));
    a
}

// ---- reading ----

#[test]
fn utf8_bom_is_stripped() {
    assert_eq!(images(&ok("\u{FEFF}FROM node:22\n")), ["node:22"]);
}

#[test]
fn utf16_file_is_not_a_dockerfile() {
    let a = analyze(b"\xff\xfeF\0R\0O\0M\0 \0x\0", &Options::default());
    assert!(matches!(
        a.errors[0].error,
        DockerfileError::UnknownInstruction(_)
    ));
}

#[test]
fn crlf_line_endings() {
    let a = ok("ARG V=1\r\nFROM alpine:3.$V \\\r\n  AS b\r\nFROM b\r\n");
    assert_eq!(images(&a), ["alpine:3.1"]);
    assert_eq!(a.stages[1].kind, StageKind::Stage);
}

#[test]
fn missing_final_newline() {
    assert_eq!(images(&ok("FROM alpine")), ["alpine"]);
}

#[test]
fn escape_directive_backtick() {
    let a = ok("# escape=`\nFROM `\n  alpine AS b\nRUN dir c:\\\nFROM b\n");
    assert_eq!(images(&a), ["alpine"]);
    assert_eq!(a.stages.len(), 2);
}

#[test]
fn escape_directive_invalid_value_is_an_error() {
    let a = run("# escape=x\nFROM alpine\n");
    assert_eq!(a.errors[0].line, 1);
    assert!(matches!(
        a.errors[0].error,
        DockerfileError::InvalidEscape(_)
    ));
}

#[test]
fn continuation_lines_joined_without_space() {
    // "FROM\" + "nginx" is the unknown instruction FROMnginx, as in BuildKit.
    let a = run("FROM alpine\nFROM\\\nnginx:1.20\n");
    assert_eq!(
        errors(&a),
        [(2, "unknown instruction: FROMnginx:1.20".to_owned())]
    );
    assert_eq!(images(&ok("FROM \\\nnginx:1.20\n")), ["nginx:1.20"]);
}

#[test]
fn comment_lines_inside_continuation_dropped() {
    let a = ok("FROM \\\n# a comment\n   # indented comment\n  alpine \\\n  AS b\n");
    assert_eq!(images(&a), ["alpine"]);
    assert_eq!(a.stages[0].name.as_deref(), Some("b"));
}

#[test]
fn empty_continuation_lines_skipped() {
    let a = ok("FROM \\\n\n   \n  alpine\n");
    assert_eq!(images(&a), ["alpine"]);
}

#[test]
fn parser_directives_only_at_top() {
    // After an instruction, a blank line or another comment, `# escape=` is a plain comment.
    for src in [
        "FROM alpine\n# escape=`\nRUN a \\\n b\n",
        "\n# escape=`\nFROM alpine\nRUN a \\\n b\n",
        "# hello\n# escape=`\nFROM alpine\nRUN a \\\n b\n",
    ] {
        let a = ok(src);
        assert_eq!(a.stages.len(), 1, "{src:?}");
    }
    // Leading white space is allowed, and directives are case-insensitive.
    let a = ok("  # ESCAPE = `\nFROM `\n alpine\n");
    assert_eq!(images(&a), ["alpine"]);
}

#[test]
fn repeated_directive_is_an_error() {
    let a = run("# syntax=a\n# syntax=b\nFROM alpine\n");
    assert_eq!(
        errors(&a),
        [(2, "only one syntax parser directive can be used".to_owned())]
    );
}

#[test]
fn syntax_directive_is_an_other_ref() {
    let a = ok("# syntax=docker/dockerfile:1.7\nFROM alpine\n");
    assert_eq!(a.other_refs.len(), 1);
    assert_eq!(a.other_refs[0].kind, RefKind::Syntax);
    assert_eq!(
        a.other_refs[0].reference.normalized(),
        "docker.io/docker/dockerfile:1.7"
    );
}

#[test]
fn heredoc_in_run_is_skipped() {
    let a = ok("FROM alpine\nRUN <<EOF\nFROM evil\nEOF\nFROM node\n");
    assert_eq!(images(&a), ["alpine", "node"]);
    assert_eq!(a.stages[1].line, 5);
}

#[test]
fn heredoc_chomp_strips_leading_tabs() {
    let a = ok("FROM alpine\nRUN <<-EOF\n\tFROM evil\n\tEOF\nFROM node\n");
    assert_eq!(images(&a), ["alpine", "node"]);
}

#[test]
fn heredoc_quoted_delimiters() {
    let a = ok("FROM alpine\nCOPY <<'A' <<\"B\" /dst/\nFROM x\nA\nFROM y\nB\nFROM node\n");
    assert_eq!(images(&a), ["alpine", "node"]);
}

#[test]
fn several_heredocs_on_one_line() {
    let a = ok("FROM alpine\nRUN <<A cat - <<B\nFROM x\nA\nFROM y\nB\nFROM node\n");
    assert_eq!(images(&a), ["alpine", "node"]);
}

#[test]
fn heredoc_only_for_run_copy_add() {
    // `<<` in other instructions is plain text; the next line is an instruction.
    let a = ok("FROM alpine\nLABEL a=<<EOF\nFROM node\n");
    assert_eq!(images(&a), ["alpine", "node"]);
    // ONBUILD RUN takes heredocs too.
    let a = ok("FROM alpine\nONBUILD RUN <<EOF\nFROM x\nEOF\nFROM node\n");
    assert_eq!(images(&a), ["alpine", "node"]);
}

#[test]
fn heredoc_unterminated_is_an_error() {
    let a = run("FROM alpine\nRUN <<EOF\necho\n");
    assert_eq!(errors(&a), [(2, "unterminated heredoc".to_owned())]);
}

#[test]
fn instructions_are_case_insensitive() {
    let a = ok("arg V=3\nfrom alpine:$V as B\nFrOm b\n");
    assert_eq!(images(&a), ["alpine:3"]);
    assert_eq!(a.stages[0].name.as_deref(), Some("b"));
    assert_eq!(a.stages[1].kind, StageKind::Stage);
}

#[test]
fn json_array_forms() {
    ok("FROM alpine\nCMD [\"echo\", \"hi\"]\nCOPY [\"a b\", \"/c\"]\n");
    // Not JSON: shell form, fine.
    ok("FROM alpine\nCMD ['echo']\n");
    let a = run("FROM alpine\nCMD [\"echo\", [\"nested\"]]\n");
    assert_eq!(
        errors(&a),
        [(
            2,
            "when using JSON array syntax, arrays must be comprised of strings only".to_owned()
        )]
    );
}

#[test]
fn unknown_instruction_is_an_error() {
    let a = run("FROM alpine\nFOO bar\nFROM node\n");
    assert_eq!(errors(&a), [(2, "unknown instruction: FOO".to_owned())]);
    // The other stages are still resolved.
    assert_eq!(images(&a), ["alpine", "node"]);
}

#[test]
fn instruction_before_first_from_is_an_error() {
    let a = run("LABEL a=b\nFROM alpine\n");
    assert_eq!(
        errors(&a),
        [(1, "no build stage in current context".to_owned())]
    );
}

#[test]
fn empty_file_and_comment_only_file_are_errors() {
    assert_eq!(
        errors(&run("")),
        [(1, "the Dockerfile cannot be empty".to_owned())]
    );
    assert_eq!(
        errors(&run("# c\n\n")),
        [(2, "file with no instructions".to_owned())]
    );
    assert_eq!(
        errors(&run("ARG A=1\n")),
        [(1, "dockerfile contains no stages to build".to_owned())]
    );
}

#[test]
fn env_without_value_is_an_error() {
    let a = run("FROM alpine\nENV PATH\n");
    assert_eq!(errors(&a), [(2, "ENV must have two arguments".to_owned())]);
}

// ---- ARG scope and expansion ----

#[test]
fn global_arg_scope_only_before_first_from() {
    let a = ok("ARG A=alpine\nFROM $A\nARG B=node\nFROM ${B:-busybox}\n");
    assert_eq!(images(&a), ["alpine", "busybox"]);
}

#[test]
fn arg_without_value_leaves_it_unset() {
    let a = ok("ARG V\nFROM alpine${V-:unset}\n");
    assert_eq!(images(&a), ["alpine:unset"]);
}

#[test]
fn arg_with_empty_value_sets_it_empty() {
    let a = ok("ARG V=\nFROM alpine${V-:unset}\n");
    assert_eq!(images(&a), ["alpine"]);
    let a = ok("ARG V=\nFROM alpine${V:-:empty}\n");
    assert_eq!(images(&a), ["alpine:empty"]);
}

#[test]
fn several_args_on_one_line() {
    let a = ok("ARG R=gcr.io I=\"distroless/static\" T=nonroot\nFROM $R/$I:$T\n");
    assert_eq!(images(&a), ["gcr.io/distroless/static:nonroot"]);
}

#[test]
fn arg_default_refers_to_earlier_arg() {
    let a = ok("ARG V=3.20\nARG IMG=alpine:${V}\nFROM ${IMG}\n");
    assert_eq!(images(&a), ["alpine:3.20"]);
}

#[test]
fn build_arg_overrides_declared_args_only() {
    let src = "ARG V=20\nFROM node:${V}${EXTRA}\n";
    let a = run_with(src, &[("V", "22"), ("EXTRA", "-oops")], "linux/amd64");
    assert_eq!(images(&a), ["node:22"]);
    // An ARG without a default gets the build arg.
    let a = run_with("ARG V\nFROM node:${V}\n", &[("V", "22")], "linux/amd64");
    assert_eq!(images(&a), ["node:22"]);
}

#[test]
fn predefined_platform_args_follow_platform() {
    let src = "FROM --platform=$BUILDPLATFORM img:${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-}${TARGETVARIANT}\n";
    let a = run_with(src, &[], "linux/arm64/v8");
    assert_eq!(images(&a), ["img:linux-arm64-v8"]);
    assert_eq!(a.stages[0].platform.as_deref(), Some("linux/arm64/v8"));
    let a = ok(src);
    assert_eq!(images(&a), ["img:linux-amd64"]);
}

#[test]
fn build_arg_overrides_predefined_platform_arg() {
    let a = run_with(
        "FROM img:${TARGETARCH}\n",
        &[("TARGETARCH", "riscv64")],
        "linux/amd64",
    );
    assert_eq!(images(&a), ["img:riscv64"]);
}

#[test]
fn stage_args_are_not_visible_to_from() {
    let a = ok("FROM alpine AS a\nARG X=node\nENV Y=node\nFROM ${X:-busybox}${Y}\n");
    assert_eq!(images(&a), ["alpine", "busybox"]);
}

#[test]
fn expansion_forms_in_from() {
    let src = "ARG P=registry.example.com/team/app:1.2.3-slim\n\
               FROM ${P%%:*}:latest AS a\n\
               FROM ${P#*/} AS b\n\
               FROM ${P##*/} AS c\n\
               FROM ${P%-slim} AS d\n\
               FROM ${P/slim/full} AS e\n\
               FROM ${P//./-}x AS f\n\
               FROM ${U:-alpine} AS g\n\
               FROM ${P:+busybox} AS h\n";
    let a = ok(src);
    assert_eq!(
        images(&a),
        [
            "registry.example.com/team/app:latest",
            "team/app:1.2.3-slim",
            "app:1.2.3-slim",
            "registry.example.com/team/app:1.2.3",
            "registry.example.com/team/app:1.2.3-full",
            "registry-example-com/team/app:1-2-3-slimx",
            "alpine",
            "busybox",
        ]
    );
}

#[test]
fn required_expansion_failure_is_a_stage_error() {
    let a = run("FROM alpine\nFROM ${IMG:?set_IMG}\nFROM node\n");
    assert_eq!(
        errors(&a),
        [(
            2,
            "failed to process \"${IMG:?set_IMG}\": IMG: set_IMG".to_owned()
        )]
    );
    assert_eq!(images(&a), ["alpine", "node"]);
}

#[test]
fn quotes_and_single_quotes_stop_expansion() {
    let a = ok("ARG A=\"alpine\"\nFROM $A\n");
    assert_eq!(images(&a), ["alpine"]);
    let a = run("ARG A=alpine\nFROM '$A'\n");
    assert_eq!(a.stages[0].image.as_deref(), Some("$A"));
    assert_eq!(a.stages[0].kind, StageKind::Error);
}

#[test]
fn escaped_dollar_is_literal() {
    let a = run("ARG A=alpine\nFROM \\$A\n");
    assert_eq!(a.stages[0].image.as_deref(), Some("$A"));
}

#[test]
fn blank_base_name_is_an_error() {
    let a = run("ARG IMG\nFROM $IMG\n");
    assert_eq!(
        errors(&a),
        [(2, "base name ($IMG) should not be blank".to_owned())]
    );
}

// ---- FROM syntax ----

#[test]
fn platform_is_the_only_from_flag() {
    let a = run("FROM --foo=bar alpine\n");
    assert_eq!(errors(&a), [(1, "unknown flag: foo".to_owned())]);
    let a = run("FROM --platform alpine\n");
    assert_eq!(
        errors(&a),
        [(1, "missing a value on flag: platform".to_owned())]
    );
    // With a space, the value becomes an argument: a wrong argument count, as in BuildKit.
    let a = run("FROM --platform linux/amd64 alpine\n");
    assert_eq!(
        errors(&a),
        [(1, "FROM requires either one or three arguments".to_owned())]
    );
    let a = ok("FROM --platform=linux/arm64 alpine\n");
    assert_eq!(a.stages[0].platform.as_deref(), Some("linux/arm64"));
    assert_eq!(a.stages[0].platform_flag.as_deref(), Some("linux/arm64"));
}

#[test]
fn empty_platform_value_is_an_error() {
    let a = run("FROM --platform=$NOPE alpine\n");
    assert_eq!(
        errors(&a),
        [(1, "empty platform value from expression $NOPE".to_owned())]
    );
}

#[test]
fn comment_after_from_argument_is_an_error() {
    let a = run("FROM alpine # the base\n");
    assert_eq!(
        errors(&a),
        [(1, "FROM requires either one or three arguments".to_owned())]
    );
}

#[test]
fn from_without_argument_is_an_error() {
    let a = run("FROM\n");
    assert_eq!(a.stages[0].kind, StageKind::Error);
    assert_eq!(
        errors(&a)[0].1,
        "FROM requires either one or three arguments"
    );
}

// ---- stages ----

#[test]
fn as_names_are_lower_cased() {
    let a = ok("FROM alpine AS Builder\nFROM builder\n");
    assert_eq!(a.stages[0].name.as_deref(), Some("builder"));
    assert_eq!(a.stages[1].kind, StageKind::Stage);
    assert_eq!(a.stages[1].stage_ref, Some(0));
}

#[test]
fn as_name_is_not_expanded() {
    let a = run("ARG N=b\nFROM alpine AS ${N}\n");
    assert!(matches!(
        a.errors[0].error,
        DockerfileError::InvalidStageName(_)
    ));
}

#[test]
fn from_refers_to_earlier_stage_only_on_exact_match() {
    // moby/buildkit#2003: `FROM Builder` after `AS builder` is an image reference (invalid).
    let a = run("FROM alpine AS builder\nFROM Builder\n");
    assert_eq!(a.stages[1].kind, StageKind::Error);
    assert_eq!(
        errors(&a),
        [(
            2,
            "failed to parse stage name \"Builder\": invalid reference format: repository name (library/Builder) must be lowercase".to_owned()
        )]
    );
}

#[test]
fn from_later_stage_name_is_an_image() {
    let a = ok("FROM build\nFROM alpine AS build\n");
    assert_eq!(images(&a), ["build", "alpine"]);
}

#[test]
fn from_stage_name_produced_by_arg() {
    let a = ok("ARG S=base\nFROM alpine AS base\nFROM ${S}\n");
    assert_eq!(a.stages[1].kind, StageKind::Stage);
    assert_eq!(base(&a), ["docker.io/library/alpine:latest"]);
}

#[test]
fn stage_named_scratch_shadows_scratch() {
    let a = ok("FROM scratch AS scratch\nFROM scratch\n");
    assert_eq!(a.stages[0].kind, StageKind::Scratch);
    assert_eq!(a.stages[1].kind, StageKind::Stage);
}

#[test]
fn scratch_is_not_an_image() {
    let a = ok("ARG B=scratch\nFROM scratch\nFROM $B\n");
    assert!(a.stages.iter().all(|s| s.kind == StageKind::Scratch));
    assert!(a.base_images.is_empty());
    let a = run("FROM SCRATCH\n");
    assert_eq!(a.stages[0].kind, StageKind::Error);
}

#[test]
fn copy_from_matches_stage_names_case_insensitively() {
    let a = ok("FROM alpine AS build\nFROM scratch\nCOPY --from=BUILD /a /b\n");
    assert!(a.other_refs.is_empty());
}

#[test]
fn copy_from_numeric_index() {
    let a = ok("FROM alpine\nFROM scratch\nCOPY --from=0 /a /b\n");
    assert!(a.other_refs.is_empty());
    let a = run("FROM alpine\nCOPY --from=5 /a /b\n");
    assert_eq!(errors(&a), [(2, "invalid stage index 5".to_owned())]);
}

#[test]
fn copy_from_image_is_an_other_ref() {
    let a = ok("FROM alpine\nCOPY --link --from=gcr.io/k8s-skaffold/skaffold:v0.11.0 /a /b\n");
    assert_eq!(a.other_refs.len(), 1);
    assert_eq!(a.other_refs[0].kind, RefKind::CopyFrom);
    assert_eq!(a.other_refs[0].line, 2);
    assert_eq!(a.other_refs[0].stage, Some(0));
    assert_eq!(base(&a), ["docker.io/library/alpine:latest"]);
}

/// BuildKit's `toCommand` (dockerfile2llb/convert.go): the value is never expanded, and one the
/// shell lexer would change fails the build.
#[test]
fn copy_from_is_never_expanded() {
    for from in ["tool:${T}", "$T", "\"${T}\"", "to\\\\ol"] {
        let src = format!("ARG T=1.2\nFROM alpine\nARG T\nCOPY --from={from} /a /b\n");
        let a = run(&src);
        assert_eq!(a.errors.len(), 1, "{src}");
        assert_eq!(a.errors[0].line, 4);
        assert_eq!(a.errors[0].error, DockerfileError::CopyFromExpansion);
        assert!(a.other_refs.is_empty());
    }
    // A `$` the lexer keeps (at the end) is not an expansion.
    let a = run("FROM alpine\nCOPY --from=tool$ /a /b\n");
    assert!(
        a.errors
            .iter()
            .all(|d| d.error != DockerfileError::CopyFromExpansion)
    );
}

/// BuildKit's `parseMount` (instructions/commands_runmount.go): a `$` before the last character.
#[test]
fn run_mount_from_is_never_expanded() {
    let a = run("ARG T=1\nFROM alpine\nRUN --mount=type=bind,from=tool:${T},target=/t true\n");
    assert_eq!(
        errors(&a),
        [(
            3,
            "'from' doesn't support variable expansion, define alias stage instead".to_owned()
        )]
    );
    assert!(a.other_refs.is_empty());
}

#[test]
fn run_mount_from_image_is_an_other_ref() {
    let a = ok("FROM alpine AS build\nFROM scratch\n\
                RUN --mount=from=ghcr.io/astral-sh/uv,source=/uv,target=/bin/uv uv\n\
                RUN --mount=type=bind,from=build,target=/x true\n");
    assert_eq!(a.other_refs.len(), 1);
    assert_eq!(a.other_refs[0].kind, RefKind::RunMountFrom);
    assert_eq!(a.other_refs[0].image, "ghcr.io/astral-sh/uv");
}

#[test]
fn errors_are_per_stage() {
    let a = run("FROM alpine\nFROM ${BAD\nFROM Node\nFROM node\n");
    assert_eq!(images(&a), ["alpine", "node"]);
    assert_eq!(a.errors.len(), 2);
    assert_eq!(a.errors[0].stage, Some(1));
    assert_eq!(a.errors[1].line, 3);
}

#[test]
fn base_images_deduplicated_in_first_seen_order() {
    let a =
        ok("FROM node:22 AS a\nFROM alpine\nFROM docker.io/library/node:22\nFROM alpine:latest\n");
    assert_eq!(
        base(&a),
        [
            "docker.io/library/node:22",
            "docker.io/library/alpine:latest"
        ]
    );
}

#[test]
fn normalized_adds_latest_only_without_tag_or_digest() {
    let a = ok("FROM node\n");
    let r = &a.base_images[0];
    assert_eq!(r.tag(), None);
    assert_eq!(r.normalized(), "docker.io/library/node:latest");
}

#[test]
fn from_span_points_at_the_reference() {
    let src = "\u{FEFF}# syntax=docker/dockerfile:1\r\nARG V=1\r\nFROM  --platform=$BUILDPLATFORM  node:${V} AS b\r\nFROM \\\r\n  python:3.12\r\n";
    let a = ok(src);
    let s0 = a.stages[0].from_span.unwrap();
    assert_eq!(&src[s0.start..s0.end], "node:${V}");
    let s1 = a.stages[1].from_span.unwrap();
    assert_eq!(&src[s1.start..s1.end], "python:3.12");
    // Rewriting in place.
    let mut rewritten = src.to_owned();
    rewritten.replace_range(s1.start..s1.end, "python:3.13");
    assert_eq!(images(&ok(&rewritten)), ["node:1", "python:3.13"]);
}

#[test]
fn from_span_absent_when_split_by_continuation() {
    let a = ok("FROM alp\\\nine\n");
    assert_eq!(images(&a), ["alpine"]);
    assert_eq!(a.stages[0].from_span, None);
}

#[test]
fn non_ascii_text_in_flags_never_splits_a_character() {
    // U+0800 is E0 A0 80: a byte-wise reader that took 0xA0 for a space would cut it in two.
    let a = run("FROM --a\u{0800}b alpine\nCOPY --from=\u{00a0}x /a /b\n");
    assert_eq!(a.stages.len(), 1);
    assert!(!a.errors.is_empty());
}

// ---- stage dependencies (BuildKit builds stages in file order) ----

#[test]
fn a_needed_stage_cannot_copy_from_a_later_stage() {
    let a = run(
        "FROM alpine AS a\nCOPY --from=b /x /y\nFROM busybox AS b\nFROM scratch\nCOPY --from=a / /\n",
    );
    assert_eq!(
        errors(&a),
        [(
            2,
            "cannot copy from stage \"b\", it needs to be defined before current stage \"a\""
                .to_owned()
        )]
    );
    // Not needed by the target (the last stage): BuildKit never dispatches it.
    ok("FROM alpine AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n");
    let a = run(
        "FROM alpine AS a\nRUN --mount=from=b,target=/t true\nFROM busybox AS b\nFROM scratch\nCOPY --from=a / /\n",
    );
    assert_eq!(
        errors(&a),
        [(
            2,
            "cannot mount from stage \"b\" to \"/t\", stage needs to be defined before current command"
                .to_owned()
        )]
    );
}

#[test]
fn stages_that_need_each_other_are_an_error() {
    let a = run("FROM alpine AS a\nCOPY --from=B / /\nFROM busybox AS b\nCOPY --from=a / /\n");
    assert_eq!(
        errors(&a),
        [(2, "circular dependency detected on stage: a".to_owned())]
    );
    let a = run("FROM alpine\nCOPY --from=0 / /\n");
    assert_eq!(
        errors(&a),
        [(
            2,
            "circular dependency detected on stage: stage-0".to_owned()
        )]
    );
}

#[test]
fn run_mount_from_takes_no_stage_index() {
    let a = ok("FROM alpine\nRUN --mount=from=0,target=/t true\n");
    assert_eq!(a.other_refs.len(), 1);
    assert_eq!(a.other_refs[0].image, "0");
}
