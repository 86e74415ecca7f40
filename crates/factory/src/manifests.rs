//! The manifest-validation job (`synth --validate`): any manifest files against Kargo's admission
//! rules and, when a schema directory is given, the strict JSON Schemas; and the loading of that
//! directory, shared with [`crate::synthesize()`].

use std::path::{Path, PathBuf};

use serde::Serialize;
use synth::schema::SchemaSet;

use crate::error::{JobError, SchemasError};

/// One problem of one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, as given.
    pub file: String,
    /// Document number in its file, from 1.
    pub document: usize,
    /// `Kind/name` of the object.
    pub object: String,
    /// The rule broken (`rule 4`, `names`, ..., or `schema`).
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

/// `file: document N (Kind/name): rule: message`.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (file, n, object) = (&self.file, self.document, &self.object);
        write!(
            f,
            "{file}: document {n} ({object}): {}: {}",
            self.rule, self.message
        )
    }
}

/// What [`validate_manifests`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestReport {
    /// Documents checked.
    pub documents: usize,
    /// Whether the JSON Schemas were checked too (not only the admission rules).
    pub schemas_checked: bool,
    /// Every problem, by file and document.
    pub problems: Vec<Problem>,
}

/// Checks every document of `files` against Kargo's admission rules and, with `schemas`, the JSON
/// Schemas of that directory.
///
/// # Errors
/// A file cannot be read ([`JobError::Read`]) or is not YAML ([`JobError::InvalidYaml`]); the
/// schemas cannot be loaded ([`JobError::Schemas`]).
pub fn validate_manifests(
    files: &[PathBuf],
    schemas: Option<&Path>,
) -> Result<ManifestReport, JobError> {
    let mut documents = Vec::new();
    // Per document: its file and its number in that file.
    let mut origin: Vec<(String, usize)> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| JobError::Read {
            path: path.clone(),
            source,
        })?;
        let docs = synth::parse_documents(&text).map_err(|e| JobError::InvalidYaml {
            path: path.clone(),
            message: e.to_string(),
        })?;
        origin.extend((1..=docs.len()).map(|n| (path.display().to_string(), n)));
        documents.extend(docs);
    }
    let problem = |index: usize, object: String, rule: String, message: String| {
        let (file, document) = origin.get(index).cloned().unwrap_or_default();
        Problem {
            file,
            document,
            object,
            rule,
            message,
        }
    };
    let mut problems: Vec<Problem> = synth::check::check_documents(&documents)
        .into_iter()
        .map(|v| problem(v.document, v.object, v.rule.to_string(), v.message))
        .collect();
    if let Some(dir) = schemas {
        let set = load_schemas(dir)?;
        for (i, doc) in documents.iter().enumerate() {
            let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("?");
            let name = doc
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("?");
            for e in set.validate(doc) {
                problems.push(problem(
                    i,
                    format!("{kind}/{name}"),
                    "schema".to_owned(),
                    e.to_string(),
                ));
            }
        }
    }
    problems.sort_by(|a, b| (&a.file, a.document).cmp(&(&b.file, b.document)));
    Ok(ManifestReport {
        documents: documents.len(),
        schemas_checked: schemas.is_some(),
        problems,
    })
}

/// Loads every `*.json` under `dir` (the `json-schema/` directory of the Kargo schema bundle:
/// `strict/`, `promotion-steps/`, `kubernetes/`), keyed by path relative to `dir`.
///
/// # Errors
/// [`SchemasError`] when a directory or file cannot be read, a file is not JSON, none is found, or
/// the schemas do not compile.
pub fn load_schemas(dir: &Path) -> Result<SchemaSet, SchemasError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SchemasError::Read { path, source }
    };
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(read_err(&d))? {
            let path = entry.map_err(read_err(&d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).map_err(read_err(&path))?;
                let value = serde_json::from_str(&text)
                    .map_err(|source| SchemasError::NotJson { path, source })?;
                files.push((rel, value));
            }
        }
    }
    if files.is_empty() {
        return Err(SchemasError::Empty(dir.to_path_buf()));
    }
    Ok(SchemaSet::new(files)?)
}
