//! `synth`: turns `images.yaml`, `factory.yaml` and state into Kargo manifests (SPEC §8, §10), and
//! checks any manifest file against Kargo's admission rules (`synth --validate`).
//!
//! Flags → a job of the `factory` crate → rendering. Exit status: 0 success; 1 the manifests are
//! invalid, out of date (`--check`) or cannot be derived from the state; 2 usage or configuration
//! error (nothing written).
//!
//! A library target so that `cargo xtask dist` can generate shell completions and a man page from
//! [`command`]; the binary (`src/bin/synth.rs`) only calls [`main`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, ValueEnum};
use cli::{Format, Global, Level};
use factory::{JobError, SynthOptions};
use serde::Serialize;

const DEFAULT_OUT: &str = "dist/image-factory.k8s.yaml";

/// Generate Kargo v1.11 manifests from an image-factory dir, or validate a manifest file.
#[derive(Parser, Debug)]
#[command(
    name = "synth",
    version = env!("IMAGE_FACTORY_VERSION"),
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
schema bundle); without them --validate checks the admission rules only.\n\n\
--format json (docs/cli.md): --validate prints a list of {file, document, object, rule, message};\n\
--graph prints {nodes, edges}; --out - prints a Kubernetes List of the objects; otherwise\n\
{out, objects, check, changed, backstage}."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
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
    /// Print how long each phase took (load, synthesise, write) to stderr.
    #[arg(long)]
    timings: bool,
    /// Directory of the JSON Schemas (`json-schema/` with strict/, promotion-steps/, kubernetes/);
    /// with it, generated manifests are also validated against them before anything is written.
    #[arg(long, value_name = "DIR", env = "IMAGE_FACTORY_KARGO_SCHEMAS")]
    schemas: Option<PathBuf>,
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

/// The clap definition of `synth` and its options.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs `synth` with the process's arguments and returns its exit status.
pub fn main() -> ExitCode {
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

/// What `synth --format json` prints when it writes or checks the manifests (docs/cli.md).
#[derive(Serialize)]
struct Report<'a> {
    /// The manifest file.
    out: &'a str,
    /// Objects in the manifests.
    objects: usize,
    /// `--check`: nothing was written.
    check: bool,
    /// The file differed from the manifests (with `--check`: it is out of date, exit 1; else it
    /// was rewritten).
    changed: bool,
    /// `--backstage DIR`: the directory and the files written into it.
    backstage: Option<Backstage<'a>>,
}

#[derive(Serialize)]
struct Backstage<'a> {
    dir: &'a std::path::Path,
    written: usize,
}

/// `synth --out - --format json`: the objects as one Kubernetes `List`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [T],
}

fn generate(cli: &Cli) -> Result<(), Failure> {
    let dir = factory::load_for_synthesis(&cli.factory_dir);
    let level = [Level::Warn, Level::Error][usize::from(dir.has_errors())];
    cli::write_stderr(&dir.render_all(true), level);
    let options = SynthOptions {
        schemas: cli.schemas.clone(),
    };
    // Never freed: the process ends right after, and freeing a large fleet costs ~0.1 s.
    let synthesis = std::mem::ManuallyDrop::new(factory::synthesize(&dir, &options)?);
    let manifest = &synthesis.manifest;
    let json_out = cli.global.format == Format::Json;
    if cli.timings {
        note(&format!("timings: {}", synthesis.timings(dir.load_time())));
    }
    if let Some(format) = cli.graph {
        let format = match format {
            _ if json_out => synth::graph::Format::Json,
            GraphFormat::Mermaid => synth::graph::Format::Mermaid,
            GraphFormat::Dot => synth::graph::Format::Dot,
        };
        return stdout(&synth::graph::render(&manifest.plan, format));
    }
    let backstage = match &cli.backstage {
        Some(catalog) => Some(Backstage {
            dir: catalog,
            written: factory::write_backstage(catalog, &synthesis)?,
        }),
        None => None,
    };
    if cli.out == "-" {
        if json_out {
            // A Kubernetes `List`: `kubectl apply -f -` takes it as it takes the YAML.
            let list = List {
                api_version: "v1",
                kind: "List",
                items: &manifest.objects,
            };
            return stdout(&json(&list)?);
        }
        return stdout(&manifest.yaml);
    }
    let out = PathBuf::from(&cli.out);
    let changed = if cli.check {
        !factory::is_up_to_date(&out, manifest)
    } else {
        factory::write_manifest(&out, manifest)?
    };
    if json_out {
        let report = Report {
            out: &cli.out,
            objects: manifest.objects.len(),
            check: cli.check,
            changed,
            backstage,
        };
        stdout(&json(&report)?)?;
    }
    if cli.check && changed {
        let (o, d) = (out.display(), cli.factory_dir.display());
        return Err(Failure(
            1,
            format!(
                "{o} is out of date; run `synth --factory-dir {d} --out {o}` (or `cargo xtask synth`) and commit it"
            ),
        ));
    }
    if !cli.global.quiet {
        let count = manifest.objects.len();
        note(&match (cli.check, changed) {
            (true, _) => format!("{} is up to date", out.display()),
            (false, true) => format!("{count} objects written to {}", out.display()),
            (false, false) => format!("{count} objects unchanged in {}", out.display()),
        });
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

/// `--workflows DIR`: writes (or with `--check` compares) the generated build workflows.
fn workflows(cli: &Cli, out: &std::path::Path) -> Result<(), Failure> {
    let dir = factory::FactoryDir::load(&cli.factory_dir);
    let level = if dir.has_errors() {
        Level::Error
    } else {
        Level::Warn
    };
    cli::write_stderr(&dir.render_all(true), level);
    let report = factory::write_workflows(&dir, out, cli.check)?;
    let shown = |paths: &[String]| paths.join(", ");
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
    if cli.global.format == Format::Json {
        return stdout(&json(&report)?);
    }
    if !cli.global.quiet {
        let count = report.generated.len();
        match (cli.check, report.is_up_to_date()) {
            (true, _) | (false, true) => {
                note(&format!(
                    "{count} build workflow file(s) up to date in {}",
                    out.display()
                ));
            }
            (false, false) => note(&format!(
                "{count} build workflow file(s) in {}: {} written, {} stale removed",
                out.display(),
                report.written.len(),
                report.removed.len()
            )),
        }
    }
    Ok(())
}
