//! How Kargo v1.11 cuts a string into literal text and expressions: `nextExpression` and
//! `evaluateTemplate` of `pkg/expressions/json_templates.go`.
//!
//! - Two delimiter pairs: `${{ … }}` and `${% … %}`. The earliest opening delimiter of either kind
//!   starts the next expression, and it ends at the FIRST closing delimiter of the same kind after
//!   it (a plain substring search: no nesting, no quoting, no escapes), so `}}` inside a string
//!   literal or a nested map ends the expression early.
//! - An opening delimiter without its closing one fails the whole string ("unclosed expression").
//! - An empty expression (`${{}}`) stops the evaluation: the rest of the string is kept as literal
//!   text, expressions included.
//! - A string that is one whole expression is cut the same way (only the conversion of its result
//!   differs), and strings without an opening delimiter are never evaluated.

/// A pair of expression delimiters Kargo recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delimiters {
    /// `${{ … }}`.
    Braces,
    /// `${% … %}` (Kargo ≥ 1.9), for expressions that contain `}}`.
    Percent,
}

impl Delimiters {
    /// The opening delimiter.
    pub(crate) fn open(self) -> &'static str {
        match self {
            Self::Braces => "${{",
            Self::Percent => "${%",
        }
    }

    /// The closing delimiter.
    pub(crate) fn close(self) -> &'static str {
        match self {
            Self::Braces => "}}",
            Self::Percent => "%}",
        }
    }

    /// The other pair.
    pub(crate) fn other(self) -> Self {
        match self {
            Self::Braces => Self::Percent,
            Self::Percent => Self::Braces,
        }
    }
}

/// One expression of a template, as Kargo cuts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expression<'a> {
    /// Its delimiters.
    pub delimiters: Delimiters,
    /// Byte offset of the opening delimiter in the template.
    pub open: usize,
    /// Byte offset of the closing delimiter in the template.
    pub close: usize,
    /// The text between the delimiters: what Kargo hands to `expr.Compile`.
    pub body: &'a str,
}

impl Expression<'_> {
    /// Byte offset of the body in the template.
    pub(crate) fn body_start(&self) -> usize {
        self.open + self.delimiters.open().len()
    }
}

/// A piece of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Literal text, kept as it is.
    Text(&'a str),
    /// An expression.
    Expression(Expression<'a>),
}

/// An opening delimiter without its closing one: Kargo fails the whole string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{}` without a closing `{}`", .delimiters.open(), .delimiters.close())]
pub(crate) struct Unclosed {
    /// The delimiters.
    pub delimiters: Delimiters,
    /// Byte offset of the opening delimiter.
    pub open: usize,
}

/// The pieces of `template` in order, as Kargo's `evaluateTemplate` visits them: literal text and
/// expressions, and after an empty expression the rest as one literal text. Stops at the first
/// unclosed delimiter (Kargo evaluates nothing of such a string).
pub(crate) fn pieces(template: &str) -> Pieces<'_> {
    Pieces {
        template,
        pos: 0,
        literal_rest: false,
        done: false,
    }
}

/// The iterator of [`pieces`].
pub(crate) struct Pieces<'a> {
    template: &'a str,
    pos: usize,
    /// After an empty expression: the rest is literal text.
    literal_rest: bool,
    done: bool,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Result<Piece<'a>, Unclosed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.template.get(self.pos..).unwrap_or_default();
        if self.literal_rest {
            self.done = true;
            return (!rest.is_empty()).then_some(Ok(Piece::Text(rest)));
        }
        // `nextExpression`: the earliest opening delimiter of either kind.
        let found = [Delimiters::Braces, Delimiters::Percent]
            .into_iter()
            .filter_map(|d| rest.find(d.open()).map(|i| (i, d)))
            .min_by_key(|&(i, _)| i);
        let Some((i, delimiters)) = found else {
            self.done = true;
            return (!rest.is_empty()).then_some(Ok(Piece::Text(rest)));
        };
        if i > 0 {
            // The text before the expression first; the expression on the next call.
            self.pos += i;
            return Some(Ok(Piece::Text(rest.get(..i).unwrap_or_default())));
        }
        let open = self.pos;
        let body_start = open + delimiters.open().len();
        let after_open = self.template.get(body_start..).unwrap_or_default();
        let Some(len) = after_open.find(delimiters.close()) else {
            self.done = true;
            return Some(Err(Unclosed { delimiters, open }));
        };
        let close = body_start + len;
        let body = &after_open[..len];
        self.pos = close + delimiters.close().len();
        // `evaluateTemplate` takes an empty expression for "no more expressions".
        self.literal_rest = body.is_empty();
        Some(Ok(Piece::Expression(Expression {
            delimiters,
            open,
            close,
            body,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(s: &str) -> Vec<String> {
        pieces(s)
            .map(|p| match p {
                Ok(Piece::Text(t)) => format!("T:{t}"),
                Ok(Piece::Expression(e)) => format!("{}:{}", e.delimiters.open(), e.body),
                Err(e) => format!("E:{e}@{}", e.open),
            })
            .collect()
    }

    #[test]
    fn text_and_expressions() {
        assert_eq!(cut("plain"), ["T:plain"]);
        assert_eq!(cut(""), Vec::<String>::new());
        assert_eq!(
            cut("a ${{ x }} b ${% y %}c"),
            ["T:a ", "${{: x ", "T: b ", "${%: y ", "T:c"]
        );
        assert_eq!(cut("${{x}}${{y}}"), ["${{:x", "${{:y"]);
    }

    #[test]
    fn the_first_closing_delimiter_ends_the_expression() {
        assert_eq!(
            cut(r#"${{ quote({"a": {"b": 1}}) }}"#),
            [r#"${{: quote({"a": {"b": 1"#, "T:) }}"]
        );
        assert_eq!(cut(r#"${{ "}}" }}"#), [r#"${{: ""#, r#"T:" }}"#]);
        assert_eq!(
            cut(r#"${% quote({"a": {"b": 1}}) %}"#),
            [r#"${%: quote({"a": {"b": 1}}) "#]
        );
        // The earliest opening delimiter wins; the other kind's closing one is just text.
        assert_eq!(cut("${% a }} %}"), ["${%: a }} "]);
        assert_eq!(cut("${{ a %} }}"), ["${{: a %} "]);
    }

    #[test]
    fn unclosed_and_empty() {
        assert_eq!(cut("a ${{ x"), ["T:a ", "E:`${{` without a closing `}}`@2"]);
        assert_eq!(cut("${% x }}"), ["E:`${%` without a closing `%}`@0"]);
        // An empty expression ends the evaluation: the rest is literal, `${{ y }}` included.
        assert_eq!(cut("a${{}}b ${{ y }}"), ["T:a", "${{:", "T:b ${{ y }}"]);
    }
}
