//! The Dockerfile reader: a port of BuildKit's `frontend/dockerfile/parser` line handling.
//!
//! Turns the text into logical instructions: BOM, CRLF, parser directives (only at the top),
//! continuation lines (joined without a space; comment and blank lines inside them dropped), heredocs
//! of `RUN`/`COPY`/`ADD` (skipped as text), the command word, `--flags`, and the per-instruction
//! argument checks BuildKit's parser performs.

use std::borrow::Cow;

use crate::error::{DockerfileError, DockerfileWarning};
use crate::shell::{EmptyEnv, Lexer};
use crate::{Diagnostic, Warning};

/// The instructions BuildKit knows (lower case).
const KNOWN: [&str; 18] = [
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// A parser directive found at the top of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Directive {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// The instructions BuildKit knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    /// Anything else (an error).
    Unknown,
}

impl Command {
    fn from_keyword(k: &str) -> Command {
        KNOWN
            .iter()
            .position(|known| known.eq_ignore_ascii_case(k))
            .and_then(|i| COMMANDS.get(i).copied())
            .unwrap_or(Command::Unknown)
    }
}

/// [`KNOWN`] as [`Command`]s, in the same order.
const COMMANDS: [Command; 18] = [
    Command::Add,
    Command::Arg,
    Command::Cmd,
    Command::Copy,
    Command::Entrypoint,
    Command::Env,
    Command::Expose,
    Command::From,
    Command::Healthcheck,
    Command::Label,
    Command::Maintainer,
    Command::Onbuild,
    Command::Run,
    Command::Shell,
    Command::Stopsignal,
    Command::User,
    Command::Volume,
    Command::Workdir,
];

/// One logical instruction.
#[derive(Clone, Debug)]
pub(crate) struct Instruction<'a> {
    /// The command.
    pub command: Command,
    /// Byte range of the command word in `text`.
    keyword: (usize, usize),
    /// The `--flag[=value]` words before the arguments, without quotes.
    pub flags: Vec<String>,
    /// Byte offset of the arguments (after the flags, trimmed) in `text`.
    pub args_offset: usize,
    /// End of the arguments in `text`.
    args_end: usize,
    /// The logical line (continuations joined).
    pub text: Cow<'a, str>,
    /// First physical line (1-based).
    pub line: usize,
    /// Offset in the source of the first physical piece of `text`.
    first_source: usize,
    /// `(offset in text, offset in source)` of the other physical pieces of `text`.
    segments: Vec<(usize, usize)>,
    /// Whether the arguments are a JSON array.
    pub json: bool,
    /// Whether the reader already reported this instruction as broken.
    pub bad: bool,
}

impl Instruction<'_> {
    /// The command word as written (`FROM`, `from`, ...).
    pub fn keyword(&self) -> &str {
        self.text
            .get(self.keyword.0..self.keyword.1)
            .unwrap_or_default()
    }

    /// The arguments after the flags, trimmed.
    pub fn args(&self) -> &str {
        self.text
            .get(self.args_offset..self.args_end)
            .unwrap_or_default()
    }

    /// Maps a byte offset of `text` to a byte offset of the source.
    pub fn source_offset(&self, text_offset: usize) -> usize {
        let idx = self
            .segments
            .partition_point(|&(logical, _)| logical <= text_offset);
        match idx.checked_sub(1).and_then(|i| self.segments.get(i)) {
            Some(&(logical, source)) => source + (text_offset - logical),
            None => self.first_source + text_offset,
        }
    }

    /// Whether the `text` range maps to one contiguous range of the source.
    pub fn contiguous(&self, start: usize, end: usize) -> bool {
        let a = self.segments.partition_point(|&(l, _)| l <= start);
        let b = self.segments.partition_point(|&(l, _)| l < end);
        a == b
    }
}

/// What the reader produced.
#[derive(Debug, Default)]
pub(crate) struct Parsed<'a> {
    pub instructions: Vec<Instruction<'a>>,
    pub directives: Vec<Directive>,
    pub escape: char,
    /// Problems found while reading, in line order.
    pub errors: Vec<Diagnostic>,
    /// Warnings of BuildKit's parser, in line order.
    pub warnings: Vec<Warning>,
}

struct Lines<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The next physical line with its newline, and its offset.
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        if self.pos >= self.src.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.src[start..];
        let len = match rest.find('\n') {
            Some(i) => i + 1,
            None => rest.len(),
        };
        self.pos += len;
        Some((start, &rest[..len]))
    }
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(s: &str) -> bool {
    s.trim_start().starts_with('#')
}

