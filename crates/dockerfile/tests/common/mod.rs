//! The comparison of an [`Analysis`] with BuildKit's answer as the shared corpus's `expected.yaml`
//! states it (`buildkit:` of each case), shared by the corpus test and our own fidelity cases.
//!
//! Every field BuildKit's answer can hold is compared; `deny_unknown_fields` makes a field added to
//! the corpus later fail the test until it is compared too.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod invariants;

use std::collections::BTreeMap;
use std::path::Path;

use image_factory_dockerfile::{
    Analysis, DockerfileError, Options, Platform, RefKind, StageKind, analyze,
};

/// One `expected.yaml`.
#[derive(serde::Deserialize)]
pub struct Expected {
    /// The cases.
    pub cases: Vec<Case>,
}

/// One Dockerfile and what BuildKit makes of it. Other keys (`origin`, `expected_from`, the other
/// tools' statements) are informational and ignored.
#[derive(serde::Deserialize)]
pub struct Case {
    /// Relative to the directory of `expected.yaml`.
    pub file: String,
    /// BuildKit's answer.
    pub buildkit: Buildkit,
    /// Renovate only: the non-FROM references it extracts.
    #[serde(default)]
    pub other_refs: Option<Vec<OtherRefCase>>,
    /// Our own cases only: `--build-arg`s (the shared corpus has none).
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Our own cases only: the target platform (default `linux/amd64`).
    #[serde(default)]
    pub platform: Option<String>,
}

/// A Renovate `other_refs` entry.
#[derive(serde::Deserialize)]
pub struct OtherRefCase {
    /// `copy-from`, `run-mount-from` or `syntax`.
    pub kind: String,
    /// The reference.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// BuildKit's answer for one Dockerfile.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buildkit {
    /// Expanded references of the image stages, in stage order (`null` after a whole-file error).
    #[serde(default)]
    pub images: Option<Vec<String>>,
    /// Their normalized forms.
    #[serde(default)]
    pub normalized: Option<Vec<String>>,
    /// Every stage (absent after a whole-file error).
    #[serde(default)]
    pub stages: Option<Vec<StageCase>>,
    /// The build's error: a whole-file error (maybe prefixed `line N: ` or `parse: `), or the stage
    /// errors joined with `; `.
    #[serde(default)]
    pub error: Option<String>,
    /// The parser's warnings.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    /// The frontend image of `# syntax=`.
    #[serde(default)]
    pub syntax: Option<String>,
    /// The escape token when not `\`.
    #[serde(default)]
    pub escape_token: Option<String>,
}

/// One stage of BuildKit's answer.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCase {
    /// The FROM argument as written.
    pub raw: String,
    /// `image`, `stage`, `scratch` or `error`.
    pub kind: String,
    /// The `AS` name.
    #[serde(default, rename = "as")]
    pub name: Option<String>,
    /// The expanded FROM argument, when it differs from `raw`.
    #[serde(default)]
    pub expanded: Option<String>,
    /// The normalized reference of an image stage.
    #[serde(default)]
    pub normalized: Option<String>,
    /// The `--platform` value as written.
    #[serde(default)]
    pub platform: Option<String>,
    /// The expanded `--platform` value when it differs from `platform` (`null`: not expandable).
    #[serde(default, deserialize_with = "present")]
    pub platform_expanded: Option<Option<String>>,
    /// The stage referred to.
    #[serde(default)]
    pub stage_ref: Option<usize>,
    /// The stage's error.
    #[serde(default)]
    pub error: Option<String>,
}

/// Tells a present `null` (`Some(None)`) from an absent key (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    serde::Deserialize::deserialize(d).map(Some)
}

/// Reads an `expected.yaml`.
pub fn read_expected(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// How many individual fields were compared, and the ones that disagree.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Fields compared.
    pub fields: usize,
    /// `what: ours != BuildKit's` for each disagreeing field.
    pub mismatches: Vec<String>,
}

impl Comparison {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, ours: T, theirs: T) {
        self.fields += 1;
        if ours != theirs {
            self.mismatches
                .push(format!("{what}: ours {ours:?} != BuildKit's {theirs:?}"));
        }
    }
}

/// The analysis options of a case.
pub fn options(case: &Case) -> Options {
    Options {
        build_args: case.build_args.clone(),
        platform: case
            .platform
            .as_deref()
            .map_or_else(Platform::default, |p| p.parse().unwrap()),
    }
}

/// Analyses `src` and compares every field of BuildKit's answer.
pub fn compare(src: &[u8], case: &Case) -> Comparison {
    let opts = options(case);
    let a = analyze(src, &opts);
    let bk = &case.buildkit;
    let mut c = Comparison::default();
    let Some(stages) = &bk.stages else {
        // BuildKit stopped at a whole-file error and has no other answer.
        compare_file_error(&a, bk, &mut c);
        return c;
    };

    let images: Vec<String> = a
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Image)
        .filter_map(|s| s.image.clone())
        .collect();
    let normalized: Vec<String> = a.stages.iter().filter_map(|s| s.normalized()).collect();
    c.check("images", images, bk.images.clone().unwrap_or_default());
    if let Some(n) = &bk.normalized {
        c.check("normalized", &normalized, n);
    }

    compare_stages(&a, stages, bk, &opts, &mut c);

    let warnings: Vec<String> = a.warnings.iter().map(|w| w.warning.to_string()).collect();
    c.check(
        "warnings",
        warnings,
        bk.warnings.clone().unwrap_or_default(),
    );
    let syntax: Vec<&str> = a
        .other_refs
        .iter()
        .filter(|r| r.kind == RefKind::Syntax)
        .map(|r| r.image.as_str())
        .collect();
    c.check(
        "syntax",
        syntax,
        bk.syntax.iter().map(String::as_str).collect(),
    );
    c.check(
        "escape token",
        a.escape.to_string(),
        bk.escape_token.clone().unwrap_or_else(|| "\\".to_owned()),
    );
    c
}

