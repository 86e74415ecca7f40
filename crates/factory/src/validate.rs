//! The validate job: every problem of a factory dir's configuration, counted.

use model::diagnostic::Diagnostic;

use crate::dir::FactoryDir;

/// What [`validate`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validation<'a> {
    /// Every problem (errors and warnings), sorted by file, line and column.
    pub diagnostics: &'a [Diagnostic],
    /// How many are errors.
    pub errors: usize,
    /// How many are warnings.
    pub warnings: usize,
}

impl Validation<'_> {
    /// Whether the configuration is usable by every other job (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors == 0
    }
}

/// The closing line of `analyzer validate`'s text output (without a newline).
impl std::fmt::Display for Validation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (errors, warnings) = (self.errors, self.warnings);
        if self.is_valid() {
            write!(f, "ok: configuration is valid ({warnings} warning(s))")
        } else {
            write!(
                f,
                "error: configuration is invalid: {errors} error(s), {warnings} warning(s)"
            )
        }
    }
}

/// Validates `dir`'s configuration (already done by [`FactoryDir::load`]; this counts the result).
pub fn validate(dir: &FactoryDir) -> Validation<'_> {
    let diagnostics = dir.diagnostics();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    Validation {
        diagnostics,
        errors,
        warnings: diagnostics.len() - errors,
    }
}
