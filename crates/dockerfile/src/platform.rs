//! Target platforms (`linux/amd64`, `linux/arm64/v8`) and the predefined platform ARGs.

use std::fmt;
use std::str::FromStr;

use crate::error::{PlatformError, PlatformPart, PlatformProblem};

/// A target platform: `OS/ARCH[/VARIANT]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// `amd64`, `arm64`, `arm`, ...
    pub arch: String,
    /// `v7`, `v8`, ... (empty when none).
    pub variant: String,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".to_owned(),
            arch: "amd64".to_owned(),
            variant: String::new(),
        }
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |problem| PlatformError {
            input: s.to_owned(),
            problem,
        };
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(fail(PlatformProblem::Parts(parts.len())));
        }
        const PARTS: [PlatformPart; 3] =
            [PlatformPart::Os, PlatformPart::Arch, PlatformPart::Variant];
        for (&text, part) in parts.iter().zip(PARTS) {
            if text.is_empty() {
                return Err(fail(PlatformProblem::Empty(part)));
            }
            if let Some(c) = text
                .chars()
                .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            {
                return Err(fail(PlatformProblem::Character(part, c)));
            }
        }
        let part = |i: usize| {
            parts
                .get(i)
                .map(|p| p.to_ascii_lowercase())
                .unwrap_or_default()
        };
        Ok(Platform {
            os: part(0),
            arch: part(1),
            variant: part(2),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

impl Platform {
    /// BuildKit's predefined ARGs of the global scope (`defaultArgs` in moby/buildkit
    /// `frontend/dockerfile/dockerfile2llb/platform.go`) for this platform (build and target are the
    /// same) and the stage being built.
    pub(crate) fn predefined_args(&self, target_stage: &str) -> [(&'static str, String); 11] {
        let formatted = self.to_string();
        [
            ("BUILDPLATFORM", formatted.clone()),
            ("BUILDOS", self.os.clone()),
            ("BUILDOSVERSION", String::new()),
            ("BUILDARCH", self.arch.clone()),
            ("BUILDVARIANT", self.variant.clone()),
            ("TARGETPLATFORM", formatted),
            ("TARGETOS", self.os.clone()),
            ("TARGETOSVERSION", String::new()),
            ("TARGETARCH", self.arch.clone()),
            ("TARGETVARIANT", self.variant.clone()),
            ("TARGETSTAGE", target_stage.to_owned()),
        ]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn platform_parses_os_arch_variant() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(Platform::default().to_string(), "linux/amd64");
        let problem = |s: &str| s.parse::<Platform>().unwrap_err().problem;
        assert_eq!(problem("linux"), PlatformProblem::Parts(1));
        assert_eq!(problem("a/b/c/d"), PlatformProblem::Parts(4));
        assert_eq!(
            problem("linux//x"),
            PlatformProblem::Empty(PlatformPart::Arch)
        );
        assert_eq!(problem("/amd64"), PlatformProblem::Empty(PlatformPart::Os));
        assert_eq!(
            problem("linux/amd64/v 8"),
            PlatformProblem::Character(PlatformPart::Variant, ' ')
        );
        let e = "linux/am$d64".parse::<Platform>().unwrap_err();
        assert_eq!(e.input, "linux/am$d64");
        assert_eq!(
            e.to_string(),
            "invalid platform \"linux/am$d64\": the architecture contains '$'; \
             expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8"
        );
    }
}
