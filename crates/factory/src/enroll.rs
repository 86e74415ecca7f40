//! The enroll job (`analyzer enroll`, SPEC §10): a managed image's entry appended to
//! `images.yaml`, keeping the file's comments and layout ([`model::enrollment::append`]), checked
//! by the loader every other job uses, written atomically, with the steps that remain.
//!
//! Phases: [`refuse_duplicate`] (against the loaded configuration, pointing at the existing
//! entry), the splice, [`validate`] (the whole new text, as `analyzer validate` would read it),
//! [`write`]; then [`next_steps`]. Any refusal leaves the file untouched.

use std::fmt;
use std::path::{Path, PathBuf};

use model::config::FactoryConfig;
use model::diagnostic::{Diagnostic, has_errors};
use model::enrollment::{Draft, EffectiveImage, Provider, append, entry_positions};
use model::reference::ImageRef;
use model::settings::Settings;
use serde::Serialize;

use crate::dir::FactoryDir;
use crate::error::JobError;

/// Options of [`enroll`].
#[derive(Clone, Debug, Default)]
pub struct EnrollOptions {
    /// The entry as given (values equal to their defaults are left out of the file; a missing
    /// `repository` is derived by [`Draft::with_default_repository`]).
    pub draft: Draft,
    /// A comment written above the entry (`# ...`; a line break starts a new comment line).
    pub comment: Option<String>,
    /// Check and show the entry, write nothing.
    pub dry_run: bool,
}

/// The report of [`enroll`]; JSON `{"file", "name", "line", "entry", "next", "written"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EnrollReport {
    /// The `images.yaml` written (or that would be, with `--dry-run`).
    pub file: PathBuf,
    /// The image's name.
    pub name: String,
    /// The 1-based line of the new entry's `-`.
    pub line: usize,
    /// The entry as written (without the values equal to their defaults).
    pub entry: Draft,
    /// What remains to be done, in order: analyze, synth, commit, the CI of the image's repository.
    pub next: Vec<String>,
    /// Whether the file was written (`false` with `--dry-run`).
    pub written: bool,
    /// The lines added to the file, as written.
    #[serde(skip)]
    pub added: String,
}

/// Why [`enroll`] refused; nothing was written. The diagnostics point into `images.yaml` (for
/// [`EnrollError::Invalid`]: into the text it would have become, which [`EnrollError::render`]
/// quotes).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// The name, or the registry and repository, are already enrolled.
    #[error("`{name}` is not enrolled: {}; nothing written", diagnostic.message)]
    Duplicate {
        /// The new image's name.
        name: String,
        /// Where the existing entry is, with a hint.
        diagnostic: Box<Diagnostic>,
        /// The text of `images.yaml`.
        text: String,
    },
    /// The file with the entry appended does not validate.
    #[error("`{name}` is not enrolled: the entry would make images.yaml invalid ({} error(s)); nothing written", diagnostics.len())]
    Invalid {
        /// The new image's name.
        name: String,
        /// The loader's errors, in the text with the entry appended.
        diagnostics: Vec<Diagnostic>,
        /// That text.
        text: String,
    },
    /// The entry cannot be spliced into the file as it is laid out.
    #[error("`{name}` is not enrolled: {}; nothing written", diagnostic.message)]
    Splice {
        /// The new image's name.
        name: String,
        /// Where and why, with a hint.
        diagnostic: Box<Diagnostic>,
        /// The text of `images.yaml`.
        text: String,
    },
    /// `images.yaml` changed on disk between reading and writing (someone else edited it).
    #[error("{} changed while `{name}` was being enrolled; nothing written, run the command again", path.display())]
    Changed {
        /// The new image's name.
        name: String,
        /// The file.
        path: PathBuf,
    },
}

impl EnrollError {
    /// The diagnostics behind the error (none for [`EnrollError::Changed`]).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Duplicate { diagnostic, .. } | Self::Splice { diagnostic, .. } => {
                std::slice::from_ref(diagnostic)
            }
            Self::Invalid { diagnostics, .. } => diagnostics,
            Self::Changed { .. } => &[],
        }
    }

    /// Every diagnostic rendered like a compiler (quoting its line), each followed by a blank
    /// line.
    pub fn render(&self) -> String {
        let text = match self {
            Self::Duplicate { text, .. }
            | Self::Splice { text, .. }
            | Self::Invalid { text, .. } => text.as_str(),
            Self::Changed { .. } => "",
        };
        self.diagnostics()
            .iter()
            .map(|d| d.render(text) + "\n")
            .collect()
    }
}

