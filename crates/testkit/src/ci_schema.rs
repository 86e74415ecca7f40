//! CI files against the shared JSON Schemas (`../shared/ci-schemas/`): GitHub Actions workflows
//! (SchemaStore) and GitLab CI files (GitLab's own), draft 7, offline. For generated and example
//! workflows alike: the YAML is read with serde-saphyr into a JSON value and validated; every
//! problem comes back as `<instance pointer>: <message>`.

use std::path::Path;
use std::sync::OnceLock;

use jsonschema::Validator;

/// The problems of a GitHub Actions workflow file (empty: valid). A file that is not YAML is one
/// problem. When the shared schemas are missing the test is skipped ([`crate::skip`]; under `CI`
/// it fails) and the answer is empty.
pub fn github_workflow_problems(yaml: &str) -> Vec<String> {
    static SCHEMA: OnceLock<Option<Validator>> = OnceLock::new();
    problems(&SCHEMA, "github-workflows.json", yaml)
}

/// The problems of a GitLab CI file (empty: valid), like [`github_workflow_problems`].
pub fn gitlab_ci_problems(yaml: &str) -> Vec<String> {
    static SCHEMA: OnceLock<Option<Validator>> = OnceLock::new();
    problems(&SCHEMA, "gitlab-ci.json", yaml)
}

fn problems(cell: &OnceLock<Option<Validator>>, file: &str, yaml: &str) -> Vec<String> {
    let Some(validator) = cell.get_or_init(|| compile(file)) else {
        return Vec::new();
    };
    let value: serde_json::Value = match serde_saphyr::from_str(yaml) {
        Ok(value) => value,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    validator
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The validator of one schema file, or `None` (skipped) when the shared data is missing.
///
/// # Panics
/// When the schema is unreadable or does not compile: the shared data is broken.
#[allow(clippy::panic)]
fn compile(file: &str) -> Option<Validator> {
    let dir = crate::shared(crate::SharedData::CiSchemas)?;
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", display(&path)));
    let schema: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", display(&path)));
    Some(
        jsonschema::options()
            .offline()
            .build(&schema)
            .unwrap_or_else(|e| panic!("{} does not compile: {e}", display(&path))),
    )
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
