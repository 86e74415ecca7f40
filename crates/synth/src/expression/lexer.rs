//! The tokens of an expr-lang expression, as expr-lang v1.17.8's `parser/lexer` (`state.go`,
//! `lexer.go`, `utils.go`) produces them: the same token boundaries, keywords, number shapes and
//! string escapes, so that the parser sees what Kargo's does.

use std::borrow::Cow;

use super::error::{ErrorKind, SyntaxError};

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind<'a> {
    /// A name (`vars`, `imageFrom`, `true`, `nil`, `$env`).
    Ident,
    /// A number literal, as written (`1_000`, `0x1F`, `1.5e3`, `.5`).
    Number,
    /// A string literal (quoted or raw); the value with escapes resolved.
    Str(Cow<'a, str>),
    /// A bytes literal (`b"..."`); the value with escapes resolved.
    Bytes(Vec<u8>),
    /// An operator or punctuation: `+`, `?.`, `??`, `::`, `,`, `;`, `not`, `in`, `let`, ...
    Op,
    /// One of `( ) [ ] { }`.
    Bracket,
    /// The end of the input.
    Eof,
}

/// One token: its kind, its source text and where it is (byte offsets in the expression).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token<'a> {
    pub kind: Kind<'a>,
    /// The source text (for operators, brackets, names and numbers, also the value).
    pub text: &'a str,
    /// Byte offset of the first character.
    pub start: usize,
}

impl Token<'_> {
    /// Whether this is the operator `op`.
    pub(crate) fn is_op(&self, op: &str) -> bool {
        self.kind == Kind::Op && self.text == op
    }

    /// Whether this is the bracket `b`.
    pub(crate) fn is_bracket(&self, b: &str) -> bool {
        self.kind == Kind::Bracket && self.text == b
    }

    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "the end of the expression".to_owned(),
            Kind::Str(_) | Kind::Bytes(_) => format!("string {}", self.text),
            Kind::Number => format!("number `{}`", self.text),
            Kind::Ident => format!("name `{}`", self.text),
            Kind::Op | Kind::Bracket => format!("`{}`", self.text),
        }
    }
}

/// expr-lang's `utils.IsAlphabetic`: `_`, `$` or a letter.
pub(crate) fn is_alphabetic(c: char) -> bool {
    c == '_' || c == '$' || c.is_alphabetic()
}

/// expr-lang's `utils.IsAlphaNumeric`: [`is_alphabetic`] or a digit.
pub(crate) fn is_alphanumeric(c: char) -> bool {
    is_alphabetic(c) || c.is_numeric()
}

/// The words expr-lang lexes as operators rather than names (`if`/`else` included: Kargo does not
/// set `DisableIfOperator`).
const KEYWORDS: &[&str] = &[
    "not",
    "in",
    "or",
    "and",
    "matches",
    "contains",
    "startsWith",
    "endsWith",
    "let",
    "if",
    "else",
];

/// Whether `word` lexes as an operator, not a name.
pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

