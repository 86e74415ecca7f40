//! `analyzer parse-ref`: parse image references like distribution/reference (SPEC §4, §10).

use factory::ParsedRef;

use crate::output::{self, Format, Global, Outcome};

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

/// Prints one JSON object per line (or a text line each); exit 1 if any input is invalid.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let parsed: Vec<ParsedRef> = args.refs.iter().map(|r| ParsedRef::parse(r)).collect();
    let mut text = String::new();
    for p in &parsed {
        match global.format {
            Format::Json => text += &serde_json::to_string(p)?,
            Format::Text => text += &p.to_string(),
        }
        text.push('\n');
    }
    output::write_stdout(&text)?;
    Ok(Outcome::findings_if(
        !parsed.iter().all(ParsedRef::is_valid),
    ))
}
