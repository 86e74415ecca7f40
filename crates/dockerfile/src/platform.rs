//! Target platforms (`linux/amd64`, `linux/arm64/v8`) and the predefined platform ARGs.

use std::fmt;
use std::str::FromStr;

use crate::error::PlatformError;

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
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                arch: arch.to_ascii_lowercase(),
                variant: String::new(),
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                arch: arch.to_ascii_lowercase(),
                variant: variant.to_ascii_lowercase(),
            }),
            _ => Err(PlatformError(s.to_owned())),
        }
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
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//x".parse::<Platform>().is_err());
    }
}
