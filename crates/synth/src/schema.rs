//! Validation against the strict JSON Schemas of Kargo v1.11, Argo Rollouts v1.8 and Kubernetes
//! v1.33 (`../shared/kargo/json-schema/`), plus the built-in step config schemas.
//!
//! The library reads no files: the caller hands [`SchemaSet::new`] every schema file as a
//! `(relative path, parsed JSON)` pair (`strict/kargo.akuity.io/stage_v1alpha1.json`,
//! `promotion-steps/http-config.json`, `kubernetes/v1.33.0-local-strict/namespace-v1.json`, ...).
//! Validators are compiled once, on first use, and work offline.
//!
//! Step configs are validated as Kargo does after evaluating expressions: a string holding a
//! `${{ }}` expression stands for a value of whatever type the schema wants there, so errors located
//! at such a string (or below it) are not reported.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jsonschema::{Registry, Validator};
use serde_json::Value;

/// Base URI under which step schemas are registered (they refer to each other by file name).
const STEPS_BASE: &str = "file:///schemas/";
/// Base URI of the Kubernetes schemas (they refer to `/api/_definitions.json`).
const K8S_BASE: &str = "https://kubernetes.io/api/";

/// Why the schema set cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A schema does not compile.
    #[error("schema `{path}`: {message}")]
    Compile {
        /// Relative path of the schema.
        path: String,
        /// What went wrong.
        message: String,
    },
}

struct Entry {
    schema: Value,
    base: Option<String>,
    compiled: OnceLock<Result<Validator, String>>,
}

/// A set of schemas, by relative path.
pub struct SchemaSet {
    entries: BTreeMap<String, Entry>,
    registry: Registry<'static>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("schemas", &self.entries.len())
            .finish()
    }
}

/// The relative path of the schema for an object (`None` for a document without apiVersion/kind).
pub fn schema_path(api_version: &str, kind: &str) -> String {
    let lower = kind.to_lowercase();
    if api_version.contains(".akuity.io/") || api_version.starts_with("argoproj.io/") {
        let (group, version) = api_version.split_once('/').unwrap_or((api_version, ""));
        return format!("strict/{group}/{lower}_{version}.json");
    }
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g.split('.').next().unwrap_or(""), v),
        None => ("", api_version),
    };
    if group.is_empty() {
        format!("kubernetes/v1.33.0-local-strict/{lower}-{version}.json")
    } else {
        format!("kubernetes/v1.33.0-local-strict/{lower}-{group}-{version}.json")
    }
}

impl SchemaSet {
    /// Builds the set from `(relative path, schema)` pairs. `_definitions.json` of the Kubernetes
    /// schemas and every step schema are registered for cross-file `$ref`s.
    pub fn new(files: impl IntoIterator<Item = (String, Value)>) -> Result<Self, SchemaError> {
        let mut entries = BTreeMap::new();
        let mut resources: Vec<(String, Value)> = Vec::new();
        for (path, schema) in files {
            let file = path.rsplit('/').next().unwrap_or(&path).to_owned();
            let base = if path.starts_with("promotion-steps/") {
                resources.push((format!("{STEPS_BASE}{file}"), schema.clone()));
                Some(format!("{STEPS_BASE}{file}"))
            } else if path.starts_with("kubernetes/") {
                if file == "_definitions.json" {
                    let id = schema
                        .get("$id")
                        .and_then(Value::as_str)
                        .unwrap_or("https://kubernetes.io/api/_definitions.json")
                        .to_owned();
                    resources.push((id, schema.clone()));
                }
                Some(format!("{K8S_BASE}{file}"))
            } else {
                None
            };
            entries.insert(
                path,
                Entry {
                    schema,
                    base,
                    compiled: OnceLock::new(),
                },
            );
        }
        let mut builder = Registry::new();
        for (uri, schema) in resources {
            builder = builder
                .add(uri.as_str(), schema)
                .map_err(|e| SchemaError::Compile {
                    path: uri.clone(),
                    message: e.to_string(),
                })?;
        }
        let registry = builder.prepare().map_err(|e| SchemaError::Compile {
            path: "registry".to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self { entries, registry })
    }

    /// Number of schemas.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn validator(&self, path: &str) -> Option<Result<&Validator, String>> {
        let entry = self.entries.get(path)?;
        let compiled = entry.compiled.get_or_init(|| {
            let mut options = jsonschema::options()
                .offline()
                .should_validate_formats(true)
                .with_registry(&self.registry);
            if let Some(base) = &entry.base {
                options = options.with_base_uri(base.clone());
            }
            options.build(&entry.schema).map_err(|e| e.to_string())
        });
        Some(compiled.as_ref().map_err(Clone::clone))
    }