/// Go's regexp `\s`.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// `[\t\v\f\r ]`: BuildKit's `reWhitespace`.
fn is_re_ws(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

struct DirectiveParser {
    done: bool,
    escape: char,
    directives: Vec<Directive>,
}

impl DirectiveParser {
    /// BuildKit's `possibleParserDirective` on one (newline-trimmed) line.
    fn line(&mut self, line: &str, line_no: usize) -> Result<(), DockerfileError> {
        if self.done {
            return Ok(());
        }
        let Some((key, value)) = match_directive(line) else {
            self.done = true;
            return Ok(());
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.directives.iter().any(|d| d.name == key) {
            return Err(DockerfileError::RepeatedDirective(key));
        }
        if key == "escape" {
            match value {
                "\\" => self.escape = '\\',
                "`" => self.escape = '`',
                other => return Err(DockerfileError::InvalidEscape(other.to_owned())),
            }
        }
        self.directives.push(Directive {
            name: key,
            value: value.to_owned(),
            line: line_no,
        });
        Ok(())
    }
}

/// BuildKit's `parser.DetectSyntax` (`frontend/dockerfile/parser/directives.go`), which picks the
/// frontend before any parsing: the value of `# syntax=` and its line. Unlike the parser's own
/// directive block it skips a first `#!` line, and it reads lines as they are, so a directive with
/// white space before its `#` is not seen. (Its `//` and JSON forms are for other frontends' files.)
pub(crate) fn detect_syntax(src: &str) -> Option<(&str, usize)> {
    let src = src.strip_prefix('\u{FEFF}').unwrap_or(src);
    let mut seen: Vec<String> = Vec::new();
    for (i, raw) in src.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if i == 0 && line.starts_with("#!") {
            continue;
        }
        let (key, value) = match_directive(line)?;
        let key = key.to_ascii_lowercase();
        // A repeated directive ends the block, keeping what came before.
        if !matches!(key.as_str(), "syntax" | "escape" | "check") || seen.contains(&key) {
            return None;
        }
        if key == "syntax" {
            return Some((value.split(' ').next().unwrap_or_default(), i + 1));
        }
        seen.push(key);
    }
    None
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn match_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?;
    let rest = rest.trim_start_matches(is_go_space);
    let key_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let key = &rest[..key_len];
    let rest = rest[key_len..].trim_start_matches(is_go_space);
    let rest = rest.strip_prefix('=')?;
    let value = rest.trim_matches(is_go_space);
    if value.is_empty() || value.contains('\n') {
        return None;
    }
    Some((key, value))
}

/// BuildKit's `trimContinuationCharacter`: returns the line without its continuation token and
/// whether the logical line ends here.
///
/// BuildKit matches `([^E])E[ \t]*$|^E[ \t]*$` (E the escape token; `setEscapeToken` in
/// moby/buildkit `frontend/dockerfile/parser/parser.go`): the token continues the line only when it
/// is the whole line or follows a character other than the token. So a line ending in an escaped
/// escape token (`RUN echo \\`, or ``` `` ``` under `# escape=``) ends the instruction, and so
/// does one ending in three tokens (the regex has no look-behind; BuildKit's comment admits it).
fn trim_continuation(s: &str, escape: char) -> (&str, bool) {
    let t = s.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(prefix) if !prefix.ends_with(escape) => (prefix, false),
        _ => (s, true),
    }
}