/// Appends the entry of `options` to `dir`'s `images.yaml` (unless `dry_run`), after checking it.
///
/// # Errors
/// [`JobError::InvalidConfig`] when the factory dir's configuration has errors already;
/// [`JobError::Enroll`] when the image is already enrolled, the file cannot be spliced, the
/// result would not validate or the file changed meanwhile; [`JobError::Write`] when writing
/// failed. In every case the file is unchanged.
pub fn enroll(dir: &FactoryDir, options: &EnrollOptions) -> Result<EnrollReport, JobError> {
    let config = dir.config()?;
    let (file, text) = dir.images_file();
    let text = text.unwrap_or_default();
    let draft = options
        .draft
        .clone()
        .with_default_repository()
        .without_defaults(&config.settings);
    refuse_duplicate(&draft, &config.images, &config.settings, file, text)?;
    let appended =
        append(text, &draft, options.comment.as_deref()).map_err(|err| EnrollError::Splice {
            name: draft.name.clone(),
            diagnostic: Box::new(err.to_diagnostic(file)),
            text: text.to_owned(),
        })?;
    validate(
        &draft.name,
        &dir.validate_images_text(&appended.text),
        &appended.text,
    )?;
    let path = dir.path().join("images.yaml");
    if !options.dry_run {
        write(&draft.name, &path, text, &appended.text)?;
    }
    let next = next_steps(dir.path(), &draft, &config.settings);
    Ok(EnrollReport {
        file: path,
        name: draft.name.clone(),
        line: appended.line,
        entry: draft,
        next,
        written: !options.dry_run,
        added: appended.added,
    })
}

/// Refuses a name or an image (registry and repository, compared as normalised references)
/// that is already enrolled, pointing at the existing entry.
fn refuse_duplicate(
    draft: &Draft,
    images: &[EffectiveImage],
    settings: &Settings,
    file: &str,
    text: &str,
) -> Result<(), EnrollError> {
    let positions = entry_positions(text);
    let located = |existing: &str, message: String, hint: String| EnrollError::Duplicate {
        name: draft.name.clone(),
        diagnostic: Box::new(
            Diagnostic::error(
                file,
                positions.get(existing).copied().unwrap_or_default(),
                message,
            )
            .with_hint(hint),
        ),
        text: text.to_owned(),
    };
    if images.iter().any(|i| i.name == draft.name) {
        return Err(located(
            &draft.name,
            format!("image `{}` is already enrolled here", draft.name),
            "choose another --name, or edit this entry".to_owned(),
        ));
    }
    let registry = draft
        .registry
        .as_deref()
        .unwrap_or(&settings.defaults.registry);
    let Some(repository) = &draft.repository else {
        return Ok(());
    };
    let Some(wanted) = image_name(registry, repository) else {
        // Not an image name: the loader reports it, located.
        return Ok(());
    };
    match images
        .iter()
        .find(|i| image_name(&i.registry, &i.repository).as_ref() == Some(&wanted))
    {
        Some(existing) => Err(located(
            &existing.name,
            format!("`{wanted}` is already enrolled here, as `{}`", existing.name),
            "each image is enrolled once: pass --repository (or --registry) for a different image, \
             or edit this entry"
                .to_owned(),
        )),
        None => Ok(()),
    }
}

/// `registry/repository` as a normalised name (`docker.io/postgres` → `docker.io/library/postgres`).
fn image_name(registry: &str, repository: &str) -> Option<String> {
    ImageRef::parse_normalized(&format!("{registry}/{repository}"))
        .ok()
        .map(|r| r.name())
}

/// The errors of the new text, as `analyzer validate` would report them.
fn validate(name: &str, checked: &FactoryConfig, text: &str) -> Result<(), EnrollError> {
    if !has_errors(&checked.diagnostics) && checked.enrollment.is_some() {
        return Ok(());
    }
    Err(EnrollError::Invalid {
        name: name.to_owned(),
        diagnostics: checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect(),
        text: text.to_owned(),
    })
}

