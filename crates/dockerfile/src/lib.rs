//! Base-image discovery from Dockerfiles with BuildKit's semantics (SPEC §5).
//!
//! Given a Dockerfile's bytes, optional build args and a target platform, [`analyze`] returns every
//! base image exactly as `docker buildx build` would resolve it: parser directives, continuations and
//! heredocs read like BuildKit's parser, global `ARG` scope, build-arg overrides for declared ARGs,
//! BuildKit's predefined args, shell-style expansion, stage references, `scratch`, `COPY --from` and
//! `RUN --mount=from=` dependencies, with per-stage errors, the parser's warnings and line numbers.
//!
//! The crate is pure: no I/O, no printing, no panics on any input.
//!
//! ```
//! use image_factory_dockerfile::{analyze, Options, StageKind};
//!
//! let src = b"ARG TAG=22\nFROM node:${TAG} AS build\nFROM build\n";
//! let analysis = analyze(src, &Options::default());
//! assert!(analysis.errors.is_empty());
//! assert_eq!(analysis.stages[1].kind, StageKind::Stage);
//! assert_eq!(analysis.base_images[0].normalized(), "docker.io/library/node:22");
//! ```

mod deps;
mod error;
mod platform;
mod reader;
mod resolve;
mod shell;

use std::collections::BTreeMap;

pub use error::{
    DockerfileError, DockerfileWarning, PlatformError, PlatformPart, PlatformProblem, ShellError,
};
use model::reference::ImageRef;
pub use platform::Platform;
pub use resolve::analyze;
pub use shell::{EXPANSION_BUDGET, MAX_NESTING};

/// What the caller knows about the build: build args and the target platform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--build-arg K=V` values. They override the defaults of declared ARGs (and of the predefined
    /// platform args and `TARGETSTAGE`); an undeclared build arg has no effect on `FROM`, as in
    /// BuildKit (proxy and `BUILDKIT_*` args included; `BUILDKIT_SYNTAX` replaces `# syntax=`).
    pub build_args: BTreeMap<String, String>,
    /// The platform to build for (default `linux/amd64`); drives `TARGETPLATFORM`, `TARGETOS`, ...
    /// and, since we build where we resolve, `BUILDPLATFORM`, `BUILDOS`, ...
    pub platform: Platform,
}

/// What a stage is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageKind {
    /// A registry image.
    Image,
    /// An earlier stage of the same Dockerfile.
    Stage,
    /// `scratch`: the empty image.
    Scratch,
    /// The `FROM` line could not be resolved; see the stage's diagnostic.
    Error,
}

/// A byte range of the original Dockerfile (for rewriting a reference in place).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// One build stage (one `FROM`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    /// 0-based stage index (what `COPY --from=N` counts).
    pub index: usize,
    /// The `AS` name, lower-cased.
    pub name: Option<String>,
    /// The `FROM` argument as written.
    pub from: String,
    /// The `FROM` argument after ARG expansion (`None` when expansion failed).
    pub image: Option<String>,
    /// What the stage is built from.
    pub kind: StageKind,
    /// The parsed reference when `kind` is [`StageKind::Image`].
    pub reference: Option<ImageRef>,
    /// The stage index referred to when `kind` is [`StageKind::Stage`].
    pub stage_ref: Option<usize>,
    /// The `--platform=` value as written.
    pub platform_flag: Option<String>,
    /// The platform the stage is built for: the expanded `--platform` value, else the target
    /// platform (`None` when the flag could not be expanded).
    pub platform: Option<String>,
    /// 1-based line of the `FROM` instruction.
    pub line: usize,
    /// Where the `FROM` argument is in the source bytes (`None` when it is split by a line
    /// continuation or the file is not valid UTF-8).
    pub from_span: Option<Span>,
}

impl Stage {
    /// The normalized reference (`docker.io/library/node:latest`) of an image stage.
    pub fn normalized(&self) -> Option<String> {
        self.reference.as_ref().map(ImageRef::normalized)
    }
}

/// Where a non-`FROM` image reference was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// `COPY --from=<image>`.
    CopyFrom,
    /// `RUN --mount=...,from=<image>`.
    RunMountFrom,
    /// The `# syntax=` frontend image.
    Syntax,
}

/// An image the build needs other than a `FROM` base image.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OtherRef {
    /// Where it was found.
    pub kind: RefKind,
    /// The reference after ARG expansion, as written.
    pub image: String,
    /// The parsed reference.
    pub reference: ImageRef,
    /// 1-based line.
    pub line: usize,
    /// The stage it appears in (`None` for `# syntax=`).
    pub stage: Option<usize>,
}

/// A problem with a line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line of the instruction.
    pub line: usize,
    /// The stage whose `FROM` failed, when the problem is a stage's.
    pub stage: Option<usize>,
    /// What is wrong.
    pub error: DockerfileError,
}

impl Diagnostic {
    /// A diagnostic not tied to a stage.
    pub(crate) fn new(line: usize, error: DockerfileError) -> Self {
        Diagnostic {
            line,
            stage: None,
            error,
        }
    }
}

impl serde::Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Diagnostic", 2)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("message", &self.error.to_string())?;
        st.end()
    }
}

/// A warning with a line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line (BuildKit's: the last line of the instruction).
    pub line: usize,
    /// What is suspicious.
    pub warning: DockerfileWarning,
}

impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Warning", 2)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("message", &self.warning.to_string())?;
        st.end()
    }
}

/// The result of analysing one Dockerfile.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Analysis {
    /// Every stage, in file order.
    pub stages: Vec<Stage>,
    /// The images of [`StageKind::Image`] stages, deduplicated by normalized reference, in
    /// first-seen order.
    pub base_images: Vec<ImageRef>,
    /// `COPY --from`, `RUN --mount from=` and `# syntax=` images, in file order.
    pub other_refs: Vec<OtherRef>,
    /// Every problem, in line order. Non-empty means `docker buildx build` would fail.
    pub errors: Vec<Diagnostic>,
    /// What BuildKit's parser warns about, in line order (the build still runs).
    pub warnings: Vec<Warning>,
    /// The escape token in effect: `\`, or `` ` `` after `# escape=``.
    pub escape: char,
}
