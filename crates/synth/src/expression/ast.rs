//! The syntax tree of an expr-lang expression, shaped as expr-lang's own (`ast/node.go`), and a
//! printer whose output parses back to the same tree.
//!
//! As in expr-lang, some spellings leave no trace: `a.b` and `a["b"]` are the same member access,
//! `x | f(y)` is the call `f(x, y)`, `a not in b` is `not (a in b)`, `a < b < c` is
//! `a < b && b < c`, `.x` in a predicate is `#.x`, and `if c { a } else { b }` is `c ? a : b`.

use std::borrow::Cow;
use std::fmt;

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr<'a> {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer literal (any base).
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal (escapes resolved).
    Str(Cow<'a, str>),
    /// A bytes literal `b"..."`.
    Bytes(Vec<u8>),
    /// A variable or function name.
    Ident(Cow<'a, str>),
    /// `#` (the current element of a predicate; empty name) or `#index`, `#acc`, ...
    Pointer(Cow<'a, str>),
    /// `[a, b]`.
    Array(Vec<Expr<'a>>),
    /// `{k: v, ...}`: keys written as names, strings or numbers are [`Expr::Str`].
    Map(Vec<(Expr<'a>, Expr<'a>)>),
    /// `object.name` (`property` is [`Expr::Str`]) or `object[property]`; `?.` when `optional`.
    Member {
        object: Box<Expr<'a>>,
        property: Box<Expr<'a>>,
        optional: bool,
    },
    /// `object[from:to]`.
    Slice {
        object: Box<Expr<'a>>,
        from: Option<Box<Expr<'a>>>,
        to: Option<Box<Expr<'a>>>,
    },
    /// `callee(args)`: a function ([`Expr::Ident`]) or a method ([`Expr::Member`]).
    Call {
        callee: Box<Expr<'a>>,
        args: Vec<Expr<'a>>,
    },
    /// A predicate argument of `filter`, `map`, `all`, ... (`# > 1`, `{ ... }`).
    Predicate(Box<Expr<'a>>),
    /// `op operand`.
    Unary { op: UnaryOp, operand: Box<Expr<'a>> },
    /// `left op right`.
    Binary {
        op: BinaryOp,
        left: Box<Expr<'a>>,
        right: Box<Expr<'a>>,
    },
    /// `cond ? then : otherwise`.
    Conditional {
        cond: Box<Expr<'a>>,
        then: Box<Expr<'a>>,
        otherwise: Box<Expr<'a>>,
    },
    /// `let name = value; body`.
    Let {
        name: Cow<'a, str>,
        value: Box<Expr<'a>>,
        body: Box<Expr<'a>>,
    },
    /// `a; b; c`.
    Sequence(Vec<Expr<'a>>),
}

/// A prefix operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnaryOp {
    /// `not`.
    Not,
    /// `!`.
    Bang,
    /// `-`.
    Neg,
    /// `+`.
    Plus,
}

impl UnaryOp {
    /// The operator as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Not => "not",
            Self::Bang => "!",
            Self::Neg => "-",
            Self::Plus => "+",
        }
    }

    /// The operator spelled `op`, if any.
    pub(crate) fn from_op(op: &str) -> Option<Self> {
        Some(match op {
            "not" => Self::Not,
            "!" => Self::Bang,
            "-" => Self::Neg,
            "+" => Self::Plus,
            _ => return None,
        })
    }

    /// expr-lang's precedence of the operand (`operator.Unary`).
    pub(crate) fn precedence(self) -> u16 {
        match self {
            Self::Not | Self::Bang => 50,
            Self::Neg | Self::Plus => 90,
        }
    }
}

/// An infix operator (`|` is not one: a pipe becomes a [`Expr::Call`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Or,
    OrOr,
    And,
    AndAnd,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    Matches,
    Contains,
    StartsWith,
    EndsWith,
    Range,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Caret,
    Coalesce,
}

impl BinaryOp {
    /// Every operator (for generators).
    pub(crate) const ALL: [Self; 24] = [
        Self::Or,
        Self::OrOr,
        Self::And,
        Self::AndAnd,
        Self::Eq,
        Self::Ne,
        Self::Lt,
        Self::Gt,
        Self::Le,
        Self::Ge,
        Self::In,
        Self::Matches,
        Self::Contains,
        Self::StartsWith,
        Self::EndsWith,
        Self::Range,
        Self::Add,
        Self::Sub,
        Self::Mul,
        Self::Div,
        Self::Mod,
        Self::Pow,
        Self::Caret,
        Self::Coalesce,
    ];

    /// The operator as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Or => "or",
            Self::OrOr => "||",
            Self::And => "and",
            Self::AndAnd => "&&",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Gt => ">",
            Self::Le => "<=",
            Self::Ge => ">=",
            Self::In => "in",
            Self::Matches => "matches",
            Self::Contains => "contains",
            Self::StartsWith => "startsWith",
            Self::EndsWith => "endsWith",
            Self::Range => "..",
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
            Self::Mod => "%",
            Self::Pow => "**",
            Self::Caret => "^",
            Self::Coalesce => "??",
        }
    }

    /// The operator spelled `op`, if any.
    pub(crate) fn from_op(op: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == op)
    }

    /// expr-lang's precedence (`operator.Binary`).
    pub(crate) fn precedence(self) -> u16 {
        match self {
            Self::Or | Self::OrOr => 10,
            Self::And | Self::AndAnd => 15,
            Self::Eq
            | Self::Ne
            | Self::Lt
            | Self::Gt
            | Self::Le
            | Self::Ge
            | Self::In
            | Self::Matches
            | Self::Contains
            | Self::StartsWith
            | Self::EndsWith => 20,
            Self::Range => 25,
            Self::Add | Self::Sub => 30,
            Self::Mul | Self::Div | Self::Mod => 60,
            Self::Pow | Self::Caret => 100,
            Self::Coalesce => 500,
        }
    }

    /// `**` and `^` group to the right; the rest to the left.
    pub(crate) fn right_associative(self) -> bool {
        matches!(self, Self::Pow | Self::Caret)
    }

    /// `<`, `>`, `<=`, `>=`: these chain (`a < b < c`).
    pub(crate) fn is_comparison(self) -> bool {
        matches!(self, Self::Lt | Self::Gt | Self::Le | Self::Ge)
    }

    /// The operators `not` may precede (`not in`, `not matches`, ...).
    pub(crate) fn negatable(self) -> bool {
        matches!(
            self,
            Self::In | Self::Matches | Self::Contains | Self::StartsWith | Self::EndsWith
        )
    }
}

