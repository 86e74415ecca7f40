//! The base-images job (SPEC §5, contract in §10): one Dockerfile's base images as
//! `docker buildx build` would resolve them, as the JSON report of the contract or a text table.

use std::collections::BTreeMap;
use std::fmt;

use dockerfile::{Analysis, Options, Platform, StageKind};
use serde::Serialize;

/// A malformed `--build-arg`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildArgError {
    /// `=V` or an empty argument.
    #[error("--build-arg {0:?}: the name is empty")]
    EmptyName(String),
    /// The platform is not `OS/ARCH[/VARIANT]`.
    #[error("--platform: {0}")]
    Platform(String),
}

/// Reads the Dockerfile `analyzer base-images` was given (`-`: standard input): a pipe or
/// `<(...)` is fine here (no lock is held), but never more than the Dockerfile cap of `limits`.
/// Returns the name to show and the bytes.
///
/// # Errors
/// [`crate::JobError::Read`] when it cannot be read or is larger than the cap.
pub fn read_input(
    path: &std::path::Path,
    limits: state::input::Limits,
) -> Result<(String, Vec<u8>), crate::JobError> {
    use std::io::Read as _;
    let err = |source| crate::JobError::Read {
        path: path.to_path_buf(),
        source,
    };
    let (name, input): (_, Box<dyn std::io::Read>) = if path.as_os_str() == "-" {
        ("-".to_owned(), Box::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(path).map_err(err)?;
        (path.display().to_string(), Box::new(file))
    };
    let mut bytes = Vec::new();
    let limit = limits.dockerfile;
    input
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > limit {
        return Err(err(std::io::Error::other(format!(
            "larger than {limit} bytes (raise IMAGE_FACTORY_MAX_DOCKERFILE_SIZE if it is real)"
        ))));
    }
    Ok((name, bytes))
}

/// Analysis options from `docker build`-style arguments: each build arg is `K=V`, or `K` to take
/// the value from `env` (skipped when unset), overriding the default of a declared ARG only.
///
/// # Errors
/// [`BuildArgError`] on an empty name or a malformed platform.
pub fn options(
    build_args: &[String],
    platform: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Options, BuildArgError> {
    let mut args = BTreeMap::new();
    for kv in build_args {
        match kv.split_once('=') {
            Some(("", _)) => return Err(BuildArgError::EmptyName(kv.clone())),
            Some((k, v)) => {
                args.insert(k.to_owned(), v.to_owned());
            }
            None if kv.is_empty() => return Err(BuildArgError::EmptyName(kv.clone())),
            None => {
                if let Some(v) = env(kv) {
                    args.insert(kv.clone(), v);
                }
            }
        }
    }
    Ok(Options {
        build_args: args,
        platform: platform
            .parse::<Platform>()
            .map_err(|e| BuildArgError::Platform(e.to_string()))?,
    })
}

/// The SPEC §10 report of one Dockerfile (fields in the documented order); [`fmt::Display`] is
/// the text table.
#[derive(Clone, Debug, Serialize)]
pub struct BaseImagesReport<'a> {
    file: &'a str,
    stages: Vec<StageRow<'a>>,
    base_images: Vec<String>,
    other_refs: Vec<OtherRefRow<'a>>,
    errors: &'a [dockerfile::Diagnostic],
    #[serde(skip)]
    analysis: &'a Analysis,
}

#[derive(Clone, Debug, Serialize)]
struct StageRow<'a> {
    index: usize,
    name: Option<&'a str>,
    from: &'a str,
    image: Option<&'a str>,
    kind: StageKind,
    normalized: Option<String>,
    platform: Option<&'a str>,
    line: usize,
}

#[derive(Clone, Debug, Serialize)]
struct OtherRefRow<'a> {
    kind: dockerfile::RefKind,
    image: &'a str,
    normalized: String,
    line: usize,
}

impl<'a> BaseImagesReport<'a> {
    /// The report of `analysis` of `file` (`-` for standard input).
    pub fn new(file: &'a str, analysis: &'a Analysis) -> Self {
        let a = analysis;
        Self {
            file,
            stages: a
                .stages
                .iter()
                .map(|s| StageRow {
                    index: s.index,
                    name: s.name.as_deref(),
                    from: &s.from,
                    image: s.image.as_deref(),
                    kind: s.kind,
                    normalized: s.normalized(),
                    platform: s.platform.as_deref(),
                    line: s.line,
                })
                .collect(),
            base_images: a.base_images.iter().map(|r| r.normalized()).collect(),
            other_refs: a
                .other_refs
                .iter()
                .map(|r| OtherRefRow {
                    kind: r.kind,
                    image: &r.image,
                    normalized: r.reference.normalized(),
                    line: r.line,
                })
                .collect(),
            errors: &a.errors,
            analysis,
        }
    }

    /// Whether the Dockerfile has errors (the command then exits 1).
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// The serialised (lower/kebab-case) name of a `Copy` enum value, as in the JSON.
fn name_of(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl fmt::Display for BaseImagesReport<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(out, "{}", self.file)?;
        let rows: Vec<[String; 6]> = self
            .analysis
            .stages
            .iter()
            .map(|s| {
                let what = match s.kind {
                    StageKind::Image => s.normalized().unwrap_or_default(),
                    StageKind::Stage => format!(
                        "stage {}",
                        s.stage_ref.map(|i| i.to_string()).unwrap_or_default()
                    ),
                    StageKind::Scratch => "scratch".to_owned(),
                    _ => s.image.clone().unwrap_or_else(|| s.from.clone()),
                };
                [
                    s.index.to_string(),
                    s.name.clone().unwrap_or_else(|| "-".to_owned()),
                    name_of(s.kind),
                    what,
                    s.platform.clone().unwrap_or_else(|| "-".to_owned()),
                    s.line.to_string(),
                ]
            })
            .collect();
        let header = ["STAGE", "NAME", "KIND", "IMAGE", "PLATFORM", "LINE"].map(str::to_owned);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  "));
                }
            }
            writeln!(out, "  {}", line.trim_end())?;
        }
        writeln!(out, "base images:")?;
        if self.base_images.is_empty() {
            writeln!(out, "  (none)")?;
        }
        for r in &self.base_images {
            writeln!(out, "  {r}")?;
        }
        if !self.other_refs.is_empty() {
            writeln!(out, "other references:")?;
            for r in &self.other_refs {
                let kind = name_of(r.kind);
                writeln!(out, "  {kind:<14}  {}  (line {})", r.normalized, r.line)?;
            }
        }
        if !self.errors.is_empty() {
            writeln!(out, "errors:")?;
            for d in self.errors {
                writeln!(out, "  line {}: {}", d.line, d.error)?;
            }
        }
        Ok(())
    }
}
