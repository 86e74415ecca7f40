//! `synth`: turns `images.yaml`, `factory.yaml` and state into Kargo manifests (SPEC §8, §10), and
//! checks any manifest file against Kargo's admission rules (`synth --validate`).
//!
//! Flags → a job of the `factory` crate → rendering. Exit status: 0 success; 1 the manifests are
//! invalid, out of date (`--check`) or cannot be derived from the state; 2 usage or configuration
//! error (nothing written).
#![allow(clippy::print_stderr)] // a binary reports to its user

/// mimalloc: glibc's allocator took ~25% of a large run (ADR 0004).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use factory::{JobError, SynthOptions};

const DEFAULT_OUT: &str = "dist/image-factory.k8s.yaml";

/// Generate Kargo v1.11 manifests from an image-factory dir, or validate a manifest file.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Examples:\n  \
synth --factory-dir image-factory --out dist/image-factory.k8s.yaml\n  \
synth --factory-dir image-factory --check           # exit 1 when dist/ is out of date\n  \
synth --factory-dir image-factory --out -           # print the manifests\n  \
synth --factory-dir image-factory --graph mermaid   # dependency graph on stdout\n  \
synth --factory-dir image-factory --backstage catalog/\n  \
synth --validate dist/image-factory.k8s.yaml        # Kargo admission rules (+ JSON Schemas)\n  \
synth --factory-dir image-factory --workflows .     # build workflows of images without one\n  \
synth --factory-dir image-factory --workflows . --check  # exit 1 when they are out of date\n\n\
JSON Schemas: --schemas DIR or IMAGE_FACTORY_KARGO_SCHEMAS (the json-schema/ dir of the Kargo\n\
schema bundle); without them --validate checks the admission rules only."
)]
struct Cli {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    factory_dir: PathBuf,
    /// Where to write the manifests (`-`: stdout).
    #[arg(long, value_name = "FILE|-", default_value = DEFAULT_OUT)]
    out: String,
    /// Do not write: exit 1 when the file differs from what would be generated.
    #[arg(long)]
    check: bool,
    /// Print the dependency graph instead of writing manifests.
    #[arg(long, value_name = "FORMAT")]
    graph: Option<GraphFormat>,
    /// Also write Backstage catalog entities (one YAML file each) into DIR.
    #[arg(long, value_name = "DIR")]
    backstage: Option<PathBuf>,
    /// Write the build workflows of the images without `source.workflow` into DIR (the state
    /// repository's root: `.github/workflows/build-<name>.yml`, `.gitlab/build-<name>.yml`)
    /// instead of the manifests, removing stale generated ones; with --check, only compare.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["graph", "backstage"])]
    workflows: Option<PathBuf>,
    /// Check manifest files against the Kargo rules (and the JSON Schemas when available).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["check", "graph", "backstage", "workflows"])]
    validate: Vec<PathBuf>,
    /// Output of `--validate`: `text` (one problem per line) or `json` (a list of
    /// `{file, document, object, rule, message}`).
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Print only errors (no summary lines).
    #[arg(short, long)]
    quiet: bool,
    /// Print how long each phase took (load, synthesise, write) to stderr.
    #[arg(long)]
    timings: bool,
    /// Directory of the JSON Schemas (`json-schema/` with strict/, promotion-steps/, kubernetes/);
    /// with it, generated manifests are also validated against them before anything is written.
    #[arg(long, value_name = "DIR", env = "IMAGE_FACTORY_KARGO_SCHEMAS")]
    schemas: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

/// A failure: its exit status and message.
struct Failure(u8, String);

impl From<JobError> for Failure {
    fn from(err: JobError) -> Self {
        Self(if err.is_usage_error() { 2 } else { 1 }, err.to_string())
    }
}

fn main() -> ExitCode {
    // clap exits itself: 0 after --help/--version, 2 on a usage error.
    let cli = Cli::parse();
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
            eprintln!("synth: {}", model::printable::escape(&message));
            ExitCode::from(code)
        }
    }
}