/// Reads `src` into instructions. Never fails: problems are collected in [`Parsed::errors`].
pub(crate) fn read(src: &str) -> Parsed<'_> {
    let mut lines = Lines { src, pos: 0 };
    let mut dp = DirectiveParser {
        done: false,
        escape: '\\',
        directives: Vec::new(),
    };
    let mut out = Parsed {
        escape: '\\',
        instructions: Vec::with_capacity(src.len() / 48 + 1),
        ..Parsed::default()
    };
    let mut line_no = 0usize;

    'outer: while let Some((mut start, mut raw)) = lines.next_line() {
        if line_no == 0
            && let Some(rest) = raw.strip_prefix('\u{FEFF}')
        {
            raw = rest;
            start += '\u{FEFF}'.len_utf8();
        }
        let t = trim_newline(raw);
        let trimmed = t.trim_start();
        let seg_start = start + (t.len() - trimmed.len());
        if let Err(e) = dp.line(trimmed, line_no + 1) {
            out.errors.push(Diagnostic::new(line_no + 1, e));
            break;
        }
        let content = if is_comment(trimmed) { "" } else { trimmed };
        line_no += 1;
        let start_line = line_no;
        let escape = dp.escape;
        let (content, mut eol) = trim_continuation(content, escape);
        if eol && content.is_empty() {
            continue;
        }
        let mut text = Cow::Borrowed(content);
        let mut segments = Vec::new();
        let mut empty_continuation = false;
        while !eol {
            let Some((st, raw2)) = lines.next_line() else {
                break;
            };
            let t2 = trim_newline(raw2);
            if let Err(e) = dp.line(t2, line_no + 1) {
                out.errors.push(Diagnostic::new(line_no + 1, e));
                break 'outer;
            }
            line_no += 1;
            if is_comment(raw2) {
                continue;
            }
            if t2.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            let (c, e) = trim_continuation(t2, escape);
            segments.push((text.len(), st));
            if let Cow::Borrowed(first) = text {
                let mut owned = String::with_capacity(first.len() * 4 + c.len() + 64);
                owned.push_str(first);
                text = Cow::Owned(owned);
            }
            text.to_mut().push_str(c);
            eol = e;
        }

        if empty_continuation {
            out.warnings.push(Warning {
                line: line_no,
                warning: DockerfileWarning::EmptyContinuationLine(text.clone().into_owned()),
            });
        }
        let mut inst = split_command(text, seg_start, segments, start_line);
        if let Err(e) = dispatch(&mut inst, escape) {
            inst.bad = true;
            out.errors.push(Diagnostic::new(start_line, e));
        }

        if can_contain_heredoc(&inst) && inst.text.contains("<<") {
            match heredocs_from_line(&inst.text) {
                Ok(docs) => {
                    for (name, chomp) in docs {
                        let mut terminated = false;
                        while let Some((_, raw3)) = lines.next_line() {
                            line_no += 1;
                            let mut candidate = trim_newline(raw3);
                            if chomp {
                                candidate = candidate.trim_start_matches('\t');
                            }
                            if candidate == name {
                                terminated = true;
                                break;
                            }
                        }
                        if !terminated {
                            out.errors.push(Diagnostic::new(
                                start_line,
                                DockerfileError::UnterminatedHeredoc,
                            ));
                            out.instructions.push(inst);
                            break 'outer;
                        }
                    }
                }
                Err(e) => {
                    out.errors.push(Diagnostic::new(start_line, e));
                }
            }
        }
        out.instructions.push(inst);
    }

    out.escape = dp.escape;
    out.directives = dp.directives;
    if out.instructions.is_empty() && out.errors.is_empty() {
        out.errors.push(Diagnostic::new(
            line_no.max(1),
            DockerfileError::NoInstructions,
        ));
    }
    out
}

/// BuildKit's `splitCommand` + `extractBuilderFlags`.
fn split_command<'a>(
    text: Cow<'a, str>,
    first_source: usize,
    segments: Vec<(usize, usize)>,
    line: usize,
) -> Instruction<'a> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let end = lead + trimmed.len();
    let (keyword, after) = match trimmed.find(is_re_ws) {
        Some(i) => {
            let rest = trimmed[i..].trim_start_matches(is_re_ws);
            ((lead, lead + i), Some(end - rest.len()))
        }
        None => ((lead, end), None),
    };
    let (flags, args_offset, args_end) = match after {
        Some(off) => {
            let rest = &text[off..end];
            let (consumed, flags) = extract_flags(rest);
            let args_raw = &rest[consumed..];
            let args_lead = args_raw.len() - args_raw.trim_start().len();
            let args_len = args_raw.trim().len();
            let start = off + consumed + args_lead;
            (flags, start, start + args_len)
        }
        None => (Vec::new(), text.len(), text.len()),
    };
    let command = Command::from_keyword(&text[keyword.0..keyword.1]);
    Instruction {
        command,
        keyword,
        flags,
        args_offset,
        args_end,
        text,
        line,
        first_source,
        segments,
        json: false,
        bad: false,
    }
}

