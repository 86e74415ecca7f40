//! The FROM/ARG/stage resolver: a port of the rules of BuildKit's `dockerfile2llb` (SPEC §5).

use std::collections::{HashMap, HashSet};

use model::reference::{ImageRef, ReferenceError};

use crate::deps;
use crate::error::DockerfileError;
use crate::reader::{self, Command, Instruction, parse_words};
use crate::shell::{EmptyEnv, Env, Lexer};
use crate::{Analysis, Diagnostic, Options, OtherRef, RefKind, Span, Stage, StageKind};

/// `^[a-z][a-z0-9-_.]*$`
fn valid_stage_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
}

/// Parsed references, so a reference repeated in a file is parsed once. Hashed, not a list: a
/// hostile file with 100,000 distinct references must stay linear.
#[derive(Default)]
struct RefCache(HashMap<String, Result<ImageRef, ReferenceError>>);

impl RefCache {
    fn parse(&mut self, s: &str) -> Result<ImageRef, ReferenceError> {
        if let Some(r) = self.0.get(s) {
            return r.clone();
        }
        let r = ImageRef::parse_normalized(s);
        self.0.insert(s.to_owned(), r.clone());
        r
    }
}

/// The global scope of `FROM` lines: meta ARGs over the predefined platform args.
struct GlobalEnv {
    meta: HashMap<String, String>,
    predefined: [(&'static str, String); 11],
}

impl GlobalEnv {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.meta.get(name).map(String::as_str).or_else(|| {
            self.predefined
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        })
    }
}

impl Env for GlobalEnv {
    fn get(&self, name: &str) -> Option<&str> {
        self.lookup(name)
    }
}

/// A `COPY --from` / `RUN --mount from=` value waiting for all stage names to be known.
struct Pending {
    kind: RefKind,
    value: String,
    line: usize,
    stage: usize,
    /// A mount's `target`.
    mount_target: String,
}

/// Analyses a Dockerfile. Never fails: every problem is a [`Diagnostic`] in [`Analysis::errors`].
///
/// Invalid UTF-8 is read lossily (like BuildKit, such bytes never form a valid instruction or
/// reference); spans are then not reported.
pub fn analyze(src: &[u8], opts: &Options) -> Analysis {
    let mut out = Analysis {
        escape: '\\',
        ..Analysis::default()
    };
    if src.is_empty() {
        out.errors.push(Diagnostic::new(1, DockerfileError::Empty));
        return out;
    }
    let (text, exact) = match std::str::from_utf8(src) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), true),
        Err(_) => (String::from_utf8_lossy(src), false),
    };
    let parsed = reader::read(&text);
    out.errors = parsed.errors;
    out.warnings = parsed.warnings;
    out.escape = parsed.escape;
    let lexer = Lexer::new(parsed.escape);
    let mut refs = RefCache::default();

    // The frontend image: the first word of `# syntax=` (`parser.DetectSyntax`), unless the
    // `BUILDKIT_SYNTAX` build arg replaces it (moby/buildkit `frontend/dockerfile/builder/build.go`).
    if !opts.build_args.contains_key(BUILDKIT_SYNTAX)
        && let Some((image, line)) = reader::detect_syntax(&text)
        && let Ok(r) = refs.parse(image)
    {
        out.other_refs.push(OtherRef {
            kind: RefKind::Syntax,
            image: image.to_owned(),
            reference: r,
            line,
            stage: None,
        });
    }

    // The global scope: BuildKit's `defaultArgs` (the platform args and `TARGETSTAGE`, each
    // overridable by a build arg), then the meta ARGs. Nothing else is predefined for FROM lines:
    // the proxy args (`HTTP_PROXY`, ...) only reach RUN (`proxyEnvFromBuildArgs` in
    // `dockerfile2llb/convert.go`) and the `BUILDKIT_*` args configure the frontend, so like any
    // build arg they need an `ARG` declaration to be seen by FROM.
    let stage_names = stage_names(&parsed.instructions);
    // No `--target` option: the build is of the last stage, `default` when it has no name.
    let target_stage = stage_names
        .last()
        .and_then(Option::as_deref)
        .unwrap_or("default");
    let mut global = GlobalEnv {
        meta: HashMap::new(),
        predefined: opts.platform.predefined_args(target_stage).map(|(k, v)| {
            let v = opts.build_args.get(k).cloned().unwrap_or(v);
            (k, v)
        }),
    };
    let mut epoch_done = false;
    let target_platform = opts.platform.to_string();

    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut reported_no_stage = false;
    // The line of the meta ARG that set each global value.
    let mut meta_lines: HashMap<String, usize> = HashMap::new();

    for inst in &parsed.instructions {
        if inst.bad {
            continue;
        }
        match inst.command {
            Command::From => {
                if !epoch_done {
                    // The meta ARGs are complete at the first FROM.
                    epoch_done = true;
                    let first_from = inst.line;
                    if let Err(e) = source_date_epoch(&mut global, opts, &stage_names) {
                        let line = meta_lines
                            .get(SOURCE_DATE_EPOCH)
                            .copied()
                            .unwrap_or(first_from);
                        out.errors.push(Diagnostic::new(line, e));
                    }
                }
                let stage = from_stage(
                    inst,
                    out.stages.len(),
                    &lexer,
                    &global,
                    &by_name,
                    &target_platform,
                    exact,
                    &mut refs,
                );
                let st = match stage {
                    Ok(st) => st,
                    Err((st, err)) => {
                        out.errors.push(Diagnostic {
                            line: inst.line,
                            stage: Some(st.index),
                            error: err,
                        });
                        st
                    }
                };
                if let Some(n) = &st.name {
                    by_name.insert(n.clone(), st.index);
                }
                out.stages.push(st);
            }
            Command::Arg if out.stages.is_empty() => {
                for word in parse_words(inst.args(), parsed.escape) {
                    let (key, default) = match word.split_once('=') {
                        Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                        None => (word, None),
                    };
                    let value = if let Some(v) = opts.build_args.get(&key) {
                        Some(v.clone())
                    } else if let Some(d) = default {
                        match lexer.process_word(&d, &global) {
                            Ok(v) => Some(v),
                            Err(source) => {
                                out.errors.push(Diagnostic::new(
                                    inst.line,
                                    DockerfileError::MetaArg {
                                        name: key.clone(),
                                        source,
                                    },
                                ));
                                None
                            }
                        }
                    } else {
                        None
                    };
                    if let Some(v) = value {
                        meta_lines.insert(key.clone(), inst.line);
                        global.meta.insert(key, v);
                    }
                }
            }
            Command::Unknown => {}
            _ if out.stages.is_empty() && !reported_no_stage => {
                reported_no_stage = true;
                out.errors
                    .push(Diagnostic::new(inst.line, DockerfileError::NoBuildStage));
            }
            _ if out.stages.is_empty() => {}
            Command::Copy | Command::Run => {
                let stage = out.stages.len().saturating_sub(1);
                if let Err(e) = from_values(inst, stage, &lexer, &mut pending) {
                    out.errors.push(Diagnostic::new(inst.line, e));
                }
            }
            _ => {}
        }
    }

    // Stage references of COPY --from / RUN --mount from= may name any stage, case-insensitively
    // (`findStateByName`); only COPY takes a stage index.
    let lower_names: HashMap<String, usize> = by_name
        .iter()
        .map(|(n, &i)| (n.to_lowercase(), i))
        .collect();
    let mut links = Vec::new();
    for p in pending {
        let to = if p.kind == RefKind::CopyFrom && is_go_int(&p.value) {
            let index = p
                .value
                .parse::<i64>()
                .ok()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < out.stages.len());
            if index.is_none() {
                out.errors.push(Diagnostic::new(
                    p.line,
                    DockerfileError::InvalidStageIndex(p.value.clone()),
                ));
            }
            index
        } else {
            lower_names.get(&p.value.to_lowercase()).copied()
        };
        if let Some(to) = to {
            links.push(deps::Link {
                stage: p.stage,
                to,
                line: p.line,
                kind: p.kind,
                value: p.value,
                mount_target: p.mount_target,
            });
            continue;
        }
        if is_go_int(&p.value) && p.kind == RefKind::CopyFrom || p.value == "scratch" {
            continue;
        }
        match refs.parse(&p.value) {
            Ok(reference) => out.other_refs.push(OtherRef {
                kind: p.kind,
                image: p.value,
                reference,
                line: p.line,
                stage: Some(p.stage),
            }),
            Err(source) => out.errors.push(Diagnostic::new(
                p.line,
                DockerfileError::InvalidFromReference {
                    name: p.value,
                    source,
                },
            )),
        }
    }

    if let Some(d) = deps::check(&out.stages, &links) {
        out.errors.push(d);
    }

    if out.stages.is_empty() && out.errors.is_empty() {
        let line = parsed.instructions.last().map_or(1, |i| i.line);
        out.errors
            .push(Diagnostic::new(line, DockerfileError::NoStages));
    }

    let mut seen = HashSet::new();
    for st in &out.stages {
        if let Some(r) = &st.reference
            && seen.insert(r.normalized())
        {
            out.base_images.push(r.clone());
        }
    }
    out.errors.sort_by_key(|d| d.line);
    out
}

