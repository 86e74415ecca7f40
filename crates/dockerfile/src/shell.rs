//! A port of BuildKit's shell lexer (`frontend/dockerfile/shell/lex.go`): the word expansion used for
//! `FROM`, `--platform`, `ARG` defaults and the other places Dockerfile text is expanded.
//!
//! Supported: `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `${V:?w}`, `${V?w}`, `${V#p}`,
//! `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}`, single quotes (no expansion inside),
//! double quotes (expansion inside, `\"`, `\$` and `\\` escapes) and the escape token outside quotes.

use std::cell::Cell;

use crate::error::ShellError;

/// How deeply `${...}` may nest in one word. BuildKit's lexer (Go, growable stacks) has no limit;
/// ours recurses on the native stack, so a hostile file nesting thousands of levels would abort the
/// whole process. Real Dockerfiles nest two or three levels.
pub const MAX_NESTING: usize = 64;

/// How many bytes the expansions of one Dockerfile may produce in all. BuildKit has no limit, and
/// an `ARG A1=${A0}${A0}` doubling chain of 30 lines asks for gigabytes; 16 MiB is thousands of
/// times what any real Dockerfile's `FROM` and `ARG` lines expand to.
pub const EXPANSION_BUDGET: usize = 16 << 20;

/// The longest piece of a word quoted back in an error message.
const QUOTED_WORD: usize = 120;

/// Where the lexer looks variables up.
pub(crate) trait Env {
    /// The value of `name`, or `None` when it is unset.
    fn get(&self, name: &str) -> Option<&str>;
}

/// An environment with no variables at all.
pub(crate) struct EmptyEnv;

impl Env for EmptyEnv {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
}

impl<S: std::hash::BuildHasher> Env for std::collections::HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        std::collections::HashMap::get(self, name).map(String::as_str)
    }
}

/// The lexer's settings (BuildKit's `shell.Lex`), and what is left of [`EXPANSION_BUDGET`] for the
/// Dockerfile it expands.
#[derive(Clone, Debug)]
pub(crate) struct Lexer {
    /// The escape token: `\` or `` ` ``.
    pub(crate) escape: char,
    /// Keep quote characters in the result.
    pub(crate) raw_quotes: bool,
    /// Keep escape tokens in the result.
    pub(crate) raw_escapes: bool,
    /// Leave references to unset variables as written.
    pub(crate) skip_unset: bool,
    /// Bytes the expansions may still produce.
    budget: Cell<usize>,
}

impl Lexer {
    /// A lexer with the given escape token and BuildKit's defaults otherwise.
    pub(crate) fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
            budget: Cell::new(EXPANSION_BUDGET),
        }
    }

    /// Takes `bytes` from the budget, or fails when it is spent.
    fn charge(&self, bytes: usize) -> Result<(), ShellError> {
        match self.budget.get().checked_sub(bytes) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => {
                self.budget.set(0);
                Err(ShellError::TooLarge {
                    limit: EXPANSION_BUDGET,
                })
            }
        }
    }

    /// Expands `word` as one word (BuildKit's `ProcessWord`).
    pub(crate) fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, ShellError> {
        // Fast path: nothing to expand, unquote or unescape.
        if !word.contains(['$', '\'', '"', self.escape]) {
            return Ok(word.to_owned());
        }
        let mut sw = ShellWord::new(self, word, env);
        match sw.stop_on(None, self.raw_escapes, None) {
            Ok(s) => Ok(s),
            Err(inner) => Err(ShellError::Process {
                word: quoted(word),
                inner: Box::new(inner),
            }),
        }
    }

    /// Expands `word` and splits it into words on unquoted white space (BuildKit's `ProcessWords`).
    pub(crate) fn process_words(
        &self,
        word: &str,
        env: &dyn Env,
    ) -> Result<Vec<String>, ShellError> {
        let mut sw = ShellWord::new(self, word, env);
        let mut words = Words::default();
        match sw.stop_on(None, self.raw_escapes, Some(&mut words)) {
            Ok(_) => Ok(words.finish()),
            Err(inner) => Err(ShellError::Process {
                word: quoted(word),
                inner: Box::new(inner),
            }),
        }
    }
}

#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(&mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
            self.in_word = false;
        }
        std::mem::take(&mut self.words)
    }
}

/// `word`, cut to [`QUOTED_WORD`] characters for an error message.
fn quoted(word: &str) -> String {
    match word.char_indices().nth(QUOTED_WORD) {
        Some((end, _)) => format!("{}…", &word[..end]),
        None => word.to_owned(),
    }
}

