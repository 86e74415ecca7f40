//! Typed errors. Messages follow BuildKit's wording so they can be compared with `docker buildx build`.

use model::reference::ReferenceError;

/// An error of the shell-style word expansion (BuildKit's shell lexer).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShellError {
    /// Wraps an expansion error with the word being expanded.
    #[error("failed to process {word:?}: {inner}")]
    Process {
        /// The word as written.
        word: String,
        /// What went wrong.
        inner: Box<ShellError>,
    },
    /// A quote or closing character is missing.
    #[error("unexpected end of statement while looking for matching {0}")]
    UnexpectedEnd(String),
    /// `${` without a closing `}`.
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${}`, `${:x}`, `${{x}`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// `${V/p` without the second `/`.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// An operator the shell does not know.
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// `${V?message}` / `${V:?message}` on an unset (or empty) variable.
    #[error("{name}: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The message (the word after `?`, or the default one).
        message: String,
    },
    /// `${` nested deeper than [`crate::MAX_NESTING`] levels.
    #[error("variable expansion nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The expansions of the Dockerfile produced more than [`crate::EXPANSION_BUDGET`] bytes.
    #[error("variable expansions produce more than {} MiB of text", limit >> 20)]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A bad `#`, `%` or `/` pattern.
    #[error("invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// One problem found in a Dockerfile. Every problem is reported with its line in a
/// [`crate::Diagnostic`]; problems of one stage never hide the other stages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DockerfileError {
    /// The file has no bytes at all.
    #[error("the Dockerfile cannot be empty")]
    Empty,
    /// The file has only comments and blank lines.
    #[error("file with no instructions")]
    NoInstructions,
    /// The file has instructions but no `FROM`.
    #[error("dockerfile contains no stages to build")]
    NoStages,
    /// `# escape=` with something other than `\` or `` ` ``.
    #[error("invalid escape token '{0}' does not match ` or \\")]
    InvalidEscape(String),
    /// A parser directive given twice.
    #[error("only one {0} parser directive can be used")]
    RepeatedDirective(String),
    /// A heredoc whose terminator never appears.
    #[error("unterminated heredoc")]
    UnterminatedHeredoc,
    /// An instruction BuildKit does not know.
    #[error("unknown instruction: {0}")]
    UnknownInstruction(String),
    /// An instruction other than `ARG` before the first `FROM`.
    #[error("no build stage in current context")]
    NoBuildStage,
    /// `FROM` with a wrong number of arguments (`FROM img # note` is one of them).
    #[error("FROM requires either one or three arguments")]
    FromArguments,
    /// An `AS` name that is not `[a-z][a-z0-9-_.]*` once lower-cased (e.g. `AS ${NAME}`).
    #[error(
        "invalid name for build stage: {0:?}, name can't start with a number or contain symbols"
    )]
    InvalidStageName(String),
    /// A flag the instruction does not accept (`FROM` only accepts `--platform=`).
    #[error("unknown flag: {0}")]
    UnknownFlag(String),
    /// A flag that needs `=value` was given without it.
    #[error("missing a value on flag: {0}")]
    MissingFlagValue(String),
    /// A string flag given twice.
    #[error("duplicate flag specified: {0}")]
    DuplicateFlag(String),
    /// An instruction that needs arguments has none.
    #[error("{0} requires at least one argument")]
    AtLeastOneArgument(String),
    /// `ARG =value`.
    #[error("ARG names can not be blank")]
    BlankArgName,
    /// `ENV K` / `LABEL K` in the old `KEY value` form without a value.
    #[error("{0} must have two arguments")]
    TwoArguments(String),
    /// `ENV a=b c` in the `KEY=value` form.
    #[error("Syntax error - can't find = in {0:?}. Must be of the form: name=value")]
    MissingEquals(String),
    /// A JSON array with a non-string element.
    #[error("when using JSON array syntax, arrays must be comprised of strings only")]
    JsonNotStrings,
    /// `ONBUILD ONBUILD`, `ONBUILD FROM`, `ONBUILD MAINTAINER`.
    #[error("{0} isn't allowed as an ONBUILD trigger")]
    OnbuildTrigger(String),
    /// The default value of a global `ARG` could not be expanded.
    #[error("meta arg {name}: {source}")]
    MetaArg {
        /// The ARG.
        name: String,
        /// The expansion error.
        source: ShellError,
    },
    /// A `FROM` argument could not be expanded.
    #[error(transparent)]
    Expand(ShellError),
    /// A `--platform` value could not be expanded.
    #[error("failed to process arguments for platform {platform}: {source}")]
    PlatformExpand {
        /// The flag value as written.
        platform: String,
        /// The expansion error.
        source: ShellError,
    },
    /// The `FROM` argument expands to nothing.
    #[error("base name ({0}) should not be blank")]
    BlankBaseName(String),
    /// The `--platform` value expands to nothing.
    #[error("empty platform value from expression {0}")]
    EmptyPlatform(String),
    /// The expanded `FROM` argument is neither a stage, `scratch` nor a valid reference.
    #[error("failed to parse stage name {name:?}: {source}")]
    InvalidReference {
        /// The expanded text.
        name: String,
        /// Why it is not a reference.
        source: ReferenceError,
    },
    /// A `COPY --from` / `RUN --mount from=` value that is neither a stage nor a valid reference.
    #[error("invalid --from reference {name:?}: {source}")]
    InvalidFromReference {
        /// The expanded text.
        name: String,
        /// Why it is not a reference.
        source: ReferenceError,
    },
    /// A `SOURCE_DATE_EPOCH` (build arg or meta ARG) that is neither a Unix time, `context` nor a
    /// stage name. BuildKit gives no line; we report the meta ARG's, else the first FROM's.
    #[error("invalid SOURCE_DATE_EPOCH: {0}")]
    InvalidSourceDateEpoch(String),
    /// `COPY --from=` with a value the shell lexer would change (`$V`, quotes, escapes): BuildKit
    /// never expands it. BuildKit gives no line; we report the `COPY`'s.
    #[error(
        "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"
    )]
    CopyFromExpansion,
    /// `RUN --mount=...,from=` with a `$` before the value's last character.
    #[error("'from' doesn't support variable expansion, define alias stage instead")]
    MountFromExpansion,
    /// Stages that depend on each other through `COPY --from` / `RUN --mount from=`; names the first
    /// stage (in file order) from which the cycle is reachable.
    #[error("circular dependency detected on stage: {0}")]
    CircularDependency(String),
    /// A stage the target needs copies from a later stage.
    #[error(
        "cannot copy from stage {from:?}, it needs to be defined before current stage {stage:?}"
    )]
    CopyFromLaterStage {
        /// The `--from` value.
        from: String,
        /// The copying stage (its name, or `stage-N`).
        stage: String,
    },
    /// A stage the target needs mounts from a later stage.
    #[error(
        "cannot mount from stage {from:?} to {target:?}, stage needs to be defined before current command"
    )]
    MountFromLaterStage {
        /// The mount's `from` value.
        from: String,
        /// The mount's target.
        target: String,
    },
    /// `COPY --from=N` with `N` out of range.
    #[error("invalid stage index {0}")]
    InvalidStageIndex(String),
}

