//! `analyzer parse-ref`: parse image references like distribution/reference (SPEC §4, §10).

use std::io::Write;

use model::reference::ImageRef;
use serde::Serialize;

use crate::output::{Format, Global, Outcome};

/// Arguments of `analyzer parse-ref`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  analyzer parse-ref node:22 ghcr.io/org/app@sha256:...\n  \
                        analyzer parse-ref --format json mcr.microsoft.com/playwright:v1.40.0-focal"
)]
pub struct Args {
    /// The references to parse.
    #[arg(required = true, value_name = "REF")]
    refs: Vec<String>,
}

/// One line of output: the SPEC §10 contract.
#[derive(Serialize)]
#[serde(untagged)]
enum Parsed<'a> {
    Valid {
        input: &'a str,
        valid: bool,
        name: String,
        domain: &'a str,
        path: &'a str,
        tag: Option<&'a str>,
        digest: Option<&'a str>,
        familiar: String,
        canonical: String,
    },
    Invalid {
        input: &'a str,
        valid: bool,
        error: String,
    },
}

fn describe<'a>(
    input: &'a str,
    result: &'a Result<ImageRef, model::reference::ReferenceError>,
) -> Parsed<'a> {
    match result {
        Ok(r) => Parsed::Valid {
            input,
            valid: true,
            name: r.name(),
            domain: r.domain(),
            path: r.path(),
            tag: r.tag(),
            digest: r.digest(),
            familiar: r.familiar(),
            canonical: r.canonical(),
        },
        Err(e) => Parsed::Invalid {
            input,
            valid: false,
            error: e.to_string(),
        },
    }
}

/// Parses every reference, prints one JSON object per line (or a text line each), exit 1 if any is
/// invalid.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let results: Vec<_> = args
        .refs
        .iter()
        .map(|r| ImageRef::parse_normalized(r))
        .collect();
    let mut out = std::io::stdout().lock();
    for (input, result) in args.refs.iter().zip(&results) {
        match global.format {
            Format::Json => {
                serde_json::to_writer(&mut out, &describe(input, result))?;
                writeln!(out)?;
            }
            Format::Text => match result {
                Ok(r) => writeln!(
                    out,
                    "{input}\t{}\t(familiar {})",
                    r.canonical(),
                    r.familiar()
                )?,
                Err(e) => writeln!(out, "{input}\tinvalid: {e}")?,
            },
        }
    }
    out.flush()?;
    Ok(if results.iter().all(Result::is_ok) {
        Outcome::Success
    } else {
        Outcome::Findings
    })
}