struct ShellWord<'a> {
    chars: Vec<char>,
    pos: usize,
    /// How many `${` are open.
    depth: usize,
    lexer: &'a Lexer,
    env: &'a dyn Env,
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_unset: bool,
}

/// Go's `string(rune(-1))` for the end of input, as it appears in BuildKit's messages.
const EOF_CHAR: char = '\u{FFFD}';

impl<'a> ShellWord<'a> {
    fn new(lex: &'a Lexer, word: &str, env: &'a dyn Env) -> Self {
        ShellWord {
            chars: word.chars().collect(),
            pos: 0,
            depth: 0,
            lexer: lex,
            env,
            escape: lex.escape,
            raw_quotes: lex.raw_quotes,
            raw_escapes: lex.raw_escapes,
            skip_unset: lex.skip_unset,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn get_env(&self, name: &str) -> Option<String> {
        self.env.get(name).map(str::to_owned)
    }

    /// BuildKit's `processStopOn`: reads up to `stop` (consumed) or the end of input.
    fn stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
        words: Option<&mut Words>,
    ) -> Result<String, ShellError> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.stop_on_inner(stop, words);
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(
        &mut self,
        stop: Option<char>,
        mut words: Option<&mut Words>,
    ) -> Result<String, ShellError> {
        let mut result = String::new();
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.pos += 1;
                return Ok(result);
            }
            match ch {
                '$' => {
                    let tmp = self.process_dollar()?;
                    if let Some(w) = words.as_deref_mut() {
                        w.add_string(&tmp);
                    }
                    result.push_str(&tmp);
                }
                '\'' => {
                    let tmp = self.process_single_quote()?;
                    if let Some(w) = words.as_deref_mut() {
                        w.add_raw_string(&tmp);
                    }
                    result.push_str(&tmp);
                }
                '"' => {
                    let tmp = self.process_double_quote()?;
                    if let Some(w) = words.as_deref_mut() {
                        w.add_raw_string(&tmp);
                    }
                    result.push_str(&tmp);
                }
                _ => {
                    self.pos += 1;
                    let mut ch = ch;
                    if ch == self.escape {
                        if self.raw_escapes {
                            if let Some(w) = words.as_deref_mut() {
                                w.add_raw_char(ch);
                            }
                            result.push(ch);
                        }
                        match self.next() {
                            None => break,
                            Some(c) => {
                                ch = c;
                                if let Some(w) = words.as_deref_mut() {
                                    w.add_raw_char(ch);
                                }
                            }
                        }
                    } else if let Some(w) = words.as_deref_mut() {
                        w.add_char(ch);
                    }
                    result.push(ch);
                }
            }
        }
        match stop {
            Some(c) => Err(ShellError::UnexpectedEnd(c.to_string())),
            None => Ok(result),
        }
    }

    fn process_single_quote(&mut self) -> Result<String, ShellError> {
        let mut result = String::new();
        let open = self.next();
        if self.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => return Err(ShellError::UnexpectedEnd("single-quote".to_owned())),
                Some('\'') => {
                    if self.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, ShellError> {
        let mut result = String::new();
        let open = self.next();
        if self.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => return Err(ShellError::UnexpectedEnd("double-quote".to_owned())),
                Some('"') => {
                    self.pos += 1;
                    if self.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let v = self.process_dollar()?;
                    result.push_str(&v);
                }
                Some(mut ch) => {
                    self.pos += 1;
                    if ch == self.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.escape => {
                                self.pos += 1;
                                ch = c;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_digit(ch) {
                while let Some(c) = self.peek() {
                    if !is_digit(c) {
                        break;
                    }
                    self.pos += 1;
                    name.push(c);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                name.push(ch);
                return name;
            }
            if !ch.is_alphabetic() && !is_digit(ch) && ch != '_' {
                break;
            }
            self.pos += 1;
            name.push(ch);
        }
        name
    }

    /// Expands the `$...` at the cursor, within [`MAX_NESTING`] and the lexer's budget.
    fn process_dollar(&mut self) -> Result<String, ShellError> {
        if self.depth >= MAX_NESTING {
            return Err(ShellError::TooDeep { limit: MAX_NESTING });
        }
        self.depth += 1;
        let result = self.process_dollar_inner();
        self.depth -= 1;
        let value = result?;
        self.lexer.charge(value.len())?;
        Ok(value)
    }

    fn process_dollar_inner(&mut self) -> Result<String, ShellError> {
        self.pos += 1; // '$'
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.pos += 1; // '{'
        match self.peek() {
            None => return Err(ShellError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ShellError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.process_name();
        let first = self.next();
        let mut chs = String::new();
        chs.push(first.unwrap_or(EOF_CHAR));
        match first {
            Some('}') => Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(c @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let mut ch = Some(c);
                let mut null_is_unset = false;
                if c == ':' {
                    null_is_unset = true;
                    ch = self.next();
                    chs.push(ch.unwrap_or(EOF_CHAR));
                }
                let raw = matches!(ch, Some('#' | '%'));
                if null_is_unset && raw {
                    return Err(ShellError::UnsupportedModifier(chs));
                }
                let word = match self.stop_on(Some('}'), raw, None) {
                    Ok(w) => w,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err(ShellError::MissingBrace);
                        }
                        return Err(e);
                    }
                };
                let value = self.get_env(&name);
                if self.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}{chs}{word}}}"));
                }
                let set = value.is_some();
                let value = value.unwrap_or_default();
                match ch {
                    Some('-') => {
                        if !set || (null_is_unset && value.is_empty()) {
                            Ok(word)
                        } else {
                            Ok(value)
                        }
                    }
                    Some('+') => {
                        if !set || (null_is_unset && value.is_empty()) {
                            Ok(String::new())
                        } else {
                            Ok(word)
                        }
                    }
                    Some('?') => {
                        if !set {
                            let message = if word.is_empty() {
                                "is not allowed to be unset".to_owned()
                            } else {
                                word
                            };
                            Err(ShellError::Required { name, message })
                        } else if null_is_unset && value.is_empty() {
                            let message = if word.is_empty() {
                                "is not allowed to be empty".to_owned()
                            } else {
                                word
                            };
                            Err(ShellError::Required { name, message })
                        } else {
                            Ok(value)
                        }
                    }
                    Some(op @ ('%' | '#')) => {
                        let (pattern, greedy) = match word.strip_prefix(op) {
                            Some(rest) => (rest.to_owned(), true),
                            None => (word, false),
                        };
                        if op == '%' {
                            trim_suffix(&pattern, &value, greedy)
                        } else {
                            trim_prefix(&pattern, &value, greedy)
                        }
                    }
                    _ => Err(ShellError::UnsupportedModifier(chs)),
                }
            }
            Some('/') => {
                let replace_all = self.peek() == Some('/');
                if replace_all {
                    self.pos += 1;
                }
                let pattern = match self.stop_on(Some('/'), true, None) {
                    Ok(p) => p,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err(ShellError::MissingSlash);
                        }
                        return Err(e);
                    }
                };
                let replacement = match self.stop_on(Some('}'), true, None) {
                    Ok(p) => p,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err(ShellError::MissingBrace);
                        }
                        return Err(e);
                    }
                };
                let value = self.get_env(&name);
                if self.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                }
                let value = value.unwrap_or_default();
                let re = pattern_regex(&pattern, true, false)?;
                self.replace(&re, &value, &replacement, replace_all)
            }
            _ => Err(ShellError::UnsupportedModifier(chs)),
        }
    }
}

