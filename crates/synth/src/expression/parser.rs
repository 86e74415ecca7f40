//! A recursive-descent parser of expr-lang, a port of expr-lang v1.17.8's `parser/parser.go` (the
//! version Kargo v1.11 builds with): the same precedence climbing, predicates, pipes, `let`,
//! `if`/`else`, optional chaining, slices and comparison chains, and the same refusals. It checks
//! syntax only: names, types and function arities (beyond the predicates') are not checked.

use std::borrow::Cow;

use super::ast::{BinaryOp, Expr, UnaryOp};
use super::error::{ErrorKind, SyntaxError};
use super::lexer::{Kind, Lexer, Token, is_alphabetic, is_alphanumeric};

/// expr-lang's default limit on AST nodes (`conf.DefaultMaxNodes`).
const MAX_NODES: usize = 10_000;

/// How deeply expressions may nest here (expr-lang has no limit; this bounds the recursion).
pub(crate) const MAX_NESTING: usize = 100;

/// The built-in functions whose arguments are predicates (`parser.go`, `predicates`), with their
/// arguments: `true` a predicate, and how many arguments are required.
const PREDICATES: &[(&str, &[bool], usize)] = &[
    ("all", &[false, true], 2),
    ("none", &[false, true], 2),
    ("any", &[false, true], 2),
    ("one", &[false, true], 2),
    ("filter", &[false, true], 2),
    ("map", &[false, true], 2),
    ("count", &[false, true], 1),
    ("sum", &[false, true], 1),
    ("find", &[false, true], 2),
    ("findIndex", &[false, true], 2),
    ("findLast", &[false, true], 2),
    ("findLastIndex", &[false, true], 2),
    ("groupBy", &[false, true], 2),
    ("sortBy", &[false, true, false], 2),
    ("reduce", &[false, true, false], 2),
];

/// The arguments of predicate function `name` (kinds, required count), if it is one.
pub(crate) fn predicate_signature(name: &str) -> Option<(&'static [bool], usize)> {
    PREDICATES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, args, required)| (*args, *required))
}

/// Parses one expression (the text between Kargo's delimiters). Errors carry the byte offset in
/// `src` where expr-lang would stop.
pub(crate) fn parse(src: &str) -> Result<Expr<'_>, SyntaxError> {
    let mut p = Parser {
        lexer: Lexer::new(src),
        current: Token {
            kind: Kind::Eof,
            text: "",
            start: 0,
        },
        stashed: None,
        predicate_depth: 0,
        nesting: 0,
        nodes: 0,
    };
    p.next()?;
    let node = p.sequence()?;
    if p.current.kind != Kind::Eof {
        return Err(p.unexpected("an operator or the end of the expression"));
    }
    Ok(node)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    current: Token<'a>,
    /// A token put back after looking past `not`.
    stashed: Option<Token<'a>>,
    /// Inside how many predicates (`#` and `.x` are allowed when > 0).
    predicate_depth: usize,
    nesting: usize,
    nodes: usize,
}

type Parsed<'a> = Result<Expr<'a>, SyntaxError>;

impl<'a> Parser<'a> {
    fn next(&mut self) -> Result<(), SyntaxError> {
        self.current = match self.stashed.take() {
            Some(t) => t,
            None => self.lexer.next_token()?,
        };
        Ok(())
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        SyntaxError::expected(self.current.start, expected, self.current.describe())
    }

    fn expect_op(&mut self, op: &str) -> Result<(), SyntaxError> {
        if self.current.is_op(op) {
            self.next()
        } else {
            Err(self.unexpected(&format!("`{op}`")))
        }
    }

    fn expect_bracket(&mut self, b: &str, expected: &str) -> Result<(), SyntaxError> {
        if self.current.is_bracket(b) {
            self.next()
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// Counts one AST node against expr-lang's limit.
    fn node(&mut self, e: Expr<'a>) -> Parsed<'a> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(SyntaxError {
                at: self.current.start,
                kind: ErrorKind::TooManyNodes,
            });
        }
        Ok(e)
    }

    /// `parseSequenceExpression`: `a; b; c` (a trailing `;` only before the end).
    fn sequence(&mut self) -> Parsed<'a> {
        let mut nodes = vec![self.expression(0)?];
        while self.current.is_op(";") {
            self.next()?;
            if self.current.kind == Kind::Eof {
                break;
            }
            nodes.push(self.expression(0)?);
        }
        if nodes.len() == 1 {
            Ok(nodes.remove(0))
        } else {
            self.node(Expr::Sequence(nodes))
        }
    }

