//! Validation of CI files against the JSON Schemas in `shared/ci-schemas/` (SchemaStore's GitHub
//! workflow schema, GitLab's CI schema; draft 7, no network references): for the example workflows
//! and the generated build workflows (SPEC §8.3).

use std::path::Path;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

use crate::SharedData;

/// Every problem of `yaml` as a GitHub Actions workflow: a YAML error, or one line per schema
/// violation (`<JSON pointer>: <message>`); empty when it is valid. When the schemas are missing
/// outside CI the skip is recorded ([`crate::skip`]) and the list is empty.
///
/// # Panics
/// When the schemas are missing under `CI`, or the schema file does not compile.
pub fn github_workflow_problems(yaml: &str) -> Vec<String> {
    static SCHEMA: OnceLock<Option<Validator>> = OnceLock::new();
    problems(&SCHEMA, "github-workflows.json", yaml)
}

/// Every problem of `yaml` as a GitLab CI file (`.gitlab-ci.yml` or an included file), as
/// [`github_workflow_problems`] reports them.
///
/// # Panics
/// When the schemas are missing under `CI`, or the schema file does not compile.
pub fn gitlab_ci_problems(yaml: &str) -> Vec<String> {
    static SCHEMA: OnceLock<Option<Validator>> = OnceLock::new();
    problems(&SCHEMA, "gitlab-ci.json", yaml)
}

fn problems(cell: &OnceLock<Option<Validator>>, file: &str, yaml: &str) -> Vec<String> {
    let Some(validator) = cell.get_or_init(|| compile(file)) else {
        return Vec::new();
    };
    let document: Value = match serde_saphyr::from_str(yaml) {
        Ok(document) => document,
        Err(e) => return vec![format!("not YAML this schema can read: {e}")],
    };
    validator
        .iter_errors(&document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The validator of `shared/ci-schemas/<file>`, or `None` when the directory is missing (outside
/// CI; the skip is recorded).
fn compile(file: &str) -> Option<Validator> {
    let dir = crate::shared(SharedData::CiSchemas)?;
    let path = dir.join(file);
    let schema = read_json(&path);
    let validator = jsonschema::options()
        .offline()
        .build(&schema)
        .unwrap_or_else(|e| panic!("{}: the schema does not compile: {e}", path.display()));
    Some(validator)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}
