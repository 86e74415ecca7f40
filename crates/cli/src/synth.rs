//! The command line of `synth` (SPEC §8, §10): its clap [`Cli`] and the mapping of its flags to
//! the options of the `factory` jobs.

use std::path::PathBuf;

use clap::{CommandFactory as _, Parser, ValueEnum};
use factory::SynthOptions;

use crate::{Format, Global};

/// Where `synth` writes the manifests without `--out`.
pub const DEFAULT_OUT: &str = "dist/image-factory.k8s.yaml";

/// Generate Kargo v1.11 manifests from an image-factory dir, or validate a manifest file.
#[derive(Parser, Debug)]
#[command(
    name = "synth",
    version = env!("IMAGE_FACTORY_VERSION"),
    about = "image-factory synth: turns enrolment and state into Kargo manifests",
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
pub struct Cli {
    /// The output format, verbosity and log format.
    #[command(flatten)]
    pub global: Global,
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
    /// Where to write the manifests (`-`: stdout).
    #[arg(long, value_name = "FILE|-", default_value = DEFAULT_OUT)]
    pub out: String,
    /// Do not write: exit 1 when the file differs from what would be generated.
    #[arg(long)]
    pub check: bool,
    /// Print the dependency graph instead of writing manifests.
    #[arg(long, value_name = "FORMAT")]
    graph: Option<GraphFormat>,
    /// Also write Backstage catalog entities (one YAML file each) into DIR.
    #[arg(long, value_name = "DIR")]
    pub backstage: Option<PathBuf>,
    /// Write the build workflows of the images without `source.workflow` into DIR (the state
    /// repository's root: `.github/workflows/build-<name>.yml`, `.gitlab/build-<name>.yml`)
    /// instead of the manifests, removing stale generated ones; with --check, only compare.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["graph", "backstage"])]
    pub workflows: Option<PathBuf>,
    /// Check manifest files against the Kargo rules (and the JSON Schemas when available).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["check", "graph", "backstage", "workflows"])]
    pub validate: Vec<PathBuf>,
    /// Print how long each phase took (load, synthesise, write) to stderr.
    #[arg(long)]
    pub timings: bool,
    /// Directory of the JSON Schemas (`json-schema/` with strict/, promotion-steps/, kubernetes/);
    /// with it, generated manifests are also validated against them before anything is written.
    #[arg(long, value_name = "DIR", env = "IMAGE_FACTORY_KARGO_SCHEMAS")]
    pub schemas: Option<PathBuf>,
}

/// `--graph FORMAT` (no doc comments on the variants: clap would show them in `--help`).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

/// The clap definition of `synth` and its options (for `cargo xtask dist`).
pub fn command() -> clap::Command {
    Cli::command()
}

impl Cli {
    /// The options of [`factory::synthesize`].
    pub fn synth_options(&self) -> SynthOptions {
        SynthOptions {
            schemas: self.schemas.clone(),
        }
    }

    /// The format of `--graph` (with `--format json`: JSON `{nodes, edges}`), or `None` without
    /// `--graph`.
    pub fn graph_format(&self) -> Option<synth::graph::Format> {
        let format = self.graph?;
        Some(match format {
            _ if self.global.format == Format::Json => synth::graph::Format::Json,
            GraphFormat::Mermaid => synth::graph::Format::Mermaid,
            GraphFormat::Dot => synth::graph::Format::Dot,
        })
    }
}