/// BuildKit's `extractBuilderFlags`: returns how many bytes of `line` the flags used, and the flags.
fn extract_flags(line: &str) -> (usize, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let b = line.as_bytes();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word: Vec<u8> = Vec::new();
    let mut quote = 0u8;
    let mut blank_ok = false;
    // ASCII white space only: Go's `unicode.IsSpace(rune(byte))` would also split on the UTF-8
    // continuation bytes 0x85 and 0xA0, cutting a character in two.
    let is_space = |c: u8| matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let mut pos = 0usize;
    while pos <= b.len() {
        let ch = b.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == b.len() {
                break;
            }
            if is_space(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || pos + 1 == b.len() || b.get(pos + 1) != Some(&b'-') {
                return (pos, words);
            }
            phase = Phase::Word;
        }
        if pos == b.len() {
            if word != b"--" && (blank_ok || !word.is_empty()) {
                words.push(String::from_utf8_lossy(&word).into_owned());
            }
            break;
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if word == b"--" {
                    return (pos, words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(String::from_utf8_lossy(&word).into_owned());
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if c == b'\\' {
                if pos + 1 == b.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = b[pos];
            }
            word.push(c);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if c == b'\\' {
            if pos + 1 == b.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = b[pos];
        }
        word.push(c);
        pos += 1;
    }
    (b.len(), words)
}

/// BuildKit's `parseWords`: splits on white space, keeping quotes and escapes in the words.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    for_each_word(rest, escape, |w| {
        words.push(w.to_owned());
        true
    });
    words
}

/// Calls `f` with each word of BuildKit's `parseWords` until it returns `false`, without allocating
/// a string per word.
fn for_each_word(rest: &str, escape: char, mut f: impl FnMut(&str) -> bool) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    // Fast path: nothing quoted or escaped.
    if !rest.contains(['\'', '"', escape]) {
        for w in rest.split(char::is_whitespace).filter(|w| !w.is_empty()) {
            if !f(w) {
                return;
            }
        }
        return;
    }
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut it = rest.chars();
    loop {
        let Some(ch) = it.next() else {
            if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
                f(&word);
            }
            return;
        };
        if phase == Phase::Spaces {
            if ch.is_whitespace() {
                continue;
            }
            phase = Phase::Word;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if (blank_ok || !word.is_empty()) && !f(&word) {
                    return;
                }
                word.clear();
                blank_ok = false;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            let mut c = ch;
            if c == escape {
                let Some(next) = it.next() else {
                    continue;
                };
                word.push(c);
                c = next;
            }
            word.push(c);
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        let mut c = ch;
        if c == escape && quote != '\'' {
            let Some(next) = it.next() else {
                phase = Phase::Word;
                continue;
            };
            word.push(c);
            c = next;
        }
        word.push(c);
    }
}

/// BuildKit's `parseJSON` outcome: `Ok(true)` a string array, `Ok(false)` not JSON.
fn parse_json(rest: &str) -> Result<bool, DockerfileError> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(false);
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Ok(values) => {
            if values.iter().all(serde_json::Value::is_string) {
                Ok(true)
            } else {
                Err(DockerfileError::JsonNotStrings)
            }
        }
        Err(_) => Ok(false),
    }
}

