//! Kargo expressions as Kargo v1.11 reads them (SPEC §8.2): a string is cut into literal text and
//! `${{ … }}` / `${% … %}` expressions exactly as Kargo's `pkg/expressions/json_templates.go` does
//! ([`template`]: the FIRST closing delimiter ends an expression), and each expression is parsed
//! with the grammar of expr-lang v1.17.8, the version Kargo v1.11 builds with ([`lexer`],
//! [`parser`], [`ast`]). [`check`] is what the `Rule::Expressions` check of [`crate::check`]
//! runs on every string that holds a `$`; [`check_bare`] what it runs on the expressions Kargo
//! compiles without delimiters (`successExpression`, `freightCreationCriteria.expression`).
//!
//! This is a syntax check, not a type check: unknown names, wrong argument types and runtime
//! errors are not found. Everything expr-lang's parser accepts is accepted, except expressions
//! nested more than [`parser::MAX_NESTING`] levels deep; identifiers with non-ASCII letters or
//! digits follow Rust's Unicode classes, which differ from Go's in rare code points.

pub(crate) mod ast;
pub(crate) mod error;
pub(crate) mod lexer;
pub(crate) mod parser;
pub(crate) mod template;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;

pub(crate) use error::SyntaxError;
pub(crate) use parser::parse;
use template::{Delimiters, Expression, Piece, pieces};

/// How many more closing delimiters [`check`] tries when looking for the end an expression that
/// Kargo cut short was meant to have.
const INTENDED_END_TRIES: usize = 8;

/// Why Kargo would fail (or silently mis-read) a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TemplateError {
    /// An opening delimiter without its closing one.
    Unclosed {
        /// The delimiters.
        delimiters: Delimiters,
        /// Column (from 1, in characters) of the opening delimiter.
        column: usize,
    },
    /// An expression with nothing (or only spaces) between its delimiters.
    Empty {
        /// The delimiters.
        delimiters: Delimiters,
        /// Column of the opening delimiter.
        column: usize,
        /// Nothing at all: Kargo then stops evaluating and keeps the rest as it is.
        stops: bool,
    },
    /// An expression that expr-lang cannot compile.
    Syntax {
        /// The delimiters.
        delimiters: Delimiters,
        /// Column of the opening delimiter.
        open: usize,
        /// Column of the closing delimiter Kargo stops at.
        close: usize,
        /// The text Kargo compiles.
        body: String,
        /// The syntax error.
        error: SyntaxError,
        /// Column of the error in the string.
        column: usize,
        /// Column of a later closing delimiter where the expression would parse: the end it was
        /// meant to have, cut short because it contains the closing delimiter.
        intended: Option<usize>,
    },
    /// An expression Kargo compiles without delimiters that expr-lang cannot compile.
    Bare {
        /// The expression.
        body: String,
        /// The syntax error.
        error: SyntaxError,
        /// Column of the error in the expression.
        column: usize,
    },
}

/// The column (from 1, in characters) of byte offset `at` of `s`.
fn column(s: &str, at: usize) -> usize {
    s.get(..at).map_or(at, |prefix| prefix.chars().count()) + 1
}

/// At most 60 characters of `s`, with `…` when cut.
fn shorten(s: &str) -> String {
    let mut out: String = s.trim().chars().take(60).collect();
    if s.trim().chars().nth(60).is_some() {
        out.push('…');
    }
    out
}

/// Checks every expression of `template` as Kargo would evaluate it: each must be closed,
/// non-empty and parse with expr-lang's grammar. Returns the first problem, in Kargo's order.
pub(crate) fn check(template: &str) -> Result<(), TemplateError> {
    for piece in pieces(template) {
        let expression = match piece {
            Ok(Piece::Text(_)) => continue,
            Ok(Piece::Expression(e)) => e,
            Err(unclosed) => {
                return Err(TemplateError::Unclosed {
                    delimiters: unclosed.delimiters,
                    column: column(template, unclosed.open),
                });
            }
        };
        if expression.body.trim().is_empty() {
            return Err(TemplateError::Empty {
                delimiters: expression.delimiters,
                column: column(template, expression.open),
                stops: expression.body.is_empty(),
            });
        }
        if let Err(error) = parse(expression.body) {
            return Err(syntax_error(template, &expression, error));
        }
    }
    Ok(())
}

/// Checks an expression Kargo compiles as it is, without delimiters (an http step's
/// `successExpression`, a Warehouse's `freightCreationCriteria.expression`).
pub(crate) fn check_bare(expression: &str) -> Result<(), TemplateError> {
    parse(expression)
        .map(|_| ())
        .map_err(|error| TemplateError::Bare {
            body: expression.to_owned(),
            column: column(expression, error.at),
            error,
        })
}

fn syntax_error(template: &str, e: &Expression<'_>, error: SyntaxError) -> TemplateError {
    let start = e.body_start();
    let close = e.delimiters.close();
    // Would the expression parse up to a later closing delimiter? Then that is where it was
    // meant to end, and the first one (inside a nested map or a string) cut it short.
    let intended = template
        .get(e.close..)
        .unwrap_or_default()
        .match_indices(close)
        .skip(1)
        .take(INTENDED_END_TRIES)
        .map(|(i, _)| e.close + i)
        .find(|&end| {
            template
                .get(start..end)
                .is_some_and(|body| parse(body).is_ok())
        })
        .map(|end| column(template, end));
    TemplateError::Syntax {
        delimiters: e.delimiters,
        open: column(template, e.open),
        close: column(template, e.close),
        body: e.body.to_owned(),
        column: column(template, start + error.at),
        error,
        intended,
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unclosed { delimiters, column } => write!(
                f,
                "`{}` at column {column} has no closing `{}`: Kargo fails the whole string",
                delimiters.open(),
                delimiters.close()
            ),
            Self::Empty {
                delimiters,
                column,
                stops,
            } => {
                let (open, close) = (delimiters.open(), delimiters.close());
                write!(f, "empty `{open} {close}` expression at column {column}")?;
                if *stops {
                    f.write_str(
                        ": Kargo stops evaluating there and keeps the rest of the string as it is",
                    )?;
                }
                Ok(())
            }
            Self::Bare {
                body,
                error,
                column,
            } => write!(
                f,
                "the expression `{}` does not parse: {error} at column {column}",
                shorten(body)
            ),
            Self::Syntax {
                delimiters,
                open,
                close,
                body,
                error,
                column,
                intended,
            } => {
                let (open_delim, close_delim) = (delimiters.open(), delimiters.close());
                let body = shorten(body);
                match intended {
                    Some(_) => write!(
                        f,
                        "Kargo ends the `{open_delim}` expression at column {open} at the first \
                         `{close_delim}` (column {close}), so the text it compiles, `{body}`, does \
                         not parse: {error} at column {column}"
                    )?,
                    None => write!(
                        f,
                        "the `{open_delim}` expression at column {open}, `{body}`, does not parse: \
                         {error} at column {column}"
                    )?,
                }
                if let Some(end) = intended {
                    let other = delimiters.other();
                    write!(
                        f,
                        "; the expression meant to end at column {end} contains `{close_delim}`: \
                         write it between `{} … {}`",
                        other.open(),
                        other.close()
                    )?;
                    if *delimiters == Delimiters::Braces {
                        f.write_str(
                            ", or avoid `}}` (build the inner map in a variable, or put a space \
                             between the braces: `} }`)",
                        )?;
                    }
                }
                Ok(())
            }
        }
    }
}