/// A lexer over one expression; the parser pulls tokens one at a time, as expr-lang's does.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Just after `#`: adjacent name characters form one name token (`#index`, `#1`, `#in`).
    after_pointer: bool,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            after_pointer: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes the next character if it is one of `set`.
    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn accept_while(&mut self, f: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn token(&self, kind: Kind<'a>, start: usize) -> Token<'a> {
        Token {
            kind,
            text: &self.src[start..self.pos],
            start,
        }
    }

    fn error(&self, at: usize, kind: ErrorKind) -> SyntaxError {
        SyntaxError { at, kind }
    }

    /// The next token, or the lexing error expr-lang reports at this point.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, SyntaxError> {
        if std::mem::take(&mut self.after_pointer) && self.peek().is_some_and(is_alphanumeric) {
            let start = self.pos;
            self.accept_while(is_alphanumeric);
            return Ok(self.token(Kind::Ident, start));
        }
        loop {
            let start = self.pos;
            let Some(c) = self.bump() else {
                return Ok(self.token(Kind::Eof, start));
            };
            let kind = match c {
                c if c.is_whitespace() => continue,
                '\'' | '"' => {
                    let body = self.scan_string(start, c)?;
                    Kind::Str(unescape(body).map_err(|k| self.error(start, k))?)
                }
                '`' => Kind::Str(self.scan_raw_string(start)?),
                'b' | 'B' if matches!(self.peek(), Some('\'' | '"')) => {
                    let quote = self.bump().unwrap_or('"');
                    let body = self.scan_string(start, quote)?;
                    Kind::Bytes(unescape_bytes(body).map_err(|k| self.error(start, k))?)
                }
                '0'..='9' => {
                    self.pos = start;
                    self.scan_number(start)?;
                    Kind::Number
                }
                '?' => {
                    self.accept(".?");
                    Kind::Op
                }
                '/' if self.accept("/") => {
                    self.accept_while(|c| c != '\n');
                    continue;
                }
                '/' if self.accept("*") => {
                    match self.src[self.pos..].find("*/") {
                        Some(end) => self.pos += end + 2,
                        None => return Err(self.error(self.src.len(), ErrorKind::UnclosedComment)),
                    }
                    continue;
                }
                '#' => {
                    self.accept("#");
                    self.after_pointer = true;
                    Kind::Op
                }
                '|' => {
                    self.accept("|");
                    Kind::Op
                }
                ':' => {
                    self.accept(":");
                    Kind::Op
                }
                '(' | '[' | '{' | ')' | ']' | '}' => Kind::Bracket,
                ',' | ';' | '%' | '+' | '-' | '^' | '/' => Kind::Op,
                '&' | '!' | '=' | '*' | '<' | '>' => {
                    self.accept("&=*");
                    Kind::Op
                }
                '.' if self.peek().is_some_and(|c| c.is_ascii_digit()) => {
                    self.scan_number(start)?;
                    Kind::Number
                }
                '.' => {
                    self.accept(".");
                    Kind::Op
                }
                c if is_alphanumeric(c) => {
                    self.accept_while(is_alphanumeric);
                    if is_keyword(&self.src[start..self.pos]) {
                        Kind::Op
                    } else {
                        Kind::Ident
                    }
                }
                c => return Err(self.error(start, ErrorKind::UnrecognizedCharacter(c))),
            };
            return Ok(self.token(kind, start));
        }
    }

    /// `scanNumber` (from the current position: a digit, or the digits after a leading `.`).
    fn scan_number(&mut self, start: usize) -> Result<(), SyntaxError> {
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.peek() == Some('.') {
            if self.peek2() == Some('.') {
                // `1..2`: the number ends before the range operator.
                return Ok(());
            }
            self.bump();
            self.accept_run(digits);
        }
        if self.accept("eE") {
            self.accept("+-");
            self.accept_run(digits);
        }
        if self.peek().is_some_and(is_alphanumeric) {
            self.bump();
            return Err(self.error(
                start,
                ErrorKind::BadNumber(self.src[start..self.pos].to_owned()),
            ));
        }
        Ok(())
    }

    /// `scanString`: up to the closing `quote` (no newline), escapes checked as expr-lang's lexer
    /// does. Returns the text between the quotes.
    fn scan_string(&mut self, start: usize, quote: char) -> Result<&'a str, SyntaxError> {
        let body_start = self.pos;
        loop {
            let at = self.pos;
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.error(start, ErrorKind::UnterminatedString));
                }
                Some(c) if c == quote => return Ok(&self.src[body_start..at]),
                Some('\\') => self.scan_escape(at, quote)?,
                Some(_) => {}
            }
        }
    }

    /// `scanEscape`, after the backslash at `at`.
    fn scan_escape(&mut self, at: usize, quote: char) -> Result<(), SyntaxError> {
        let bad = |l: &Self| l.error(at, ErrorKind::InvalidEscape);
        let hex = |l: &mut Self, n: usize| -> Result<(), SyntaxError> {
            for _ in 0..n {
                if !l.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    return Err(bad(l));
                }
                l.bump();
            }
            Ok(())
        };
        match self.bump() {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => Ok(()),
            Some(c) if c == quote => Ok(()),
            Some('0'..='7') => {
                for _ in 0..2 {
                    if !self.accept("01234567") {
                        return Err(bad(self));
                    }
                }
                Ok(())
            }
            Some('x') => hex(self, 2),
            Some('u') if self.peek() == Some('{') => {
                self.bump();
                let digits = self.src[self.pos..]
                    .chars()
                    .take_while(char::is_ascii_hexdigit)
                    .count();
                if digits == 0 || digits > 6 {
                    return Err(bad(self));
                }
                self.pos += digits;
                if self.accept("}") {
                    Ok(())
                } else {
                    Err(bad(self))
                }
            }
            Some('u') => hex(self, 4),
            Some('U') => hex(self, 8),
            _ => Err(bad(self)),
        }
    }

    /// `scanRawString`: a backtick string; two backticks stand for one.
    fn scan_raw_string(&mut self, start: usize) -> Result<Cow<'a, str>, SyntaxError> {
        let body_start = self.pos;
        let mut doubled = false;
        loop {
            match self.bump() {
                None => return Err(self.error(start, ErrorKind::UnterminatedString)),
                Some('`') if self.peek() == Some('`') => {
                    self.bump();
                    doubled = true;
                }
                Some('`') => break,
                Some(_) => {}
            }
        }
        let body = &self.src[body_start..self.pos - 1];
        Ok(if doubled {
            Cow::Owned(body.replace("``", "`"))
        } else {
            Cow::Borrowed(body)
        })
    }
}