    /// Validates one document: against the schema of its kind, and each step's `config` against the
    /// step schema. Returns every violation (empty: valid), in a deterministic order.
    pub fn validate(&self, doc: &Value) -> Vec<SchemaViolation> {
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        let path = schema_path(api, kind);
        let mut out = Vec::new();
        match self.validator(&path) {
            None => out.push(SchemaViolation {
                kind: ViolationKind::NoSchema,
                pointer: String::new(),
                schema_path: path.clone(),
                message: format!("no schema for {api} {kind} ({path})"),
            }),
            Some(Err(e)) => out.push(SchemaViolation::broken(&path, e)),
            Some(Ok(v)) => {
                for e in v.iter_errors(doc) {
                    out.push(SchemaViolation {
                        kind: ViolationKind::Invalid,
                        pointer: e.instance_path().to_string(),
                        schema_path: format!("{path}#{}", e.schema_path()),
                        message: e.to_string(),
                    });
                }
            }
        }
        let spec = doc.get("spec");
        let (steps, at) = match spec.and_then(|s| s.get("steps")) {
            Some(steps) => (Some(steps), "/spec/steps"),
            None => (
                spec.and_then(|s| s.get("promotionTemplate"))
                    .and_then(|t| t.get("spec"))
                    .and_then(|t| t.get("steps")),
                "/spec/promotionTemplate/spec/steps",
            ),
        };
        for (i, step) in steps
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (Some(uses), Some(config)) =
                (step.get("uses").and_then(Value::as_str), step.get("config"))
            else {
                continue;
            };
            let path = format!("promotion-steps/{uses}-config.json");
            match self.validator(&path) {
                None => out.push(SchemaViolation {
                    kind: ViolationKind::UnknownStep,
                    pointer: format!("{at}/{i}/uses"),
                    schema_path: path,
                    message: format!("`{uses}` is not an open-source Kargo step"),
                }),
                Some(Err(e)) => out.push(SchemaViolation::broken(&path, e)),
                Some(Ok(v)) => {
                    let mut expressions = Vec::new();
                    expression_paths(config, String::new(), &mut expressions);
                    for e in v.iter_errors(config) {
                        let within = e.instance_path().to_string();
                        let hidden = expressions
                            .iter()
                            .any(|p| within == *p || within.starts_with(&format!("{p}/")));
                        if !hidden {
                            out.push(SchemaViolation {
                                kind: ViolationKind::Invalid,
                                pointer: format!("{at}/{i}/config{within}"),
                                schema_path: format!("{path}#{}", e.schema_path()),
                                message: format!("{uses} config: {e}"),
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

/// What kind of problem a [`SchemaViolation`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The document (or a step config) breaks its schema.
    Invalid,
    /// The set has no schema for the document's `apiVersion`/`kind`.
    NoSchema,
    /// A step's `uses:` has no step schema: a typo or a Kargo Enterprise step.
    UnknownStep,
    /// The schema that applies does not compile (a problem of the schema files, not the document).
    BrokenSchema,
}

/// One way a document fails the JSON Schemas.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if pointer.is_empty() { String::new() } else { format!("{pointer}: ") })]
pub struct SchemaViolation {
    /// What kind of problem.
    pub kind: ViolationKind,
    /// JSON pointer (RFC 6901) of the offending value in the document (empty: the document).
    pub pointer: String,
    /// The schema file (relative path, as given to [`SchemaSet::new`]) and, after `#`, the
    /// location of the failing keyword in it.
    pub schema_path: String,
    /// What is wrong.
    pub message: String,
}

impl SchemaViolation {
    fn broken(path: &str, message: String) -> Self {
        Self {
            kind: ViolationKind::BrokenSchema,
            pointer: String::new(),
            schema_path: path.to_owned(),
            message: format!("schema {path} does not compile: {message}"),
        }
    }
}

/// JSON pointers of every string holding a `${{ }}` (or `${% %}`) expression.
fn expression_paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains("${{") || s.contains("${%") => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                expression_paths(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                expression_paths(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            schema_path("kargo.akuity.io/v1alpha1", "Stage"),
            "strict/kargo.akuity.io/stage_v1alpha1.json"
        );
        assert_eq!(
            schema_path("v1", "Namespace"),
            "kubernetes/v1.33.0-local-strict/namespace-v1.json"
        );
        assert_eq!(
            schema_path("apps/v1", "Deployment"),
            "kubernetes/v1.33.0-local-strict/deployment-apps-v1.json"
        );
        assert_eq!(
            schema_path("rbac.authorization.k8s.io/v1", "Role"),
            "kubernetes/v1.33.0-local-strict/role-rbac-v1.json"
        );
        // The trigger CronJob is validated against the strict Kubernetes schema too.
        assert_eq!(
            schema_path("batch/v1", "CronJob"),
            "kubernetes/v1.33.0-local-strict/cronjob-batch-v1.json"
        );
    }
}