    /// `parseExpression`, with a bound on the nesting.
    fn expression(&mut self, precedence: u16) -> Parsed<'a> {
        self.nesting += 1;
        let result = if self.nesting > MAX_NESTING {
            Err(SyntaxError {
                at: self.current.start,
                kind: ErrorKind::TooDeep(MAX_NESTING),
            })
        } else {
            self.expression_inner(precedence)
        };
        self.nesting -= 1;
        result
    }

    fn expression_inner(&mut self, precedence: u16) -> Parsed<'a> {
        if precedence == 0 && self.current.is_op("let") {
            return self.variable_declaration();
        }
        if precedence == 0 && self.current.is_op("if") {
            return self.conditional_if();
        }
        let mut left = self.primary()?;
        let mut previous: Option<&'a str> = None;
        while self.current.kind == Kind::Op {
            let mut op_token = self.current.clone();
            let mut negate = false;
            if op_token.is_op("not") {
                // `not in`, `not matches`, ...: look at the next token.
                let not_token = self.current.clone();
                self.next()?;
                let word = match &self.current.kind {
                    Kind::Str(value) => value.as_ref(),
                    _ => self.current.text,
                };
                match BinaryOp::from_op(word).filter(|op| op.negatable()) {
                    Some(op) if op.precedence() >= precedence => {
                        negate = true;
                        op_token = self.current.clone();
                    }
                    Some(_) => {
                        let after = std::mem::replace(&mut self.current, not_token);
                        self.stashed = Some(after);
                        break;
                    }
                    None => {
                        return Err(self.unexpected(
                            "`in`, `matches`, `contains`, `startsWith` or `endsWith` after `not`",
                        ));
                    }
                }
            }
            let word = match &op_token.kind {
                Kind::Str(value) => value.as_ref(),
                _ => op_token.text,
            };
            if word == "|" && precedence == 0 {
                self.next()?;
                let name = self.current.clone();
                if name.kind != Kind::Ident {
                    return Err(self.unexpected("a function name after `|`"));
                }
                self.next()?;
                left = self.call(&name, vec![left])?;
                previous = Some(op_token.text);
                continue;
            }
            let Some(op) = BinaryOp::from_op(word).filter(|op| op.precedence() >= precedence)
            else {
                break;
            };
            self.next()?;
            if previous == Some("??") && op != BinaryOp::Coalesce {
                return Err(SyntaxError {
                    at: op_token.start,
                    kind: ErrorKind::CoalesceMixed(op.as_str().to_owned()),
                });
            }
            left = if op.is_comparison() {
                self.comparison(left, op)?
            } else {
                let right = if op.right_associative() {
                    self.expression(op.precedence())?
                } else {
                    self.expression(op.precedence() + 1)?
                };
                self.node(Expr::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                })?
            };
            if negate {
                left = self.node(Expr::Unary {
                    op: UnaryOp::Not,
                    operand: Box::new(left),
                })?;
            }
            previous = Some(op.as_str());
        }
        if precedence == 0 {
            left = self.conditional(left)?;
        }
        Ok(left)
    }

    /// `let name = value; body`.
    fn variable_declaration(&mut self) -> Parsed<'a> {
        self.expect_op("let")?;
        let name = self.current.clone();
        if name.kind != Kind::Ident {
            return Err(self.unexpected("a variable name after `let`"));
        }
        self.next()?;
        self.expect_op("=")?;
        let value = self.expression(0)?;
        self.expect_op(";")?;
        let body = self.sequence()?;
        self.node(Expr::Let {
            name: Cow::Borrowed(name.text),
            value: Box::new(value),
            body: Box::new(body),
        })
    }

    /// `if cond { a } else { b }` (`else if` chains).
    fn conditional_if(&mut self) -> Parsed<'a> {
        self.next()?;
        let cond = self.expression(0)?;
        self.expect_bracket("{", "`{` after the `if` condition")?;
        let then = self.sequence()?;
        self.expect_bracket("}", "`}`")?;
        self.expect_op("else")?;
        let otherwise = if self.current.is_op("if") {
            self.conditional_if()?
        } else {
            self.expect_bracket("{", "`{` or `if` after `else`")?;
            let otherwise = self.sequence()?;
            self.expect_bracket("}", "`}`")?;
            otherwise
        };
        self.node(Expr::Conditional {
            cond: Box::new(cond),
            then: Box::new(then),
            otherwise: Box::new(otherwise),
        })
    }

    /// `cond ? a : b` and `cond ?: b`.
    fn conditional(&mut self, mut node: Expr<'a>) -> Parsed<'a> {
        while self.current.is_op("?") {
            self.next()?;
            let (then, otherwise) = if self.current.is_op(":") {
                self.next()?;
                (node.clone(), self.expression(0)?)
            } else {
                let then = self.expression(0)?;
                self.expect_op(":")?;
                (then, self.expression(0)?)
            };
            node = self.node(Expr::Conditional {
                cond: Box::new(node),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            })?;
        }
        Ok(node)
    }

    /// `a < b < c` is `a < b && b < c`.
    fn comparison(&mut self, mut left: Expr<'a>, mut op: BinaryOp) -> Parsed<'a> {
        let mut root: Option<Expr<'a>> = None;
        loop {
            let right = self.expression(op.precedence() + 1)?;
            let compare = self.node(Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right.clone()),
            })?;
            root = Some(match root {
                None => compare,
                Some(r) => self.node(Expr::Binary {
                    op: BinaryOp::AndAnd,
                    left: Box::new(r),
                    right: Box::new(compare),
                })?,
            });
            left = right;
            match BinaryOp::from_op(self.current.text) {
                Some(next) if self.current.kind == Kind::Op && next.is_comparison() => {
                    op = next;
                    self.next()?;
                }
                _ => break,
            }
        }
        root.ok_or_else(|| self.unexpected("a comparison"))
    }

    /// `parsePrimary`: unary operators, parentheses, `#` and `.x` in predicates, `::f()`.
    fn primary(&mut self) -> Parsed<'a> {
        let token = self.current.clone();
        if token.kind == Kind::Op
            && let Some(op) = UnaryOp::from_op(token.text)
        {
            self.next()?;
            let operand = self.expression(op.precedence())?;
            let node = self.node(Expr::Unary {
                op,
                operand: Box::new(operand),
            })?;
            return self.postfix(node);
        }
        if token.is_bracket("(") {
            self.next()?;
            let inner = self.sequence()?;
            self.expect_bracket(")", "`)`")?;
            return self.postfix(inner);
        }
        if self.predicate_depth > 0 && (token.is_op("#") || token.is_op(".")) {
            let mut name = "";
            if token.is_op("#") {
                self.next()?;
                if self.current.kind == Kind::Ident {
                    name = self.current.text;
                    self.next()?;
                }
            }
            let node = self.node(Expr::Pointer(Cow::Borrowed(name)))?;
            return self.postfix(node);
        }
        if token.is_op("::") {
            self.next()?;
            let name = self.current.clone();
            if name.kind != Kind::Ident {
                return Err(self.unexpected("a function name after `::`"));
            }
            self.next()?;
            let call = self.call(&name, Vec::new())?;
            return self.postfix(call);
        }
        self.secondary()
    }

    /// `parseSecondary`: names, calls, literals, arrays, maps.
    fn secondary(&mut self) -> Parsed<'a> {
        let token = self.current.clone();
        let node = match token.kind {
            Kind::Ident => {
                self.next()?;
                match token.text {
                    "true" => return self.node(Expr::Bool(true)),
                    "false" => return self.node(Expr::Bool(false)),
                    "nil" => return self.node(Expr::Nil),
                    _ if self.current.is_bracket("(") => self.call(&token, Vec::new())?,
                    name => self.node(Expr::Ident(Cow::Borrowed(name)))?,
                }
            }
            Kind::Number => {
                self.next()?;
                let number = number(token.text).ok_or_else(|| SyntaxError {
                    at: token.start,
                    kind: ErrorKind::InvalidNumber(token.text.to_owned()),
                })?;
                return self.node(number);
            }
            Kind::Str(value) => {
                self.next()?;
                self.node(Expr::Str(value))?
            }
            Kind::Bytes(value) => {
                self.next()?;
                self.node(Expr::Bytes(value))?
            }
            _ if token.is_bracket("[") => self.array()?,
            _ if token.is_bracket("{") => self.map()?,
            _ => return Err(self.unexpected("an expression")),
        };
        self.postfix(node)
    }

    /// A call of `name` (`parseCall`); `args` holds the left side of a pipe, if any.
    fn call(&mut self, name: &Token<'a>, mut args: Vec<Expr<'a>>) -> Parsed<'a> {
        let callee = Box::new(self.node(Expr::Ident(Cow::Borrowed(name.text)))?);
        let Some((kinds, required)) = predicate_signature(name.text) else {
            let args = self.arguments(args)?;
            return self.node(Expr::Call { callee, args });
        };
        self.expect_bracket("(", "`(`")?;
        let piped = args.len();
        for (i, &is_predicate) in kinds.iter().enumerate().skip(piped) {
            if self.current.is_bracket(")") {
                if i < required {
                    return Err(SyntaxError {
                        at: self.current.start,
                        kind: ErrorKind::TooFewArguments {
                            name: name.text.to_owned(),
                            min: required,
                        },
                    });
                }
                break;
            }
            if i > piped {
                self.expect_op(",")?;
            }
            args.push(if is_predicate {
                self.predicate()?
            } else {
                self.expression(0)?
            });
        }
        if self.current.is_op(",") {
            self.next()?;
        }
        self.expect_bracket(")", "`)`")?;
        self.node(Expr::Call { callee, args })
    }

    /// `parseArguments`: `(a, b,)` after the callee.
    fn arguments(&mut self, mut args: Vec<Expr<'a>>) -> Result<Vec<Expr<'a>>, SyntaxError> {
        let offset = args.len();
        self.expect_bracket("(", "`(`")?;
        while !self.current.is_bracket(")") {
            if args.len() > offset {
                if !self.current.is_op(",") {
                    return Err(self.unexpected("`,` or `)`"));
                }
                self.next()?;
                if self.current.is_bracket(")") {
                    break;
                }
            }
            args.push(self.expression(0)?);
        }
        self.next()?;
        Ok(args)
    }

    /// A predicate argument: `{ seq }` or one expression.
    fn predicate(&mut self) -> Parsed<'a> {
        let braces = self.current.is_bracket("{");
        if braces {
            self.next()?;
        }
        self.predicate_depth += 1;
        let body = if braces {
            self.sequence()
        } else {
            self.expression(0).and_then(|body| {
                if self.current.is_op(";") {
                    Err(SyntaxError {
                        at: self.current.start,
                        kind: ErrorKind::UnwrappedPredicate,
                    })
                } else {
                    Ok(body)
                }
            })
        };
        self.predicate_depth -= 1;
        let body = body?;
        if braces {
            self.expect_bracket("}", "`}` closing the predicate")?;
        }
        self.node(Expr::Predicate(Box::new(body)))
    }

    /// `[a, b,]`.
    fn array(&mut self) -> Parsed<'a> {
        self.next()?;
        let mut items = Vec::new();
        while !self.current.is_bracket("]") {
            if !items.is_empty() {
                if !self.current.is_op(",") {
                    return Err(self.unexpected("`,` or `]`"));
                }
                self.next()?;
                if self.current.is_bracket("]") {
                    break;
                }
            }
            items.push(self.expression(0)?);
        }
        self.next()?;
        self.node(Expr::Array(items))
    }

    /// `{key: value,}`: keys are names, strings, numbers or `(expression)`.
    fn map(&mut self) -> Parsed<'a> {
        self.next()?;
        let mut pairs = Vec::new();
        while !self.current.is_bracket("}") {
            if !pairs.is_empty() {
                if !self.current.is_op(",") {
                    return Err(self.unexpected("`,` or `}`"));
                }
                self.next()?;
                if self.current.is_bracket("}") {
                    break;
                }
            }
            let token = self.current.clone();
            let key = match token.kind {
                Kind::Number | Kind::Ident => {
                    self.next()?;
                    Expr::Str(Cow::Borrowed(token.text))
                }
                Kind::Str(value) => {
                    self.next()?;
                    Expr::Str(value)
                }
                _ if token.is_bracket("(") => self.expression(0)?,
                _ => {
                    return Err(self.unexpected(
                        "a map key (a name, a string, a number or a parenthesised expression)",
                    ));
                }
            };
            let key = self.node(key)?;
            self.expect_op(":")?;
            let value = self.expression(0)?;
            pairs.push((key, value));
        }
        self.next()?;
        self.node(Expr::Map(pairs))
    }

    /// `parsePostfixExpression`: `.name`, `?.name`, `.method()`, `[i]`, `?.[i]`, `[a:b]`.
    fn postfix(&mut self, mut node: Expr<'a>) -> Parsed<'a> {
        loop {
            let token = self.current.clone();
            if token.is_op(".") || token.is_op("?.") {
                let optional = token.text == "?.";
                self.next()?;
                if optional && self.current.is_bracket("[") {
                    node = self.index(node, true)?;
                    continue;
                }
                let property = self.current.clone();
                let is_name = match property.kind {
                    Kind::Ident => true,
                    Kind::Op => is_identifier(property.text),
                    _ => false,
                };
                if !is_name {
                    return Err(self.unexpected("a property name"));
                }
                self.next()?;
                let member = self.node(Expr::Member {
                    object: Box::new(node),
                    property: Box::new(Expr::Str(Cow::Borrowed(property.text))),
                    optional,
                })?;
                node = if self.current.is_bracket("(") {
                    let args = self.arguments(Vec::new())?;
                    self.node(Expr::Call {
                        callee: Box::new(member),
                        args,
                    })?
                } else {
                    member
                };
            } else if token.is_bracket("[") {
                node = self.index(node, false)?;
            } else {
                return Ok(node);
            }
        }
    }

    /// `[i]`, `[a:b]`, `[:b]`, `[a:]`, `[:]` after `object` (the current token is `[`).
    fn index(&mut self, object: Expr<'a>, optional: bool) -> Parsed<'a> {
        self.next()?;
        let from = if self.current.is_op(":") {
            None
        } else {
            Some(self.expression(0)?)
        };
        let node = if self.current.is_op(":") {
            self.next()?;
            let to = if self.current.is_bracket("]") {
                None
            } else {
                Some(Box::new(self.expression(0)?))
            };
            Expr::Slice {
                object: Box::new(object),
                from: from.map(Box::new),
                to,
            }
        } else {
            let Some(property) = from else {
                return Err(self.unexpected("an index"));
            };
            Expr::Member {
                object: Box::new(object),
                property: Box::new(property),
                optional,
            }
        };
        let node = self.node(node)?;
        let expected = if matches!(node, Expr::Slice { .. }) {
            "`]`"
        } else {
            "`]` or `:`"
        };
        self.expect_bracket("]", expected)?;
        Ok(node)
    }
}

/// expr-lang's `utils.IsValidIdentifier`: the operator words usable as property names.
fn is_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(is_alphabetic) && chars.all(is_alphanumeric)
}

/// The value of a number token as expr-lang converts it (`parseSecondary`, case `Number`):
/// underscores dropped, then hex, float (`.` or `e`), binary, octal or decimal, in that order.
fn number(text: &str) -> Option<Expr<'static>> {
    let value = text.replace('_', "");
    let lower = value.to_ascii_lowercase();
    let radix = |prefix: &str, radix: u32| {
        lower
            .strip_prefix(prefix)
            .map(|digits| i64::from_str_radix(digits, radix).ok().map(Expr::Int))
    };
    if let Some(int) = radix("0x", 16) {
        return int;
    }
    if lower.contains(['.', 'e']) {
        return lower
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Expr::Float);
    }
    if let Some(int) = radix("0b", 2) {
        return int;
    }
    if let Some(int) = radix("0o", 8) {
        return int;
    }
    lower.parse::<i64>().ok().map(Expr::Int)
}
