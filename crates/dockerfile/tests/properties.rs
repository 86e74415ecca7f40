//! Property tests (SPEC §11 #12 "all FROM images are found", #13 "a base is listed once per image"):
//! generated multi-stage Dockerfiles with random ARG forms, aliases and casing; and arbitrary input
//! never panics. Every result also goes through the invariant checker the fuzz target uses
//! (`common/invariants.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;

use std::collections::BTreeSet;

use image_factory_dockerfile::{Options, StageKind, analyze};
use model::reference::ImageRef;
use proptest::prelude::*;

/// How one stage names what it is built from.
#[derive(Clone, Debug)]
enum From {
    /// `FROM <image>`
    Literal(String),
    /// `ARG V=<image>` / `ARG V="<image>"` / `ARG V` + build arg / `ARG V=wrong` + build arg /
    /// `${V:-<image>}` / `ARG R=<repo> T=<tag>` + `${R}:${T}`.
    Arg(u8, String),
    /// An earlier stage, by index.
    Stage(usize),
    /// `scratch`.
    Scratch,
}

#[derive(Clone, Debug)]
struct StageSpec {
    from: From,
    alias: Option<String>,
    /// Casing masks for FROM, AS, the alias.
    casing: (u8, u8, u8),
    /// Filler instructions inside the stage.
    filler: Vec<u8>,
}

fn image() -> impl Strategy<Value = String> {
    let repo = prop::sample::select(vec![
        "node",
        "alpine",
        "python",
        "library/debian",
        "gcr.io/distroless/static-debian12",
        "ghcr.io/org/app",
        "localhost:5000/team/svc",
        "registry.example.com:8443/a/b/c",
    ]);
    let tag = prop::option::of("[a-z0-9][a-z0-9._-]{0,12}");
    let digest = prop::option::of("[0-9a-f]{64}");
    (repo, tag, digest).prop_map(|(r, t, d)| {
        let mut s = r.to_owned();
        if let Some(t) = t {
            s.push(':');
            s.push_str(&t);
        }
        if let Some(d) = d {
            s.push_str("@sha256:");
            s.push_str(&d);
        }
        s
    })
}

fn stage_spec() -> impl Strategy<Value = StageSpec> {
    let from = prop_oneof![
        image().prop_map(From::Literal),
        (0u8..6, image()).prop_map(|(f, i)| From::Arg(f, i)),
        any::<usize>().prop_map(From::Stage),
        Just(From::Scratch),
    ];
    (
        from,
        prop::option::of("[a-z][a-z0-9]{0,6}"),
        any::<(u8, u8, u8)>(),
        prop::collection::vec(0u8..8, 0..4),
    )
        .prop_map(|(from, alias, casing, filler)| StageSpec {
            from,
            alias: alias.map(|a| format!("stage-{a}")),
            casing,
            filler,
        })
}

