//! The input size caps of [`state::input::Limits`], from the process environment:
//! `IMAGE_FACTORY_MAX_DOCKERFILE_SIZE`, `IMAGE_FACTORY_MAX_CONFIG_SIZE` and
//! `IMAGE_FACTORY_MAX_STATE_FILE_SIZE`, each a number of bytes with an optional `KiB`, `MiB` or
//! `GiB` suffix (docs/configuration.md).

use state::input::Limits;

/// A field of [`Limits`].
type Field = fn(&mut Limits) -> &mut u64;

/// The variables, each with the field it sets.
const VARS: [(&str, Field); 3] = [
    ("IMAGE_FACTORY_MAX_DOCKERFILE_SIZE", |l| &mut l.dockerfile),
    ("IMAGE_FACTORY_MAX_CONFIG_SIZE", |l| &mut l.config),
    ("IMAGE_FACTORY_MAX_STATE_FILE_SIZE", |l| &mut l.state_file),
];

/// A variable that is not a size.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not a size (a number of bytes, optionally with KiB, MiB or GiB)")]
pub struct LimitError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
}

/// The limits set by `var` (a lookup of the environment), the defaults for the others.
///
/// # Errors
/// The first variable that is set but is not a size.
pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Limits, LimitError> {
    let mut limits = Limits::default();
    for (name, field) in VARS {
        if let Some(value) = var(name) {
            *field(&mut limits) = parse_size(&value).ok_or(LimitError { name, value })?;
        }
    }
    Ok(limits)
}

/// The limits of the current process's environment.
///
/// # Errors
/// The first variable that is set but is not a size.
pub fn from_process() -> Result<Limits, LimitError> {
    from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = [("GiB", 30), ("MiB", 20), ("KiB", 10)]
        .into_iter()
        .find_map(|(unit, shift)| text.strip_suffix(unit).map(|d| (d.trim_end(), shift)))
        .unwrap_or((text, 0));
    let n: u64 = digits.parse().ok().filter(|&n| n > 0)?;
    n.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes_and_refuse_the_rest() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("2MiB"), Some(2 << 20));
        assert_eq!(parse_size("3 KiB"), Some(3 << 10));
        for bad in ["", "0", "-1", "1MB", "1.5MiB", "99999999999GiB"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn unset_variables_keep_the_defaults() {
        let limits = from_vars(|name| {
            (name == "IMAGE_FACTORY_MAX_DOCKERFILE_SIZE").then(|| "8MiB".to_owned())
        })
        .unwrap();
        assert_eq!(limits.dockerfile, 8 << 20);
        assert_eq!(limits.state_file, Limits::default().state_file);
        let err = from_vars(|_| Some("lots".to_owned())).unwrap_err();
        assert_eq!(err.name, "IMAGE_FACTORY_MAX_DOCKERFILE_SIZE");
    }
}
