//! `synth`: turns `images.yaml`, `factory.yaml` and state into Kargo manifests (SPEC §8, §10), and
//! checks any manifest file against Kargo's admission rules (`synth --validate`).
//!
//! Wiring only: flags ([`cli::synth`]) → a job of the `factory` crate → its report as text or
//! JSON. Exit status: 0 success; 1 the manifests are invalid, out of date (`--check`) or cannot be
//! derived from the state; 2 usage or configuration error (nothing written).

use std::path::Path;
use std::process::ExitCode;

use clap::Parser as _;
use cli::synth::Cli;
use cli::{Format, Level};
use factory::JobError;
use serde::Serialize;

/// mimalloc: glibc's allocator took ~25% of a large run (ADR 0004).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A failure: its exit status and message.
struct Failure(u8, String);

impl From<JobError> for Failure {
    fn from(err: JobError) -> Self {
        Self(if err.is_usage_error() { 2 } else { 1 }, err.to_string())
    }
}

/// Runs `synth` with the process's arguments and returns its exit status.
fn main() -> ExitCode {
    // clap exits itself: 0 after --help/--version, 2 on a usage error.
    let cli = Cli::parse();
    cli::init_logging(&cli.global, "info");
    let result = if !cli.validate.is_empty() {
        validate(&cli)
    } else if let Some(out) = &cli.workflows {
        workflows(&cli, out)
    } else {
        generate(&cli)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            cli::write_stderr(&format!("synth: {message}\n"), Level::Error);
            ExitCode::from(code)
        }
    }
}

/// `--validate FILE...`: the problems on stdout, a note on stderr.
fn validate(cli: &Cli) -> Result<(), Failure> {
    let report = factory::validate_manifests(&cli.validate, cli.schemas.as_deref())?;
    let quiet = cli.global.quiet;
    if !report.schemas_checked && !quiet {
        note(
            "note: no JSON Schemas (--schemas or IMAGE_FACTORY_KARGO_SCHEMAS); checked the Kargo admission rules only",
        );
    }
    let text = match cli.global.format {
        Format::Json => json(&report.problems)?,
        // Manifests under validation are anyone's text: no raw control characters on a terminal.
        Format::Text => report.problems.iter().map(|p| format!("{p}\n")).collect(),
    };
    stdout(&text)?;
    let problems = report.problems.len();
    if problems > 0 {
        return Err(Failure(1, format!("{problems} problem(s) found")));
    }
    if !quiet {
        let (docs, files) = (report.documents, cli.validate.len());
        note(&format!("{docs} document(s) in {files} file(s) valid"));
    }
    Ok(())
}

/// The manifests: written or checked (`--check`), printed (`--out -`), or the graph (`--graph`).
fn generate(cli: &Cli) -> Result<(), Failure> {
    let dir = factory::load_for_synthesis(&cli.factory_dir);
    let level = [Level::Warn, Level::Error][usize::from(dir.has_errors())];
    cli::write_stderr(&dir.render_all(true), level);
    // Never freed: the process ends right after, and freeing a large fleet costs ~0.1 s.
    let synthesis = std::mem::ManuallyDrop::new(factory::synthesize(&dir, &cli.synth_options())?);
    let manifest = &synthesis.manifest;
    let json_out = cli.global.format == Format::Json;
    if cli.timings {
        note(&format!("timings: {}", synthesis.timings(dir.load_time())));
    }
    if let Some(format) = cli.graph_format() {
        return stdout(&synth::graph::render(&manifest.plan, format));
    }
    let backstage = match &cli.backstage {
        Some(catalog) => Some(factory::BackstageReport {
            dir: catalog.clone(),
            written: factory::write_backstage(catalog, &synthesis)?,
        }),
        None => None,
    };
    if cli.out == "-" {
        if json_out {
            return stdout(&json(&factory::ObjectList::new(&manifest.objects))?);
        }
        return stdout(&manifest.yaml);
    }
    let out = Path::new(&cli.out);
    let report = factory::write_or_check_manifest(out, manifest, cli.check, backstage)?;
    if json_out {
        stdout(&json(&report)?)?;
    }
    if let Some(message) = report.out_of_date(&cli.factory_dir) {
        return Err(Failure(1, message));
    }
    if !cli.global.quiet {
        note(&report.to_string());
    }
    Ok(())
}

/// `--workflows DIR`: writes (or with `--check` compares) the generated build workflows.
fn workflows(cli: &Cli, out: &Path) -> Result<(), Failure> {
    let dir = factory::FactoryDir::load(&cli.factory_dir);
    let level = [Level::Warn, Level::Error][usize::from(dir.has_errors())];
    cli::write_stderr(&dir.render_all(true), level);
    let report = factory::write_workflows(&dir, out, cli.check)?;
    if let Some(message) = report
        .out_of_date(out, &cli.factory_dir)
        .filter(|_| cli.check)
    {
        return Err(Failure(1, message));
    }
    if cli.global.format == Format::Json {
        return stdout(&json(&report)?);
    }
    if !cli.global.quiet {
        note(&report.summary(out, cli.check));
    }
    Ok(())
}

/// A summary line on stderr, `synth: TEXT` (an info event with `--log-format json`).
fn note(text: &str) {
    cli::write_stderr(&format!("synth: {text}\n"), Level::Info);
}

/// Pretty JSON and a newline.
fn json(value: &impl Serialize) -> Result<String, Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure(1, e.to_string()))?;
    Ok(text + "\n")
}

/// Writes to stdout, control characters escaped; a reader that went away (`| head`) is not our
/// failure.
fn stdout(text: &str) -> Result<(), Failure> {
    cli::write_stdout(text).map_err(|err| Failure(1, err.to_string()))
}
