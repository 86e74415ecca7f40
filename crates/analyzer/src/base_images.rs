//! `analyzer base-images`: the base images of one Dockerfile as `docker buildx build` would resolve
//! them (SPEC §5, contract in SPEC §10).

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use dockerfile::{Analysis, Options, Platform, StageKind};

use crate::output::{Format, Global, Outcome};

/// Arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    analyzer base-images Dockerfile\n  \
    analyzer base-images --format json --build-arg NODE_VERSION=22 app/Dockerfile\n  \
    analyzer base-images --platform linux/arm64 - < Dockerfile\n\n\
    Exit status: 0 resolved, 1 the Dockerfile has errors (listed), 2 usage or I/O error.")]
pub struct Args {
    /// A build arg, as `docker build --build-arg`: `K=V`, or `K` to take the value from the
    /// environment. Overrides the default of a declared ARG only. Repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// The target platform, `OS/ARCH[/VARIANT]`.
    #[arg(long, value_name = "OS/ARCH", default_value = "linux/amd64")]
    pub platform: String,
    /// The Dockerfile, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let mut options = Options {
        platform: args.platform.parse::<Platform>().context("--platform")?,
        ..Options::default()
    };
    for kv in &args.build_args {
        match kv.split_once('=') {
            Some(("", _)) => bail!("--build-arg {kv:?}: the name is empty"),
            Some((k, v)) => {
                options.build_args.insert(k.to_owned(), v.to_owned());
            }
            None if kv.is_empty() => bail!("--build-arg: the name is empty"),
            None => {
                if let Ok(v) = std::env::var(kv) {
                    options.build_args.insert(kv.clone(), v);
                }
            }
        }
    }

    let is_stdin = args.file.as_os_str() == "-";
    let bytes = if is_stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        buf
    } else {
        std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?
    };
    let file = if is_stdin {
        "-".to_owned()
    } else {
        args.file.display().to_string()
    };

    let analysis = dockerfile::analyze(&bytes, &options);
    let mut out = std::io::stdout().lock();
    match global.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &to_json(&file, &analysis))?;
            writeln!(out)?;
        }
        Format::Text => write_text(&mut out, &file, &analysis)?,
    }
    out.flush()?;
    Ok(if analysis.errors.is_empty() {
        Outcome::Success
    } else {
        Outcome::Findings
    })
}

fn kind_name(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Image => "image",
        StageKind::Stage => "stage",
        StageKind::Scratch => "scratch",
        StageKind::Error => "error",
    }
}

/// The SPEC §10 JSON contract (fields in the documented order).
#[derive(serde::Serialize)]
struct Report<'a> {
    file: &'a str,
    stages: Vec<StageJson<'a>>,
    base_images: Vec<String>,
    other_refs: Vec<OtherRefJson<'a>>,
    errors: &'a [dockerfile::Diagnostic],
}

#[derive(serde::Serialize)]
struct StageJson<'a> {
    index: usize,
    name: Option<&'a str>,
    from: &'a str,
    image: Option<&'a str>,
    kind: &'static str,
    normalized: Option<String>,
    platform: Option<&'a str>,
    line: usize,
}

#[derive(serde::Serialize)]
struct OtherRefJson<'a> {
    kind: dockerfile::RefKind,
    image: &'a str,
    normalized: String,
    line: usize,
}

fn to_json<'a>(file: &'a str, a: &'a Analysis) -> Report<'a> {
    Report {
        file,
        stages: a
            .stages
            .iter()
            .map(|s| StageJson {
                index: s.index,
                name: s.name.as_deref(),
                from: &s.from,
                image: s.image.as_deref(),
                kind: kind_name(s.kind),
                normalized: s.normalized(),
                platform: s.platform.as_deref(),
                line: s.line,
            })
            .collect(),
        base_images: a.base_images.iter().map(|r| r.normalized()).collect(),
        other_refs: a
            .other_refs
            .iter()
            .map(|r| OtherRefJson {
                kind: r.kind,
                image: &r.image,
                normalized: r.reference.normalized(),
                line: r.line,
            })
            .collect(),
        errors: &a.errors,
    }
}

/// A readable table.
fn write_text(out: &mut impl Write, file: &str, a: &Analysis) -> std::io::Result<()> {
    writeln!(out, "{file}")?;
    let rows: Vec<[String; 6]> = a
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
                StageKind::Error => s.image.clone().unwrap_or_else(|| s.from.clone()),
            };
            [
                s.index.to_string(),
                s.name.clone().unwrap_or_else(|| "-".to_owned()),
                kind_name(s.kind).to_owned(),
                what,
                s.platform.clone().unwrap_or_else(|| "-".to_owned()),
                s.line.to_string(),
            ]
        })
        .collect();
    let header = ["STAGE", "NAME", "KIND", "IMAGE", "PLATFORM", "LINE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; 6]| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "  {}", s.trim_end())
    };
    line(out, header)?;
    for row in &rows {
        line(out, row.each_ref().map(String::as_str))?;
    }
    writeln!(out, "base images:")?;
    if a.base_images.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for r in &a.base_images {
        writeln!(out, "  {}", r.normalized())?;
    }
    if !a.other_refs.is_empty() {
        writeln!(out, "other references:")?;
        for r in &a.other_refs {
            let kind = serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            writeln!(
                out,
                "  {:<14}  {}  (line {})",
                kind,
                r.reference.normalized(),
                r.line
            )?;
        }
    }
    if !a.errors.is_empty() {
        writeln!(out, "errors:")?;
        for d in &a.errors {
            writeln!(out, "  line {}: {}", d.line, d.error)?;
        }
    }
    Ok(())
}
