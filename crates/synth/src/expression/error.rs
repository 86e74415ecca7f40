//! Why an expression does not parse, and where.

/// A syntax error in one expression: what, and the byte offset in the expression where it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub(crate) struct SyntaxError {
    /// Byte offset in the expression text.
    pub at: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with an expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ErrorKind {
    /// A character that starts no token (`@`, `\`, ...).
    #[error("unrecognized character `{0}`")]
    UnrecognizedCharacter(char),
    /// A number followed by a letter or digit it cannot hold (`12ab`, `0b12`).
    #[error("bad number syntax `{0}`")]
    BadNumber(String),
    /// A number expr-lang cannot convert (`0x`, an integer above 2⁶³−1, `1e999`, `0b1.1`).
    #[error("invalid number literal `{0}`")]
    InvalidNumber(String),
    /// A quoted string without its closing quote on the same line.
    #[error("string not terminated")]
    UnterminatedString,
    /// A backslash escape expr-lang does not know (`\'` in a double-quoted string, `\777`, ...).
    #[error("invalid escape sequence")]
    InvalidEscape,
    /// `/*` without `*/`.
    #[error("unclosed comment")]
    UnclosedComment,
    /// The parser needed something else here.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What would have been accepted.
        expected: String,
        /// What is there.
        found: String,
    },
    /// A predicate function (`filter`, `map`, ...) with too few arguments.
    #[error("`{name}` needs at least {min} arguments")]
    TooFewArguments {
        /// The function.
        name: String,
        /// Its minimum number of arguments.
        min: usize,
    },
    /// `a ?? b + c`: expr-lang refuses to mix `??` with another operator without parentheses.
    #[error("`??` and `{0}` cannot be mixed without parentheses")]
    CoalesceMixed(String),
    /// A predicate written without braces holds `;`.
    #[error("a predicate holding `;` must be wrapped in `{{ }}`")]
    UnwrappedPredicate,
    /// More AST nodes than expr-lang's default limit (10,000).
    #[error("the expression has more than 10000 nodes (expr-lang's limit)")]
    TooManyNodes,
    /// Nesting deeper than this checker follows (expr-lang has no such limit).
    #[error("the expression is nested more than {0} levels deep")]
    TooDeep(usize),
}

impl SyntaxError {
    /// `expected` at `at`, where `found` is.
    pub(crate) fn expected(at: usize, expected: impl Into<String>, found: String) -> Self {
        Self {
            at,
            kind: ErrorKind::Expected {
                expected: expected.into(),
                found,
            },
        }
    }
}