/// expr-lang's `unescape` of a string body the lexer accepted: newlines normalised, escapes
/// resolved, and the escapes the lexer lets through but `unescape` refuses (octal above `\377`,
/// code points above U+10FFFF) rejected.
fn unescape(body: &str) -> Result<Cow<'_, str>, ErrorKind> {
    if !body.contains(['\\', '\r']) {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = String::with_capacity(body.len());
    for piece in Unescaped::new(body, false) {
        match piece? {
            Piece::Char(c) | Piece::Code(c) => out.push(c),
        }
    }
    Ok(Cow::Owned(out))
}

/// expr-lang's `unescapeBytes`: as [`unescape`], but `\x` and octal escapes are byte values and
/// `\u`/`\U` are refused.
fn unescape_bytes(body: &str) -> Result<Vec<u8>, ErrorKind> {
    let mut out = Vec::with_capacity(body.len());
    for piece in Unescaped::new(body, true) {
        match piece? {
            Piece::Char(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            Piece::Code(c) => {
                out.push(u8::try_from(u32::from(c)).map_err(|_| ErrorKind::InvalidEscape)?)
            }
        }
    }
    Ok(out)
}

/// One unit of an unescaped string: a character as written (or a simple escape), or the code of a
/// numeric escape.
enum Piece {
    Char(char),
    Code(char),
}

/// The characters of a string body with escapes resolved (newlines normalised first).
struct Unescaped {
    chars: std::vec::IntoIter<char>,
    bytes: bool,
}

impl Unescaped {
    fn new(body: &str, bytes: bool) -> Self {
        let body = body.replace("\r\n", "\n").replace('\r', "\n");
        Self {
            chars: body.chars().collect::<Vec<_>>().into_iter(),
            bytes,
        }
    }

    fn digits(&mut self, first: Option<char>, n: usize, radix: u32) -> Result<u32, ErrorKind> {
        let digits: String = first
            .into_iter()
            .chain(self.chars.by_ref().take(n))
            .collect();
        u32::from_str_radix(&digits, radix).map_err(|_| ErrorKind::InvalidEscape)
    }
}

impl Iterator for Unescaped {
    type Item = Result<Piece, ErrorKind>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.chars.next()?;
        if c != '\\' {
            return Some(Ok(Piece::Char(c)));
        }
        let Some(e) = self.chars.next() else {
            return Some(Err(ErrorKind::InvalidEscape));
        };
        let simple = |c: char| Some(Ok(Piece::Char(c)));
        let code = match e {
            'a' => return simple('\u{7}'),
            'b' => return simple('\u{8}'),
            'f' => return simple('\u{c}'),
            'n' => return simple('\n'),
            'r' => return simple('\r'),
            't' => return simple('\t'),
            'v' => return simple('\u{b}'),
            '\\' | '\'' | '"' | '`' | '?' => return simple(e),
            'u' | 'U' if self.bytes => Err(ErrorKind::InvalidEscape),
            'u' if self.chars.as_slice().first() == Some(&'{') => {
                self.chars.next();
                let digits: String = self.chars.by_ref().take_while(|&c| c != '}').collect();
                u32::from_str_radix(&digits, 16).map_err(|_| ErrorKind::InvalidEscape)
            }
            'x' => self.digits(None, 2, 16),
            'u' => self.digits(None, 4, 16),
            'U' => self.digits(None, 8, 16),
            '0'..='3' => self.digits(Some(e), 2, 8),
            _ => Err(ErrorKind::InvalidEscape),
        };
        Some(code.and_then(|v| {
            if v > 0x10_FFFF {
                return Err(ErrorKind::InvalidEscape);
            }
            // Go encodes a surrogate code point as U+FFFD.
            Ok(Piece::Code(char::from_u32(v).unwrap_or('\u{FFFD}')))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<String> {
        let mut l = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            match l.next_token() {
                Ok(t) if t.kind == Kind::Eof => return out,
                Ok(t) => out.push(match &t.kind {
                    Kind::Str(v) => format!("S:{v}"),
                    Kind::Bytes(v) => format!("B:{v:?}"),
                    Kind::Number => format!("N:{}", t.text),
                    Kind::Ident => format!("I:{}", t.text),
                    Kind::Op => format!("O:{}", t.text),
                    Kind::Bracket => format!("K:{}", t.text),
                    Kind::Eof => String::new(),
                }),
                Err(e) => {
                    out.push(format!("E@{}:{}", e.at, e.kind));
                    return out;
                }
            }
        }
    }

    #[test]
    fn operators_and_keywords() {
        assert_eq!(
            kinds("a?.b ?? c || d && !e != f ** 2 .. 3 :: x not in y"),
            [
                "I:a", "O:?.", "I:b", "O:??", "I:c", "O:||", "I:d", "O:&&", "O:!", "I:e", "O:!=",
                "I:f", "O:**", "N:2", "O:..", "N:3", "O:::", "I:x", "O:not", "O:in", "I:y"
            ]
        );
        assert_eq!(kinds("1..2"), ["N:1", "O:..", "N:2"]);
        assert_eq!(
            kinds("#index #.a # b"),
            ["O:#", "I:index", "O:#", "O:.", "I:a", "O:#", "I:b"]
        );
        assert_eq!(kinds("#in"), ["O:#", "I:in"]);
        assert_eq!(kinds("a // c\n+ /* x */ b"), ["I:a", "O:+", "I:b"]);
        assert_eq!(kinds("a /* x"), ["I:a", "E@6:unclosed comment"]);
    }

    #[test]
    fn numbers() {
        assert_eq!(
            kinds("1_000 0x1F 0o17 0b101 1.5e3 .5 1e-3 1."),
            [
                "N:1_000", "N:0x1F", "N:0o17", "N:0b101", "N:1.5e3", "N:.5", "N:1e-3", "N:1."
            ]
        );
        assert_eq!(kinds("12ab"), ["E@0:bad number syntax `12a`"]);
    }

    #[test]
    fn strings() {
        assert_eq!(
            kinds(r#""a\"b" 'c\'d' `e``f`"#),
            ["S:a\"b", "S:c'd", "S:e`f"]
        );
        assert_eq!(kinds(r#""\x41\u0042\u{43}\U00000044\101""#), ["S:ABCDA"]);
        assert_eq!(kinds(r#"b"\x41""#), ["B:[65]"]);
        assert_eq!(kinds(r#""\'""#), ["E@1:invalid escape sequence"]);
        assert_eq!(kinds(r#""\777""#), ["E@0:invalid escape sequence"]);
        assert_eq!(kinds(r#"b"\u0041""#), ["E@0:invalid escape sequence"]);
        assert_eq!(kinds("\"a\nb\""), ["E@0:string not terminated"]);
        assert_eq!(kinds("`a\nb`"), ["S:a\nb"]);
        assert_eq!(kinds("`a"), ["E@0:string not terminated"]);
    }

    #[test]
    fn unrecognized() {
        assert_eq!(kinds("a @ b"), ["I:a", "E@2:unrecognized character `@`"]);
    }
}