/// Collects the `COPY --from` and `RUN --mount=...,from=` values of `inst`. BuildKit never expands
/// variables in them: `COPY --from` is checked by `toCommand` (`dockerfile2llb/convert.go`), which
/// fails the build when the shell lexer would change the value at all; a mount's `from` is refused
/// by `parseMount` (`instructions/commands_runmount.go`) when it holds a `$` before its last byte.
fn from_values(
    inst: &Instruction<'_>,
    stage: usize,
    lexer: &Lexer,
    pending: &mut Vec<Pending>,
) -> Result<(), DockerfileError> {
    let mut push = |kind, value: &str, mount_target: &str| {
        if !value.is_empty() {
            pending.push(Pending {
                kind,
                value: value.to_owned(),
                line: inst.line,
                stage,
                mount_target: mount_target.to_owned(),
            });
        }
    };
    for flag in &inst.flags {
        if inst.command == Command::Copy {
            if let Some(v) = flag.strip_prefix("--from=") {
                let processed = lexer
                    .process_word(v, &EmptyEnv)
                    .map_err(DockerfileError::Expand)?;
                if processed != v {
                    return Err(DockerfileError::CopyFromExpansion);
                }
                push(RefKind::CopyFrom, v, "");
            }
        } else if let Some(spec) = flag.strip_prefix("--mount=") {
            let fields = csv_fields(spec);
            let value = |keys: &[&str]| {
                fields.iter().rev().find_map(|f| {
                    f.split_once('=')
                        .filter(|(k, _)| keys.iter().any(|key| k.eq_ignore_ascii_case(key)))
                        .map(|(_, v)| v)
                })
            };
            if let Some(v) = value(&["from"]) {
                if v.find('$').is_some_and(|i| i + 1 != v.len()) {
                    return Err(DockerfileError::MountFromExpansion);
                }
                let target = value(&["target", "dst", "destination"]).unwrap_or_default();
                push(RefKind::RunMountFrom, v, target);
            }
        }
    }
    Ok(())
}

