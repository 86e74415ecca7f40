//! `synth`: turns `images.yaml`, `factory.yaml` and state into Kargo manifests (SPEC §8, §10), and
//! checks any manifest file against Kargo's admission rules (`synth --validate`).
//!
//! Wiring only: reading files, calling `image-factory-synth`, writing results. Exit status: 0
//! success; 1 the manifests are invalid, out of date (`--check`) or cannot be derived from the
//! state; 2 usage or configuration error (nothing written).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::{Parser, ValueEnum};
use model::config::validate_factory;
use model::diagnostic::has_errors;
use model::state::State;
use synth::schema::SchemaSet;

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
synth --validate dist/image-factory.k8s.yaml        # Kargo admission rules (+ JSON Schemas)\n\n\
JSON Schemas: --schemas DIR or IMAGE_FACTORY_KARGO_SCHEMAS (the json-schema/ dir of the Kargo\n\
schema bundle); without them --validate checks the admission rules only."
)]
struct Cli {
    /// The factory dir holding images.yaml, factory.yaml and state/.
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    factory_dir: PathBuf,
    /// Where to write the manifests (`-`: stdout).
    #[arg(
        long,
        value_name = "FILE|-",
        default_value = "dist/image-factory.k8s.yaml"
    )]
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
    /// Check manifest files against the Kargo rules (and the JSON Schemas when available).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["check", "graph", "backstage"])]
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

/// A failure with its exit status.
struct Failure(u8, anyhow::Error);

fn config_error(e: anyhow::Error) -> Failure {
    Failure(2, e)
}

#[allow(clippy::print_stderr)] // a binary reports to its user
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let result = if cli.validate.is_empty() {
        generate(&cli)
    } else {
        validate(&cli)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, err)) => {
            eprintln!("synth: {err:#}");
            ExitCode::from(code)
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Loads every `*.json` under the schema dir's `strict/`, `promotion-steps/` and `kubernetes/`.
fn load_schemas(dir: &Path) -> anyhow::Result<SchemaSet> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let value: serde_json::Value = serde_json::from_str(&read(&path)?)
                    .with_context(|| format!("{} is not JSON", path.display()))?;
                files.push((rel, value));
            }
        }
    }
    if files.is_empty() {
        return Err(anyhow!("no JSON Schemas found in {}", dir.display()));
    }
    Ok(SchemaSet::new(files)?)
}

/// One problem found by `--validate`.
#[derive(serde::Serialize)]
struct Problem {
    file: String,
    /// Document number in its file, from 1.
    document: usize,
    object: String,
    rule: String,
    message: String,
}

#[allow(clippy::print_stderr, clippy::print_stdout)]
fn validate(cli: &Cli) -> Result<(), Failure> {
    let mut documents = Vec::new();
    // Per document: its file and its number in that file.
    let mut origin: Vec<(String, usize)> = Vec::new();
    for path in &cli.validate {
        let text = read(path).map_err(config_error)?;
        let docs = synth::parse_documents(&text)
            .map_err(|e| Failure(1, anyhow!("{}: invalid YAML: {e}", path.display())))?;
        for i in 0..docs.len() {
            origin.push((path.display().to_string(), i + 1));
        }
        documents.extend(docs);
    }
    let at = |i: usize| origin.get(i).cloned().unwrap_or_default();
    let mut problems: Vec<Problem> = synth::check::check_documents(&documents)
        .into_iter()
        .map(|v| {
            let (file, document) = at(v.document);
            Problem {
                file,
                document,
                object: v.object,
                rule: v.rule,
                message: v.message,
            }
        })
        .collect();
    match &cli.schemas {
        Some(dir) => {
            let schemas = load_schemas(dir).map_err(config_error)?;
            for (i, doc) in documents.iter().enumerate() {
                let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("?");
                let name = doc
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or("?");
                for e in schemas.validate(doc) {
                    let (file, document) = at(i);
                    problems.push(Problem {
                        file,
                        document,
                        object: format!("{kind}/{name}"),
                        rule: "schema".to_owned(),
                        message: e,
                    });
                }
            }
        }
        None if !cli.quiet => eprintln!(
            "synth: note: no JSON Schemas (--schemas or IMAGE_FACTORY_KARGO_SCHEMAS); checked the Kargo admission rules only"
        ),
        None => {}
    }
    problems.sort_by(|a, b| (&a.file, a.document).cmp(&(&b.file, b.document)));
    match cli.format {
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&problems).map_err(|e| Failure(1, e.into()))?;
            println!("{text}");
        }
        OutputFormat::Text => {
            for p in &problems {
                println!(
                    "{}: document {} ({}): {}: {}",
                    p.file, p.document, p.object, p.rule, p.message
                );
            }
        }
    }
    if problems.is_empty() {
        if !cli.quiet {
            eprintln!(
                "synth: {} document(s) in {} file(s) valid",
                documents.len(),
                cli.validate.len()
            );
        }
        return Ok(());
    }
    Err(Failure(1, anyhow!("{} problem(s) found", problems.len())))
}

/// Loads `DIR/state/` with the state crate's loader (parallel; legacy files are imported in memory)
/// under the factory dir's lock, so a concurrent `analyzer analyze` is never read half-written.
/// Any file that does not load is an error: manifests are never built from partial state.
fn load_state(dir: &Path) -> anyhow::Result<State> {
    if !dir.join("state").is_dir() {
        return Ok(State::default());
    }
    let store = state::store::Store::new(dir);
    let _lock = store.lock(std::time::Duration::from_secs(60))?;
    // Only legacy imports are stamped with this time, and nothing synth emits depends on it.
    let epoch = model::time::Timestamp::from_unix_seconds(0)
        .ok_or_else(|| anyhow!("cannot build the epoch timestamp"))?;
    let loaded = store.load(epoch)?;
    if let Some(first) = loaded.errors.first() {
        return Err(anyhow!(
            "{} state file(s) cannot be loaded; first: {first}",
            loaded.errors.len()
        ));
    }
    Ok(loaded.state)
}