fn cased(word: &str, mask: u8) -> String {
    word.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask & (1 << (i % 8)) != 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

struct Generated {
    src: String,
    options: Options,
    /// Per stage: the normalized image expected, if the stage is an image.
    expected: Vec<Option<String>>,
    /// Per stage: whether it must be a stage reference.
    stage_refs: Vec<bool>,
    aliases: Vec<String>,
}

fn generate(specs: &[StageSpec]) -> Generated {
    let mut globals = String::new();
    let mut body = String::new();
    let mut options = Options::default();
    let mut expected = Vec::new();
    let mut stage_refs = Vec::new();
    let mut aliases: Vec<String> = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let v = format!("V{i}");
        // Stage names are unique: with a repeated name, BuildKit's later stage wins, and a
        // `COPY --from` of it would be a dependency cycle (an error this property is not about).
        let alias = spec.alias.as_ref().map(|a| {
            if names.iter().flatten().any(|n| n == a) {
                format!("{a}-{i}")
            } else {
                a.clone()
            }
        });
        let (text, exp, is_ref) = match &spec.from {
            From::Literal(img) => (img.clone(), Some(img.clone()), false),
            From::Arg(form, img) => {
                let text = match form {
                    0 => {
                        globals.push_str(&format!("ARG {v}={img}\n"));
                        format!("${{{v}}}")
                    }
                    1 => {
                        globals.push_str(&format!("ARG {v}=\"{img}\"\n"));
                        format!("${v}")
                    }
                    2 => {
                        globals.push_str(&format!("arg {v}\n"));
                        options.build_args.insert(v.clone(), img.clone());
                        format!("${{{v}}}")
                    }
                    3 => {
                        globals.push_str(&format!("ARG {v}=wrong:tag\n"));
                        options.build_args.insert(v.clone(), img.clone());
                        format!("${v}")
                    }
                    4 => {
                        globals.push_str(&format!("ARG {v}\n"));
                        format!("${{{v}:-{img}}}")
                    }
                    _ => {
                        // Split at the first ':' after the last '/' (tag or digest separator).
                        let cut = img.rfind('/').map_or(0, |p| p + 1);
                        match img[cut..].find([':', '@']) {
                            Some(p) => {
                                let (r, t) = img.split_at(cut + p);
                                globals.push_str(&format!("ARG R{i}={r} T{i}={t}\n"));
                                format!("${{R{i}}}$T{i}")
                            }
                            None => {
                                globals.push_str(&format!("ARG R{i}={img} T{i}\n"));
                                format!("${{R{i}}}${{T{i}}}")
                            }
                        }
                    }
                };
                (text, Some(img.clone()), false)
            }
            From::Stage(k) => {
                let earlier: Vec<&String> = names.iter().flatten().collect();
                if earlier.is_empty() {
                    ("scratch".to_owned(), None, false)
                } else {
                    (earlier[k % earlier.len()].clone(), None, true)
                }
            }
            From::Scratch => ("scratch".to_owned(), None, false),
        };
        body.push_str(&cased("from", spec.casing.0));
        body.push(' ');
        body.push_str(&text);
        if let Some(alias) = &alias {
            body.push(' ');
            body.push_str(&cased("as", spec.casing.1));
            body.push(' ');
            body.push_str(&cased(alias, spec.casing.2));
            aliases.push(alias.clone());
        }
        body.push('\n');
        for f in &spec.filler {
            match f {
                0 => body.push_str("RUN echo hello && \\\n    # a comment\n    echo world\n"),
                1 => body.push_str("ENV A=1 B=\"two words\"\n"),
                2 => body.push_str("# FROM not-an-image\n"),
                3 => body.push('\n'),
                4 => body.push_str("RUN <<EOF\nFROM heredoc-is-not-an-instruction\nEOF\n"),
                5 => {
                    if let Some(Some(n)) = names.iter().find(|n| n.is_some()) {
                        body.push_str(&format!("COPY --from={} /a /b\n", n.to_uppercase()));
                    }
                }
                6 => body.push_str("ARG LOCAL=x\n"),
                _ => body.push_str("LABEL org.opencontainers.image.title=\"t\"\n"),
            }
        }
        names.push(alias);
        expected.push(exp);
        stage_refs.push(is_ref);
    }
    Generated {
        src: format!("# syntax=docker/dockerfile:1\n{globals}{body}"),
        options,
        expected,
        stage_refs,
        aliases,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// SPEC §11 #12 and #13.
    #[test]
    fn every_image_from_is_found_once_and_stage_refs_never_are_images(
        specs in prop::collection::vec(stage_spec(), 1..7)
    ) {
        let g = generate(&specs);
        let a = analyze(g.src.as_bytes(), &g.options);
        common::invariants::check_analysis(g.src.as_bytes(), &a);
        if std::env::var_os("SHOW_GENERATED").is_some() {
            eprintln!("{}{:?}\n----", g.src, g.options.build_args);
        }
        prop_assert!(a.errors.is_empty(), "errors {:?} in\n{}", a.errors, g.src);
        prop_assert_eq!(a.stages.len(), specs.len());
        let base: Vec<String> = a.base_images.iter().map(ImageRef::normalized).collect();
        let distinct: BTreeSet<&String> = base.iter().collect();
        prop_assert_eq!(distinct.len(), base.len(), "duplicates in {:?}", base);
        let mut want = BTreeSet::new();
        for (i, exp) in g.expected.iter().enumerate() {
            if let Some(img) = exp {
                let n = ImageRef::parse_normalized(img).unwrap().normalized();
                prop_assert_eq!(a.stages[i].kind, StageKind::Image, "stage {} of\n{}", i, g.src);
                prop_assert_eq!(a.stages[i].normalized(), Some(n.clone()));
                prop_assert!(base.contains(&n), "{} missing from {:?}", n, base);
                want.insert(n);
            }
            if g.stage_refs[i] {
                prop_assert_eq!(a.stages[i].kind, StageKind::Stage, "stage {} of\n{}", i, g.src);
            }
        }
        prop_assert_eq!(want.len(), base.len());
        for r in &a.base_images {
            for alias in &g.aliases {
                prop_assert!(!r.path().ends_with(alias.as_str()), "alias {} leaked as {}", alias, r);
            }
        }
    }

    /// Arbitrary bytes never panic, and what comes back is consistent.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        common::invariants::check(&bytes);
    }

    /// Dockerfile-flavoured noise reaches the deeper paths (expansion, heredocs, flags).
    #[test]
    fn dockerfile_like_text_never_panics(
        text in "((FROM|from|ARG|RUN|COPY|ENV|ONBUILD|# escape=|# syntax=| AS |--platform=|--from=|--mount=from=|\\$\\{|\\}|:-|:\\+|##|%%|/|\\$|<<-?|EOF|'|\"|\\\\|`|\n|\r\n| |=|[a-zA-Z0-9:@._-]{1,8}|\\[|\\]|,)){0,80}"
    ) {
        common::invariants::check(text.as_bytes());
    }
}