/// The build arg that replaces the `# syntax=` frontend.
const BUILDKIT_SYNTAX: &str = "BUILDKIT_SYNTAX";
/// The build arg (or meta ARG) that fixes the image timestamps.
const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// The `AS` name of every stage (lower-cased, as BuildKit's `instructions.Parse` stores it).
fn stage_names(instructions: &[Instruction<'_>]) -> Vec<Option<String>> {
    instructions
        .iter()
        .filter(|i| i.command == Command::From && !i.bad)
        .map(|i| match from_tokens(i.args()).as_slice() {
            [_, (_, as_kw), (_, name)] if as_kw.eq_ignore_ascii_case("as") => {
                Some(name.to_lowercase())
            }
            _ => None,
        })
        .collect()
}

/// BuildKit's `SOURCE_DATE_EPOCH` handling once the meta ARGs are known (`Dockerfile2LLB` in
/// `dockerfile2llb/convert.go`, `resolveSourceDateEpochValue` in `dockerfile2llb/epoch.go`): the
/// value (the build arg, else a non-empty meta ARG) is rewritten as the decimal Unix time it parses
/// to (`0100` becomes `100`), so FROM lines see the rewritten value; an empty build arg unsets the
/// meta ARG. `context` and a stage name are resolved by BuildKit from the build context at build
/// time, so their value is left alone; anything else fails the build.
fn source_date_epoch(
    global: &mut GlobalEnv,
    opts: &Options,
    stage_names: &[Option<String>],
) -> Result<(), DockerfileError> {
    let value = match opts.build_args.get(SOURCE_DATE_EPOCH) {
        Some(v) => v.clone(),
        None => match global.meta.get(SOURCE_DATE_EPOCH) {
            Some(v) if !v.is_empty() => v.clone(),
            _ => return Ok(()),
        },
    };
    if value.is_empty() {
        // No time resolved: `setBuildArgValue` deletes the value.
        global.meta.remove(SOURCE_DATE_EPOCH);
        return Ok(());
    }
    let Ok(seconds) = value.parse::<i64>() else {
        let known = value == "context"
            || stage_names
                .iter()
                .flatten()
                .any(|n| n.eq_ignore_ascii_case(&value));
        return if known {
            Ok(())
        } else {
            Err(DockerfileError::InvalidSourceDateEpoch(value))
        };
    };
    // BuildKit rewrites the build arg too, which only stage scopes see: FROM lines see the meta ARG.
    if let Some(v) = global.meta.get_mut(SOURCE_DATE_EPOCH) {
        *v = seconds.to_string();
    }
    Ok(())
}

/// Go's `strconv.Atoi` syntax: optional sign, then decimal digits.
fn is_go_int(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The fields of a `--mount` value (CSV: commas separate, double quotes group).
fn csv_fields(spec: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// The arguments of a `FROM`, split on BuildKit's white space, with their offsets.
fn from_tokens(args: &str) -> Vec<(usize, &str)> {
    let mut tokens = Vec::new();
    let mut i = 0;
    let bytes = args.as_bytes();
    while i < bytes.len() {
        while i < bytes.len() && matches!(bytes[i], b'\t' | 0x0b | 0x0c | b'\r' | b' ') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b'\t' | 0x0b | 0x0c | b'\r' | b' ') {
            i += 1;
        }
        if i > start {
            tokens.push((start, &args[start..i]));
        }
    }
    tokens
}

/// Builds the stage of one `FROM` instruction. On error, returns the (kind `Error`) stage too.
#[allow(clippy::too_many_arguments)]
#[allow(clippy::result_large_err)] // private: the error hands the (error) stage back to the caller
fn from_stage(
    inst: &Instruction<'_>,
    index: usize,
    lexer: &Lexer,
    global: &GlobalEnv,
    by_name: &HashMap<String, usize>,
    target_platform: &str,
    exact: bool,
    refs: &mut RefCache,
) -> Result<Stage, (Stage, DockerfileError)> {
    let tokens = from_tokens(inst.args());
    let mut stage = Stage {
        index,
        name: None,
        from: tokens.first().map(|t| t.1.to_owned()).unwrap_or_default(),
        image: None,
        kind: StageKind::Error,
        reference: None,
        stage_ref: None,
        platform_flag: None,
        platform: None,
        line: inst.line,
        from_span: None,
    };
    if let Some(&(off, tok)) = tokens.first() {
        let text_start = inst.args_offset + off;
        let text_end = text_start + tok.len();
        if exact && inst.contiguous(text_start, text_end) {
            let start = inst.source_offset(text_start);
            stage.from_span = Some(Span {
                start,
                end: start + tok.len(),
            });
        }
    }

    let mut error = None;
    match tokens.as_slice() {
        [_] => {}
        [_, (_, as_kw), (_, name)] if as_kw.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if valid_stage_name(&lower) {
                stage.name = Some(lower);
            } else {
                error = Some(DockerfileError::InvalidStageName((*name).to_owned()));
            }
        }
        _ => error = Some(DockerfileError::FromArguments),
    }

    let mut platform_flag: Option<String> = None;
    for flag in &inst.flags {
        if flag == "--" {
            break;
        }
        let body = flag.strip_prefix("--").unwrap_or(flag);
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let e = if name != "platform" {
            Some(DockerfileError::UnknownFlag(name.to_owned()))
        } else if platform_flag.is_some() {
            Some(DockerfileError::DuplicateFlag(name.to_owned()))
        } else if let Some(v) = value {
            platform_flag = Some(v.to_owned());
            None
        } else {
            Some(DockerfileError::MissingFlagValue(name.to_owned()))
        };
        if error.is_none() {
            error = e;
        }
    }
    stage.platform_flag = platform_flag.clone().filter(|p| !p.is_empty());
    if let Some(e) = error {
        return Err((stage, e));
    }

    let expanded = match lexer.process_word(&stage.from, global) {
        Ok(s) => s,
        Err(e) => return Err((stage, DockerfileError::Expand(e))),
    };
    if expanded.is_empty() {
        let from = stage.from.clone();
        return Err((stage, DockerfileError::BlankBaseName(from)));
    }
    stage.image = Some(expanded.clone());

    stage.platform = match &stage.platform_flag {
        None => Some(target_platform.to_owned()),
        Some(p) => match lexer.process_word(p, global) {
            Ok(v) if v.is_empty() => {
                let p = p.clone();
                return Err((stage, DockerfileError::EmptyPlatform(p)));
            }
            Ok(v) => Some(v),
            Err(source) => {
                let platform = p.clone();
                return Err((stage, DockerfileError::PlatformExpand { platform, source }));
            }
        },
    };

    if let Some(&earlier) = by_name.get(&expanded) {
        stage.kind = StageKind::Stage;
        stage.stage_ref = Some(earlier);
        return Ok(stage);
    }
    if expanded == "scratch" {
        stage.kind = StageKind::Scratch;
        return Ok(stage);
    }
    match refs.parse(&expanded) {
        Ok(r) => {
            stage.kind = StageKind::Image;
            stage.reference = Some(r);
            Ok(stage)
        }
        Err(source) => Err((
            stage,
            DockerfileError::InvalidReference {
                name: expanded,
                source,
            },
        )),
    }
}