/// Something BuildKit accepts but warns about (its parser's `Warning`s).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DockerfileWarning {
    /// A blank line inside a continued instruction (BuildKit's `no-empty-continuation` rule); holds
    /// the joined instruction text.
    #[error("Empty continuation line found in: {0}")]
    EmptyContinuationLine(String),
}

/// A platform text (`Options::platform`, `--platform` of the CLI) that is not `OS/ARCH[/VARIANT]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid platform {input:?}: {problem}; expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8"
)]
#[non_exhaustive]
pub struct PlatformError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub problem: PlatformProblem,
}

/// What is wrong with a platform text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformProblem {
    /// Not two or three `/`-separated parts.
    #[error("{0} part(s) instead of 2 or 3")]
    Parts(usize),
    /// A part is empty (`linux/`, `linux//v7`).
    #[error("the {0} is empty")]
    Empty(PlatformPart),
    /// A part holds a character other than an ASCII letter, digit, `_`, `-` or `.`.
    #[error("the {0} contains {1:?}")]
    Character(PlatformPart, char),
}

/// A part of `OS/ARCH[/VARIANT]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformPart {
    /// The operating system.
    Os,
    /// The architecture.
    Arch,
    /// The variant.
    Variant,
}

impl std::fmt::Display for PlatformPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PlatformPart::Os => "OS",
            PlatformPart::Arch => "architecture",
            PlatformPart::Variant => "variant",
        })
    }
}