/// The per-instruction argument checks of BuildKit's parser (`dispatch` table) and of
/// `instructions.Parse` that do not depend on stages.
fn dispatch(inst: &mut Instruction<'_>, escape: char) -> Result<(), DockerfileError> {
    match inst.command {
        Command::Unknown => Err(DockerfileError::UnknownInstruction(
            inst.keyword().to_owned(),
        )),
        Command::Add
        | Command::Copy
        | Command::Volume
        | Command::Cmd
        | Command::Entrypoint
        | Command::Run
        | Command::Shell => {
            if inst.args().starts_with('[') {
                inst.json = parse_json(inst.args())?;
            }
            Ok(())
        }
        Command::Env | Command::Label => check_name_val(inst.args(), inst.keyword(), escape),
        Command::Arg => {
            let words = parse_words(inst.args(), escape);
            if words.is_empty() {
                return Err(DockerfileError::AtLeastOneArgument("ARG".to_owned()));
            }
            if words.iter().any(|w| w.starts_with('=')) {
                return Err(DockerfileError::BlankArgName);
            }
            Ok(())
        }
        Command::Onbuild => {
            let trimmed = inst.args().trim();
            if trimmed.is_empty() {
                return Err(DockerfileError::AtLeastOneArgument("ONBUILD".to_owned()));
            }
            let sub = trimmed
                .split(is_re_ws)
                .next()
                .unwrap_or_default()
                .to_uppercase();
            match sub.as_str() {
                "ONBUILD" | "FROM" | "MAINTAINER" => Err(DockerfileError::OnbuildTrigger(sub)),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// BuildKit's `parseNameVal` for `ENV` and `LABEL`.
fn check_name_val(rest: &str, keyword: &str, escape: char) -> Result<(), DockerfileError> {
    let key = || keyword.to_uppercase();
    let mut first: Option<bool> = None;
    let mut missing: Option<String> = None;
    for_each_word(rest, escape, |w| {
        let has_eq = w.contains('=');
        match first {
            None => {
                first = Some(has_eq);
                has_eq
            }
            Some(_) if !has_eq => {
                missing = Some(w.to_owned());
                false
            }
            Some(_) => true,
        }
    });
    match first {
        None => Err(DockerfileError::AtLeastOneArgument(key())),
        Some(false) => {
            let mut parts = rest.splitn(2, is_re_ws);
            let _ = parts.next();
            if parts.next().is_none() {
                Err(DockerfileError::TwoArguments(key()))
            } else {
                Ok(())
            }
        }
        Some(true) => match missing {
            Some(w) => Err(DockerfileError::MissingEquals(w)),
            None => Ok(()),
        },
    }
}

/// Whether heredocs are looked for after this instruction (`RUN`/`COPY`/`ADD`, also under `ONBUILD`).
fn can_contain_heredoc(inst: &Instruction<'_>) -> bool {
    let (cmd, json) = if inst.command == Command::Onbuild {
        let sub = split_command(Cow::Borrowed(inst.args()), 0, Vec::new(), inst.line);
        let json = parse_json(sub.args()).unwrap_or(false);
        (sub.command, json)
    } else {
        (inst.command, inst.json)
    };
    matches!(cmd, Command::Run | Command::Copy | Command::Add) && !json
}

/// BuildKit's `heredocsFromLine`: the terminators and "chomp" (`<<-`) of the heredocs on a line.
fn heredocs_from_line(line: &str) -> Result<Vec<(String, bool)>, DockerfileError> {
    let mut lex = Lexer::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    let words = lex.process_words(line, &EmptyEnv).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let Some(rest) = word[digits..].strip_prefix("<<") else {
            continue;
        };
        let (chomp, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if rest.is_empty() || rest.contains('<') {
            continue;
        }
        let mut name_lex = Lexer::new('\\');
        name_lex.skip_unset = true;
        let names = name_lex
            .process_words(rest, &EmptyEnv)
            .map_err(DockerfileError::Expand)?;
        if names.len() != 1 {
            continue;
        }
        if let Some(name) = names.into_iter().next() {
            docs.push((name, chomp));
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn cmds(src: &str) -> Vec<(String, String, usize)> {
        read(src)
            .instructions
            .iter()
            .map(|i| (i.keyword().to_lowercase(), i.args().to_owned(), i.line))
            .collect()
    }

    #[test]
    fn continuation_joined_without_space_and_comments_dropped() {
        let c = cmds("FROM\\\n  # c\n\n    alpine \\\n  AS b\n");
        assert_eq!(c, vec![("from".into(), "alpine   AS b".into(), 1)]);
    }

    #[test]
    fn directives_only_at_top() {
        let p = read("# syntax=docker/dockerfile:1\n# escape=`\nFROM a`\n  b\n");
        assert_eq!(p.escape, '`');
        assert_eq!(p.directives.len(), 2);
        assert_eq!(p.instructions[0].args(), "a  b");
        let p = read("FROM a\n# escape=`\n");
        assert_eq!(p.escape, '\\');
        let p = read("\n# escape=`\nFROM a\n");
        assert_eq!(p.escape, '\\');
    }

    #[test]
    fn repeated_directive_is_an_error() {
        let p = read("# escape=\\\n# escape=`\nFROM a\n");
        assert_eq!(p.errors.len(), 1);
    }

    #[test]
    fn heredoc_skipped() {
        let src = "FROM a\nRUN <<EOF cat <<-'X'\nFROM evil\nEOF\n\tFROM evil2\n\tX\nFROM b\n";
        let c = cmds(src);
        assert_eq!(c.len(), 3);
        assert_eq!(c[2], ("from".into(), "b".into(), 7));
    }

    #[test]
    fn flags_extracted() {
        let p = read("FROM --platform=$BUILDPLATFORM node AS b\n");
        let i = &p.instructions[0];
        assert_eq!(i.flags, vec!["--platform=$BUILDPLATFORM"]);
        assert_eq!(i.args(), "node AS b");
        assert_eq!(&i.text[i.args_offset..i.args_offset + 4], "node");
    }

    #[test]
    fn offsets_map_through_continuations() {
        let src = "\u{FEFF}FROM \\\r\n  node:22 AS b\r\n";
        let p = read(src);
        let i = &p.instructions[0];
        let off = i.source_offset(i.args_offset);
        assert_eq!(&src[off..off + 7], "node:22");
    }
}