fn validate(cli: &Cli) -> Result<(), Failure> {
    let report = factory::validate_manifests(&cli.validate, cli.schemas.as_deref())?;
    if !report.schemas_checked && !cli.quiet {
        eprintln!(
            "synth: note: no JSON Schemas (--schemas or IMAGE_FACTORY_KARGO_SCHEMAS); checked the Kargo admission rules only"
        );
    }
    let text = match cli.format {
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&report.problems);
            json.map_err(|e| Failure(1, e.to_string()))? + "\n"
        }
        // Manifests under validation are anyone's text: no raw control characters on a terminal.
        OutputFormat::Text => report.problems.iter().map(|p| format!("{p}\n")).collect(),
    };
    stdout(&model::printable::escape(&text))?;
    let problems = report.problems.len();
    if problems > 0 {
        return Err(Failure(1, format!("{problems} problem(s) found")));
    }
    if !cli.quiet {
        let (docs, files) = (report.documents, cli.validate.len());
        eprintln!("synth: {docs} document(s) in {files} file(s) valid");
    }
    Ok(())
}

fn generate(cli: &Cli) -> Result<(), Failure> {
    let dir = factory::load_for_synthesis(&cli.factory_dir);
    eprint!("{}", model::printable::escape(&dir.render_all(true)));
    let options = SynthOptions {
        schemas: cli.schemas.clone(),
    };
    // Never freed: the process ends right after, and freeing a large fleet costs ~0.1 s.
    let synthesis = std::mem::ManuallyDrop::new(factory::synthesize(&dir, &options)?);
    let manifest = &synthesis.manifest;
    if cli.timings {
        eprintln!("synth: timings: {}", synthesis.timings(dir.load_time()));
    }
    if let Some(format) = cli.graph {
        let format = match format {
            GraphFormat::Mermaid => synth::graph::Format::Mermaid,
            GraphFormat::Dot => synth::graph::Format::Dot,
        };
        return stdout(&synth::graph::render(&manifest.plan, format));
    }
    if let Some(catalog) = &cli.backstage {
        factory::write_backstage(catalog, &synthesis)?;
    }
    if cli.out == "-" {
        return stdout(&manifest.yaml);
    }
    let out = PathBuf::from(&cli.out);
    if cli.check {
        if !factory::is_up_to_date(&out, manifest) {
            let (o, d) = (out.display(), cli.factory_dir.display());
            return Err(Failure(
                1,
                format!(
                    "{o} is out of date; run `synth --factory-dir {d} --out {o}` (or `cargo xtask synth`) and commit it"
                ),
            ));
        }
        if !cli.quiet {
            eprintln!("synth: {} is up to date", out.display());
        }
        return Ok(());
    }
    let changed = factory::write_manifest(&out, manifest)?;
    if !cli.quiet {
        let how = if changed {
            "written to"
        } else {
            "unchanged in"
        };
        let count = manifest.objects.len();
        eprintln!("synth: {count} objects {how} {}", out.display());
    }
    Ok(())
}

fn workflows(cli: &Cli, out: &std::path::Path) -> Result<(), Failure> {
    let dir = factory::FactoryDir::load(&cli.factory_dir);
    eprint!("{}", model::printable::escape(&dir.render_all(true)));
    let report = factory::write_workflows(&dir, out, cli.check)?;
    let shown = |paths: &[String]| model::printable::escape(&paths.join(", ")).into_owned();
    if cli.check && !report.is_up_to_date() {
        let mut problems = Vec::new();
        if !report.written.is_empty() {
            problems.push(format!("out of date: {}", shown(&report.written)));
        }
        if !report.removed.is_empty() {
            problems.push(format!("stale: {}", shown(&report.removed)));
        }
        let (o, d) = (out.display(), cli.factory_dir.display());
        return Err(Failure(
            1,
            format!(
                "build workflows in {o}: {}; run `synth --factory-dir {d} --workflows {o}` and commit the result",
                problems.join("; ")
            ),
        ));
    }
    if !cli.quiet {
        let count = report.generated.len();
        match (cli.check, report.is_up_to_date()) {
            (true, _) | (false, true) => {
                eprintln!(
                    "synth: {count} build workflow file(s) up to date in {}",
                    out.display()
                );
            }
            (false, false) => eprintln!(
                "synth: {count} build workflow file(s) in {}: {} written, {} stale removed",
                out.display(),
                report.written.len(),
                report.removed.len()
            ),
        }
    }
    Ok(())
}

/// Writes to stdout; a reader that went away (`| head`) is not our failure.
fn stdout(text: &str) -> Result<(), Failure> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure(1, err.to_string()))
        }
        _ => Ok(()),
    }
}