/// A whole-file error: BuildKit stops at it; it is our first error, not a stage's, on BuildKit's line
/// when BuildKit gives one. (We read on and may report more: every problem, and the stages, as a
/// linter would; `Analysis::errors` non-empty says the build fails either way.)
fn compare_file_error(a: &Analysis, bk: &Buildkit, c: &mut Comparison) {
    let theirs = bk.error.as_deref().map(split_location);
    let ours = a.errors.first().map(|d| {
        let line = theirs.and_then(|(line, _)| line).map(|_| d.line);
        (line, d.error.to_string(), d.stage)
    });
    c.check(
        "error",
        ours,
        theirs.map(|(line, message)| (line, message.to_owned(), None)),
    );
}

/// `line 4: msg` → `(Some(4), msg)`; `parse: msg` → `(None, msg)`.
fn split_location(e: &str) -> (Option<usize>, &str) {
    if let Some(rest) = e.strip_prefix("line ")
        && let Some((n, msg)) = rest.split_once(": ")
        && let Ok(n) = n.parse()
    {
        return (Some(n), msg);
    }
    (None, e.strip_prefix("parse: ").unwrap_or(e))
}

fn compare_stages(
    a: &Analysis,
    stages: &[StageCase],
    bk: &Buildkit,
    opts: &Options,
    c: &mut Comparison,
) {
    c.check("stage count", a.stages.len(), stages.len());
    let target = opts.platform.to_string();
    for (i, (ours, theirs)) in a.stages.iter().zip(stages).enumerate() {
        let kind = serde_json::to_value(ours.kind).unwrap();
        let is_error = theirs.kind == "error";
        c.check(&format!("stage {i} raw"), ours.from.as_str(), &theirs.raw);
        c.check(
            &format!("stage {i} kind"),
            kind.as_str().unwrap(),
            &theirs.kind,
        );
        c.check(&format!("stage {i} as"), &ours.name, &theirs.name);
        let expanded = match (&theirs.expanded, is_error) {
            (Some(e), _) => Some(e.clone()),
            // Not expanded, or expanded to nothing (a blank base name).
            (None, true) if ours.image.as_deref() != Some(&theirs.raw) => None,
            (None, _) => Some(theirs.raw.clone()),
        };
        c.check(&format!("stage {i} expanded"), &ours.image, &expanded);
        c.check(
            &format!("stage {i} normalized"),
            &ours.normalized(),
            &theirs.normalized,
        );
        c.check(
            &format!("stage {i} platform"),
            &ours.platform_flag,
            &theirs.platform,
        );
        let platform = match (&theirs.platform, &theirs.platform_expanded) {
            (_, Some(expanded)) => expanded.clone(),
            (Some(p), None) => Some(p.clone()),
            (None, None) => Some(target.clone()),
        };
        if !(is_error && theirs.platform_expanded.is_none()) {
            c.check(
                &format!("stage {i} platform expanded"),
                &ours.platform,
                &platform,
            );
        }
        c.check(
            &format!("stage {i} stage_ref"),
            &ours.stage_ref,
            &theirs.stage_ref,
        );
        let errors: Vec<String> = a
            .errors
            .iter()
            .filter(|d| d.stage == Some(i))
            .map(|d| d.error.to_string())
            .collect();
        c.check(
            &format!("stage {i} errors"),
            errors,
            theirs.error.iter().cloned().collect(),
        );
    }
    // The build's error is exactly the stage errors, in order: nothing else went wrong. The corpus's
    // answers come from a port of BuildKit's FROM/ARG/stage rules that does not evaluate `COPY
    // --from` / `RUN --mount from=` values nor the stage dependencies they make, so those errors are
    // not part of them; our own cases (tests/fidelity, from BuildKit's own tests) check them.
    let all: Vec<String> = a
        .errors
        .iter()
        .filter(|d| {
            !matches!(
                d.error,
                DockerfileError::InvalidFromReference { .. }
                    | DockerfileError::InvalidStageIndex(_)
                    | DockerfileError::CopyFromExpansion
                    | DockerfileError::MountFromExpansion
                    | DockerfileError::CircularDependency(_)
                    | DockerfileError::CopyFromLaterStage { .. }
                    | DockerfileError::MountFromLaterStage { .. }
            )
        })
        .map(|d| d.error.to_string())
        .collect();
    let all = (!all.is_empty()).then(|| all.join("; "));
    c.check("error", &all, &bk.error);
}