impl ShellWord<'_> {
    /// `${V/p/r}` and `${V//p/r}`, as `Regex::replace`/`replace_all` would do it, but charging the
    /// output to the budget as it grows: a short value and replacement can multiply into gigabytes.
    fn replace(
        &self,
        re: &regex::Regex,
        value: &str,
        replacement: &str,
        all: bool,
    ) -> Result<String, ShellError> {
        let mut out = String::new();
        let mut last = 0;
        for caps in re.captures_iter(value) {
            let Some(m) = caps.get(0) else { break };
            out.push_str(&value[last..m.start()]);
            let before = out.len();
            caps.expand(replacement, &mut out);
            self.lexer.charge(out.len() - before)?;
            last = m.end();
            if !all {
                break;
            }
        }
        out.push_str(&value[last..]);
        Ok(out)
    }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// BuildKit's `convertShellPatternToRegex`: `*` and `?` wildcards, `\` escapes, everything else literal.
fn pattern_regex(pattern: &str, greedy: bool, anchored: bool) -> Result<regex::Regex, ShellError> {
    let mut out = String::with_capacity(pattern.len() + 4);
    if anchored {
        out.push('^');
    }
    let star = if greedy { "(?s:.*)" } else { "(?s:.*?)" };
    let mut it = pattern.chars().peekable();
    let mut buf = [0u8; 4];
    while let Some(tok) = it.next() {
        match tok {
            '*' => out.push_str(star),
            '?' => out.push_str("(?s:.)"),
            '\\' => {
                // `\x` is a literal `x` (BuildKit accepts `\*`, `\?`, `\\`; we also accept
                // `\/` and the like, as the shell does); a trailing `\` is literal.
                let c = it.next().unwrap_or('\\');
                out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
            c => out.push_str(&regex::escape(c.encode_utf8(&mut buf))),
        }
    }
    regex::Regex::new(&out).map_err(|e| ShellError::InvalidPattern {
        pattern: pattern.to_owned(),
        reason: e.to_string(),
    })
}

fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, ShellError> {
    let re = pattern_regex(pattern, greedy, true)?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_owned(),
        None => value.to_owned(),
    })
}

fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, ShellError> {
    let reversed: String = value.chars().rev().collect();
    let re = pattern_regex(&reverse_pattern(pattern), greedy, true)?;
    let kept = match re.find(&reversed) {
        Some(m) => &reversed[m.end()..],
        None => reversed.as_str(),
    };
    Ok(kept.chars().rev().collect())
}

/// Reverses a pattern for suffix matching, keeping `\x` escape pairs in order.
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            out.push(chars[i + 1]);
            out.push('\\');
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out.reverse();
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<String, String> {
        [
            ("A", "alpine"),
            ("E", ""),
            ("T", "3.20-slim"),
            ("P", "a/b/c"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn x(word: &str) -> Result<String, String> {
        Lexer::new('\\')
            .process_word(word, &env())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn expansion_plain_and_braced() {
        assert_eq!(x("$A:${T}").unwrap(), "alpine:3.20-slim");
        assert_eq!(x("$NOPE-x").unwrap(), "-x");
        assert_eq!(x("a$").unwrap(), "a$");
    }

    #[test]
    fn expansion_default_and_alternative() {
        assert_eq!(x("${E:-d}").unwrap(), "d");
        assert_eq!(x("${E-d}").unwrap(), "");
        assert_eq!(x("${U-d}").unwrap(), "d");
        assert_eq!(x("${A:+w}").unwrap(), "w");
        assert_eq!(x("${E:+w}").unwrap(), "");
        assert_eq!(x("${E+w}").unwrap(), "w");
        assert_eq!(x("${U:-${A}}").unwrap(), "alpine");
    }

    #[test]
    fn expansion_required() {
        assert_eq!(x("${A:?}").unwrap(), "alpine");
        assert_eq!(
            x("${U:?}").unwrap_err(),
            "failed to process \"${U:?}\": U: is not allowed to be unset"
        );
        assert_eq!(
            x("${E:?boom}").unwrap_err(),
            "failed to process \"${E:?boom}\": E: boom"
        );
        assert_eq!(x("${E?}").unwrap(), "");
    }

    #[test]
    fn expansion_prefix_suffix_trim() {
        assert_eq!(x("${T#*-}").unwrap(), "slim");
        assert_eq!(x("${P#*/}").unwrap(), "b/c");
        assert_eq!(x("${P##*/}").unwrap(), "c");
        assert_eq!(x("${P%/*}").unwrap(), "a/b");
        assert_eq!(x("${P%%/*}").unwrap(), "a");
        assert_eq!(x("${T%-slim}").unwrap(), "3.20");
    }

    #[test]
    fn expansion_replace() {
        assert_eq!(x("${P/\\//-}").unwrap(), "a-b/c");
        assert_eq!(x("${P//\\//-}").unwrap(), "a-b-c");
        assert_eq!(x("${T/slim/full}").unwrap(), "3.20-full");
    }

    #[test]
    fn expansion_quotes_and_escapes() {
        assert_eq!(x("'$A'").unwrap(), "$A");
        assert_eq!(x("\"$A\"").unwrap(), "alpine");
        assert_eq!(x("\\$A").unwrap(), "$A");
        assert_eq!(x("\"a\\\"b\"").unwrap(), "a\"b");
    }

    #[test]
    fn expansion_syntax_errors() {
        assert_eq!(
            x("${BASE:x").unwrap_err(),
            "failed to process \"${BASE:x\": syntax error: missing '}'"
        );
        assert_eq!(
            x("${BASE").unwrap_err(),
            "failed to process \"${BASE\": unsupported modifier (\u{FFFD}) in substitution"
        );
        assert_eq!(
            x("${}").unwrap_err(),
            "failed to process \"${}\": syntax error: bad substitution"
        );
        assert!(x("'abc").is_err());
        assert!(x("${A:%x}").is_err());
    }

    #[test]
    fn words_split_on_unquoted_space() {
        let mut lex = Lexer::new('\\');
        lex.raw_quotes = true;
        lex.raw_escapes = true;
        let w = lex.process_words("cat <<EOF 'a b' x", &EmptyEnv).unwrap();
        assert_eq!(w, vec!["cat", "<<EOF", "'a b'", "x"]);
    }
}