/// Whether `name` can be written after `.` and read back as the same property.
fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn write_str_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

impl Expr<'_> {
    /// Whether the printer writes this without surrounding parentheses in any position.
    fn is_atom(&self) -> bool {
        !matches!(
            self,
            Self::Unary { .. }
                | Self::Binary { .. }
                | Self::Conditional { .. }
                | Self::Let { .. }
                | Self::Sequence(_)
                | Self::Predicate(_)
        )
    }

    /// Prints `self` where a postfix (`.x`, `[i]`) or an operand follows or precedes: numbers and
    /// literals that take no postfix are parenthesised too.
    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let takes_postfix = self.is_atom()
            && !matches!(
                self,
                Self::Nil | Self::Bool(_) | Self::Int(_) | Self::Float(_)
            );
        if takes_postfix {
            write!(f, "{self}")
        } else {
            write!(f, "({self})")
        }
    }
}

/// Prints the expression in a form expr-lang (and [`super::parse`]) reads back as the same tree:
/// every compound operand is parenthesised.
impl fmt::Display for Expr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nil => f.write_str("nil"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x:?}"),
            Self::Str(s) => write_str_literal(f, s),
            Self::Bytes(bytes) => {
                f.write_str("b\"")?;
                for b in bytes {
                    write!(f, "\\x{b:02x}")?;
                }
                f.write_str("\"")
            }
            Self::Ident(name) => f.write_str(name),
            Self::Pointer(name) => write!(f, "#{name}"),
            Self::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    item.fmt_operand(f)?;
                }
                f.write_str("]")
            }
            Self::Map(pairs) => {
                f.write_str("{")?;
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match key {
                        Self::Str(s) => write_str_literal(f, s)?,
                        key => write!(f, "({key})")?,
                    }
                    f.write_str(": ")?;
                    value.fmt_operand(f)?;
                }
                f.write_str("}")
            }
            Self::Member {
                object,
                property,
                optional,
            } => {
                object.fmt_operand(f)?;
                match (property.as_ref(), optional) {
                    (Self::Str(name), false) if is_plain_name(name) => write!(f, ".{name}"),
                    (Self::Str(name), true) if is_plain_name(name) => write!(f, "?.{name}"),
                    (property, optional) => {
                        f.write_str(if *optional { "?.[" } else { "[" })?;
                        property.fmt_operand(f)?;
                        f.write_str("]")
                    }
                }
            }
            Self::Slice { object, from, to } => {
                object.fmt_operand(f)?;
                f.write_str("[")?;
                if let Some(from) = from {
                    from.fmt_operand(f)?;
                }
                f.write_str(":")?;
                if let Some(to) = to {
                    to.fmt_operand(f)?;
                }
                f.write_str("]")
            }
            Self::Call { callee, args } => {
                write!(f, "{callee}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match arg {
                        Self::Predicate(_) => write!(f, "{arg}")?,
                        arg => arg.fmt_operand(f)?,
                    }
                }
                f.write_str(")")
            }
            Self::Predicate(body) => write!(f, "{{{body}}}"),
            Self::Unary { op, operand } => {
                f.write_str(op.as_str())?;
                if *op == UnaryOp::Not {
                    f.write_str(" ")?;
                }
                operand.fmt_operand(f)
            }
            Self::Binary { op, left, right } => {
                left.fmt_operand(f)?;
                write!(f, " {} ", op.as_str())?;
                right.fmt_operand(f)
            }
            Self::Conditional {
                cond,
                then,
                otherwise,
            } => {
                cond.fmt_operand(f)?;
                f.write_str(" ? ")?;
                then.fmt_operand(f)?;
                f.write_str(" : ")?;
                otherwise.fmt_operand(f)
            }
            Self::Let { name, value, body } => {
                write!(f, "let {name} = ")?;
                value.fmt_operand(f)?;
                write!(f, "; {body}")
            }
            Self::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    item.fmt_operand(f)?;
                }
                Ok(())
            }
        }
    }
}