/// Writes the new text with the workspace's atomic writer, unless the file changed since it was
/// read (then nothing is written).
fn write(name: &str, path: &Path, read: &str, new: &str) -> Result<(), JobError> {
    let current = std::fs::read(path).map_err(|source| JobError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if current != read.as_bytes() {
        return Err(EnrollError::Changed {
            name: name.to_owned(),
            path: path.to_path_buf(),
        }
        .into());
    }
    state::atomic::write_file(path, new.as_bytes())?;
    Ok(())
}

/// What remains after enrolling: record the bases, regenerate the manifests, commit, and what
/// the image's own repository needs so that `analyzer trigger` can start its build.
fn next_steps(dir: &Path, draft: &Draft, settings: &Settings) -> Vec<String> {
    let dir = dir.display();
    let name = &draft.name;
    let source = &draft.source;
    let provider = match source.provider.as_deref() {
        Some("gitlab") => Provider::Gitlab,
        _ => Provider::Github,
    };
    let branch = source.branch.as_deref().unwrap_or("main");
    let mut inputs: Vec<&str> = source.inputs.keys().map(String::as_str).collect();
    inputs.extend(source.pin_input.as_deref());
    let inputs = match inputs.as_slice() {
        [] => "no inputs (add `--input`/`--pin-input` to send some)".to_owned(),
        names => format!("the inputs {}", names.join(", ")),
    };
    let ci = match provider {
        Provider::Github if source.workflow.is_none() => format!(
            "no `--workflow`: its build workflow is generated into the state repository \
             (SPEC §8.3): `synth --factory-dir {dir} --workflows <state repo root>` writes \
             `.github/workflows/{file}`, which builds {repo} on `{branch}` with the soaked bases \
             pinned and records the build (docs/build-workflows.md); the GITHUB_TOKEN given to \
             `analyzer trigger` needs `actions: write` on the state repository",
            file = model::enrollment::generated_workflow_file(name),
            repo = source.repo,
        ),
        Provider::Github => {
            let workflow = source.workflow.clone().unwrap_or_default();
            format!(
                "in {repo}: `.github/workflows/{workflow}` on `{branch}` must run on \
                 `workflow_dispatch` and accept {inputs}, build and push {image}, then record the \
                 build with `analyzer analyze --image {name} --built-tag … --built-digest … \
                 --commit --push` (see examples/github/build-image.yml and docs/enroll.md); \
                 the GITHUB_TOKEN given to `analyzer trigger` needs `actions: write` on {repo}",
                repo = source.repo,
                image = image_text(draft, settings),
            )
        }
        Provider::Gitlab => format!(
            "in {repo}: the pipeline of `{branch}` must accept {inputs} as variables, build and \
             push {image}, then record the build with `analyzer analyze --image {name} \
             --built-tag … --built-digest … --commit --push` (see examples/ and docs/enroll.md); \
             create a pipeline trigger token for {repo} and give it to `analyzer trigger` as \
             GITLAB_TRIGGER_TOKEN",
            repo = source.repo,
            image = image_text(draft, settings),
        ),
    };
    vec![
        format!(
            "analyzer analyze --factory-dir {dir} --clone --image {name}   # record its base images in {dir}/state/"
        ),
        format!(
            "synth --factory-dir {dir} --out dist/image-factory.k8s.yaml   # Warehouses and Stages for it (Kargo mode)"
        ),
        format!(
            "git add {dir}/images.yaml {dir}/state dist && git commit -m 'enrol {name}'   # and open a pull request"
        ),
        ci,
    ]
}

/// `registry/repository` of the draft, with the default registry.
fn image_text(draft: &Draft, settings: &Settings) -> String {
    format!(
        "{}/{}",
        draft
            .registry
            .as_deref()
            .unwrap_or(&settings.defaults.registry),
        draft.repository.as_deref().unwrap_or_default()
    )
}

/// What `analyzer enroll` prints: where the entry went, the entry, the next steps.
impl fmt::Display for EnrollReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.written {
            "enrolled"
        } else {
            "would enrol (dry run, nothing written)"
        };
        writeln!(
            f,
            "{verb} `{}` in {}:{}:",
            self.name,
            self.file.display(),
            self.line
        )?;
        writeln!(f)?;
        for line in self.added.trim_start_matches(['\r', '\n']).lines() {
            match line.trim_end_matches('\r') {
                "" => writeln!(f)?,
                line => writeln!(f, "    {line}")?,
            }
        }
        writeln!(f)?;
        writeln!(f, "next steps:")?;
        for (i, step) in self.next.iter().enumerate() {
            writeln!(f, "  {}. {step}", i + 1)?;
        }
        Ok(())
    }
}
