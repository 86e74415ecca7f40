//! `analyzer validate --factory-dir DIR`: checks `images.yaml` and `factory.yaml` together and
//! reports every problem like a compiler (text on stderr) or as a JSON list on stdout.
//!
//! Exit status: 0 when there is no error (warnings allowed), 2 when there is any error or when the
//! factory dir or its `images.yaml` cannot be read.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use model::config::validate_factory;
use model::diagnostic::{Diagnostic, has_errors};

use crate::output::{Format, Global, Outcome};

/// Arguments of `analyzer validate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  analyzer validate --factory-dir image-factory\n  \
                        analyzer validate --factory-dir image-factory --format json"
)]
pub struct Args {
    /// The factory dir holding images.yaml (required) and factory.yaml (optional).
    #[arg(long, value_name = "DIR", default_value = "image-factory")]
    pub factory_dir: PathBuf,
}

/// Runs the command.
pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let dir = &args.factory_dir;
    let images_path = dir.join("images.yaml");
    let factory_path = dir.join("factory.yaml");
    let images_name = display(&images_path);
    let factory_name = display(&factory_path);

    let mut read_errors = Vec::new();
    let images_text = if !dir.is_dir() {
        read_errors.push(whole_file(
            &display(dir),
            "factory dir not found (or not a directory)".to_owned(),
            "pass the directory holding images.yaml with --factory-dir",
        ));
        None
    } else {
        match std::fs::read_to_string(&images_path) {
            Ok(text) => Some(text),
            Err(err) => {
                read_errors.push(whole_file(
                    &images_name,
                    format!("cannot read images.yaml: {err}"),
                    "every factory dir needs an images.yaml listing the enrolled images",
                ));
                None
            }
        }
    };
    let factory_text = match std::fs::read_to_string(&factory_path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            read_errors.push(whole_file(
                &factory_name,
                format!("cannot read factory.yaml: {err}"),
                "factory.yaml is optional, but when present it must be readable UTF-8 text",
            ));
            None
        }
    };

    let diagnostics = match (&images_text, read_errors.is_empty()) {
        (Some(images), true) => {
            let factory = factory_text
                .as_deref()
                .map(|text| (text, factory_name.as_str()));
            validate_factory(images, &images_name, factory).diagnostics
        }
        _ => read_errors,
    };

    let sources = [
        (images_name.as_str(), images_text.as_deref().unwrap_or("")),
        (factory_name.as_str(), factory_text.as_deref().unwrap_or("")),
    ];
    let failed = has_errors(&diagnostics);
    let shown: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|d| d.is_error() || !global.quiet)
        .collect();
    emit(&shown, global.format, global.quiet, &sources)?;
    Ok(if failed {
        Outcome::ConfigError
    } else {
        Outcome::Success
    })
}

fn whole_file(file: &str, message: String, hint: &str) -> Diagnostic {
    Diagnostic::error(file, model::yaml::Pos::new(0, 0), message).with_hint(hint)
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn emit(
    diagnostics: &[Diagnostic],
    format: Format,
    quiet: bool,
    sources: &[(&str, &str)],
) -> anyhow::Result<()> {
    let result = match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(diagnostics)?;
            text.push('\n');
            std::io::stdout().lock().write_all(text.as_bytes())
        }
        Format::Text => {
            let mut text = String::new();
            for d in diagnostics {
                let source = sources
                    .iter()
                    .find(|(name, _)| *name == d.file)
                    .map_or("", |(_, text)| *text);
                text.push_str(&d.render(source));
                text.push('\n');
            }
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = diagnostics.len() - errors;
            if errors > 0 {
                text.push_str(&format!(
                    "error: configuration is invalid: {errors} error(s), {warnings} warning(s)\n"
                ));
            } else if !quiet {
                text.push_str(&format!(
                    "ok: configuration is valid ({warnings} warning(s))\n"
                ));
            }
            std::io::stderr().lock().write_all(text.as_bytes())
        }
    };
    match result {
        // A reader that went away (`| head`) is not our failure.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