#[allow(clippy::print_stderr, clippy::print_stdout)]
fn generate(cli: &Cli) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let dir = &cli.factory_dir;
    // The state loads (under the lock) on other threads while the configuration is read: the two
    // are independent, and reading images.yaml alone leaves a core idle. Configuration errors
    // still come first: the load is joined only after them.
    let preload = {
        let dir = dir.clone();
        std::thread::spawn(move || load_state(&dir))
    };
    let images_path = dir.join("images.yaml");
    let factory_path = dir.join("factory.yaml");
    let images_text = read(&images_path).map_err(config_error)?;
    let factory_text = match std::fs::read_to_string(&factory_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(config_error(anyhow!(
                "cannot read {}: {e}",
                factory_path.display()
            )));
        }
    };
    let images_name = images_path.display().to_string();
    let factory_name = factory_path.display().to_string();
    let config = validate_factory(
        &images_text,
        &images_name,
        factory_text.as_deref().map(|t| (t, factory_name.as_str())),
    );
    for d in &config.diagnostics {
        let source = if d.file == factory_name {
            factory_text.as_deref().unwrap_or("")
        } else {
            images_text.as_str()
        };
        eprint!("{}:{}:{}: {}", d.file, d.line, d.column, d.render(source));
    }
    let (Some(images), Some(settings), false) = (
        config.resolved(),
        config.settings.clone(),
        has_errors(&config.diagnostics),
    ) else {
        return Err(config_error(anyhow!(
            "configuration errors in {}; nothing written",
            dir.display()
        )));
    };
    let configured = started.elapsed();
    // The fleet's state and manifest are never freed: the process ends right after, and freeing
    // tens of thousands of objects one by one took ~0.1 s of a 10,000-image run.
    let state = preload
        .join()
        .map_err(|_| config_error(anyhow!("the state loading thread failed")))?
        .map_err(config_error)?;
    let state = std::mem::ManuallyDrop::new(state);
    let loaded = started.elapsed();
    let manifest = std::mem::ManuallyDrop::new(
        synth::synthesize(&images, &settings, &state)
            .map_err(|e| Failure(1, anyhow!("{e}; nothing written")))?,
    );
    if let Some(schemas) = &cli.schemas {
        let set = load_schemas(schemas).map_err(config_error)?;
        let mut problems = Vec::new();
        for object in &manifest.objects {
            let value = serde_json::to_value(object).map_err(|e| Failure(1, e.into()))?;
            for e in set.validate(&value) {
                problems.push(format!("{}/{}: {e}", object.kind(), object.name()));
            }
        }
        if !problems.is_empty() {
            return Err(Failure(
                1,
                anyhow!(
                    "generated manifests fail the JSON Schemas ({} problem(s)); nothing written:\n{}",
                    problems.len(),
                    problems.join("\n")
                ),
            ));
        }
    }
    let synthesised = started.elapsed();
    if cli.timings {
        eprintln!(
            "synth: timings: configuration {} ms, state ({} images, {} bases) {} ms, synthesis {} ms",
            configured.as_millis(),
            state.images.len(),
            state.bases.len(),
            (loaded - configured).as_millis(),
            (synthesised - loaded).as_millis()
        );
    }

    if let Some(format) = cli.graph {
        let format = match format {
            GraphFormat::Mermaid => synth::graph::Format::Mermaid,
            GraphFormat::Dot => synth::graph::Format::Dot,
        };
        print!("{}", synth::graph::render(&manifest.plan, format));
        return Ok(());
    }
    if let Some(out_dir) = &cli.backstage {
        std::fs::create_dir_all(out_dir)
            .with_context(|| format!("cannot create {}", out_dir.display()))
            .map_err(|e| Failure(1, e))?;
        for (name, text) in synth::backstage::files(&images, &state, &manifest.plan) {
            write_if_changed(&out_dir.join(name), &text).map_err(|e| Failure(1, e))?;
        }
    }
    if cli.out == "-" {
        print!("{}", manifest.yaml);
        return Ok(());
    }
    let out = PathBuf::from(&cli.out);
    if cli.check {
        let current = std::fs::read_to_string(&out).unwrap_or_default();
        if current != manifest.yaml {
            return Err(Failure(
                1,
                anyhow!(
                    "{} is out of date; run `synth --factory-dir {} --out {}` (or `cargo xtask synth`) and commit it",
                    out.display(),
                    dir.display(),
                    out.display()
                ),
            ));
        }
        if !cli.quiet {
            eprintln!("synth: {} is up to date", out.display());
        }
        return Ok(());
    }
    let changed = write_if_changed(&out, &manifest.yaml).map_err(|e| Failure(1, e))?;
    if cli.quiet {
        return Ok(());
    }
    eprintln!(
        "synth: {} objects {} {}",
        manifest.objects.len(),
        if changed {
            "written to"
        } else {
            "unchanged in"
        },
        out.display()
    );
    Ok(())
}

/// Writes `text` to `path` atomically (temp file + rename) unless it already holds exactly that.
fn write_if_changed(path: &Path, text: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(false);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}
