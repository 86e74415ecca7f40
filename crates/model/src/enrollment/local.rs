//! `local`: files of a managed image kept in the state repository (SPEC §6.1, §8.3) — our own
//! Dockerfile, patches for the upstream checkout, the version file the generated build workflow
//! bumps. Decoded and checked here as far as the text allows (relative paths of plain characters,
//! no `..`, no patches where nothing is checked out); whether the files exist is checked by the job
//! layer against the factory dir, at the positions [`local_files`] gives.

use super::{GENERATED_IMAGE_VARIABLE, GENERATED_INPUTS, Local};
use crate::config::{Decoder, Fields};
use crate::yaml::{self, Node, Pos};

/// The keys of a `local` block.
const LOCAL_KEYS: &[&str] = &["dir", "dockerfile", "patchFiles", "versionFile"];

/// Decodes the `local` block `node` of the entry `what`; `managed` tells whether it has `source`,
/// `own_workflow` the `source.workflow` it names (the block's build files are then unused).
pub(super) fn decode(
    d: &mut Decoder<'_>,
    node: &Node,
    what: &str,
    managed: bool,
    own_workflow: Option<&str>,
) -> Option<Local> {
    let lwhat = format!("{what}: local");
    let f = d.fields(node, &lwhat, LOCAL_KEYS)?;
    if !managed {
        d.error_hint(
            f.pos,
            format!("{lwhat}: only managed images (with `source`) are built from local files"),
            "add `source` with the upstream repository, or remove `local`",
        );
        return None;
    }
    let dir = match d.require(&f, "dir", &lwhat) {
        Some(_) => path(d, &f, "dir", &lwhat, true),
        None => None,
    };
    let dockerfile = path(d, &f, "dockerfile", &lwhat, false);
    let version_file = path(d, &f, "versionFile", &lwhat, false);
    let patch_files = patch_files(d, &f, &lwhat);
    if let (Some(_), Some(n)) = (&dockerfile, f.key("patchFiles"))
        && patch_files.as_ref().is_some_and(|p| !p.is_empty())
    {
        d.error_hint(
            n.pos,
            format!("{lwhat}: `patchFiles` cannot be used with `dockerfile`"),
            "with `local.dockerfile` the image is built from `local.dir` in the state repository and \
             the upstream repository is not checked out, so there is nothing to patch; put the \
             changed files in `local.dir` instead, or remove `dockerfile` to patch the upstream checkout",
        );
        return None;
    }
    if let Some(workflow) = own_workflow {
        for key in ["patchFiles", "versionFile"] {
            if let Some(k) = f.key(key) {
                d.warning_hint(
                    k.pos,
                    format!(
                        "{lwhat}: `{key}` is only used by generated build workflows, and this image \
                         is built by its own workflow `{workflow}`"
                    ),
                    "remove `source.workflow` to have `synth --workflows` generate one, or remove the key",
                );
            }
        }
    }
    Some(Local {
        dir: dir?,
        dockerfile,
        patch_files: patch_files?,
        version_file,
    })
}

/// `patchFiles`: a list of paths, each once.
fn patch_files(d: &mut Decoder<'_>, f: &Fields<'_>, what: &str) -> Option<Vec<String>> {
    let Some(node) = f.get("patchFiles") else {
        return Some(Vec::new());
    };
    let Some(items) = node.as_seq() else {
        d.wrong_type(node, &format!("{what}: `patchFiles`"), "a list of paths");
        return None;
    };
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let iwhat = format!("{what}: patchFiles[{i}]");
        let Some(text) = d.string_node(item, &iwhat) else {
            ok = false;
            continue;
        };
        if let Some(problem) = path_problem(&text, false) {
            report(d, item.pos, &iwhat, &text, problem);
            ok = false;
        } else if out.contains(&text) {
            d.error_hint(
                item.pos,
                format!("{iwhat}: `{text}` is listed twice"),
                "each patch is applied once, in list order; remove the repetition",
            );
            ok = false;
        } else {
            out.push(text);
        }
    }
    ok.then_some(out)
}

/// A path key of the block, checked with [`path_problem`].
fn path(d: &mut Decoder<'_>, f: &Fields<'_>, key: &str, what: &str, dir: bool) -> Option<String> {
    let node = f.get(key)?;
    let text = d.string_node(node, &format!("{what}: `{key}`"))?;
    match path_problem(&text, dir) {
        Some(problem) => {
            report(d, node.pos, &format!("{what}: `{key}`"), &text, problem);
            None
        }
        None => Some(text),
    }
}

fn report(d: &mut Decoder<'_>, pos: Pos, what: &str, text: &str, problem: &str) {
    d.error_hint(
        pos,
        format!("{what}: `{text}` {problem}"),
        "give a relative path of letters, digits, `.`, `_` and `-` with `/` separators and no `..`, \
         e.g. `local/uv/VERSION` (`dir` is relative to the factory dir, the other paths to `dir`)",
    );
}

/// Why `text` is not a path of a `local` block, or `None`. Paths are relative, `/`-separated,
/// without `.`/`..` components (`dir` may be exactly `.`), of ASCII letters, digits, `.`, `_` and
/// `-` only: they are written into generated workflows (YAML values, `git apply` arguments), where
/// nothing else is needed and anything else could be read as an expression or shell syntax.
pub(crate) fn path_problem(text: &str, dir: bool) -> Option<&'static str> {
    if text.is_empty() {
        return Some("is empty");
    }
    if dir && text == "." {
        return None;
    }
    if text.starts_with('/') {
        return Some("is absolute");
    }
    let chars_ok = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    if !chars_ok {
        return Some("contains characters other than letters, digits, `.`, `_`, `-` and `/`");
    }
    let trimmed = text.strip_suffix('/').filter(|_| dir).unwrap_or(text);
    for part in trimmed.split('/') {
        match part {
            "" => return Some("has an empty component (`//` or a trailing `/`)"),
            ".." => return Some("leaves its directory (`..`)"),
            "." => return Some("has a `.` component"),
            _ if part.starts_with('-') => return Some("has a component starting with `-`"),
            _ => {}
        }
    }
    None
}

/// Checks the `source` of an image whose build workflow is generated (no `source.workflow`): its
/// `inputs` and `pinInput` must not take the generated workflow's own input names, and everything
/// together must fit GitHub's 25 `workflow_dispatch` inputs.
pub(super) fn check_generated_inputs(d: &mut Decoder<'_>, f: &Fields<'_>, what: &str) -> bool {
    let mut ok = true;
    let hint = "without `source.workflow` the generated build workflow declares the inputs `suffix` \
                and `bump` (and `base_images` when `pinInput` is not set; GitLab: the variable \
                `IMAGE_FACTORY_IMAGE`); choose another name";
    if let Some(inputs) = f.get("inputs").and_then(Node::as_map) {
        let pin = f
            .get("pinInput")
            .and_then(Node::as_str)
            .unwrap_or(super::GENERATED_PIN_INPUT);
        for (k, _) in inputs {
            let Some(name) = k.as_str() else { continue };
            if GENERATED_INPUTS.contains(&name) || name == pin || name == GENERATED_IMAGE_VARIABLE {
                d.error_hint(
                    k.pos,
                    format!(
                        "{what}: `inputs`: `{name}` is an input of the generated build workflow"
                    ),
                    hint,
                );
                ok = false;
            }
        }
        // GitHub refuses a workflow_dispatch with more than 25 inputs.
        let total = inputs.len() + 1 + GENERATED_INPUTS.len();
        if total > 25
            && let Some(k) = f.key("inputs")
        {
            d.error_hint(
                k.pos,
                format!(
                    "{what}: `inputs`: {} inputs leave no room for the generated build workflow's \
                     own (at most 25 in all, {} of them taken)",
                    inputs.len(),
                    1 + GENERATED_INPUTS.len()
                ),
                "pass fewer inputs, or give the image a workflow of its own in `source.workflow`",
            );
            ok = false;
        }
    }
    if let Some(n) = f.get("pinInput")
        && let Some(name) = n.as_str()
        && (GENERATED_INPUTS.contains(&name) || name == GENERATED_IMAGE_VARIABLE)
    {
        d.error_hint(
            n.pos,
            format!("{what}: `pinInput`: `{name}` is an input of the generated build workflow"),
            hint,
        );
        ok = false;
    }
    ok
}

/// One path of a `local` block, where it is written, for the job layer's existence checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    /// The image (`name`).
    pub image: String,
    /// The key (`dir`, `dockerfile`, `patchFiles`, `versionFile`).
    pub key: &'static str,
    /// The path relative to the factory dir (`dir` joined with the file).
    pub path: String,
    /// Whether it must be a directory (`dir`) rather than a regular file.
    pub is_dir: bool,
    /// Where the value is written in `images.yaml`.
    pub pos: Pos,
}

/// Every path of every `local` block of an `images.yaml` text (already validated: entries or
/// values that do not decode are left out), in file order, relative to the factory dir.
pub fn local_files(text: &str) -> Vec<LocalFile> {
    let mut out = Vec::new();
    let Ok(root) = yaml::parse(text) else {
        return out;
    };
    let get = |node: &'_ Node, key: &str| -> Option<Node> {
        node.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v.clone())
    };
    for item in root.as_seq().unwrap_or_default() {
        let (Some(name), Some(local)) = (get(item, "name"), get(item, "local")) else {
            continue;
        };
        // An external image's `local` is an error of its own; its files are not looked for.
        if get(item, "source").is_none() {
            continue;
        }
        let (Some(name), Some(dir)) = (name.as_str(), get(&local, "dir")) else {
            continue;
        };
        let Some(dir_text) = dir.as_str().filter(|t| path_problem(t, true).is_none()) else {
            continue;
        };
        let dir_text = dir_text.trim_end_matches('/');
        let mut push = |key: &'static str, node: &Node, is_dir: bool| {
            if let Some(file) = node
                .as_str()
                .filter(|t| is_dir || path_problem(t, false).is_none())
            {
                let path = if is_dir {
                    dir_text.to_owned()
                } else {
                    join(dir_text, file)
                };
                out.push(LocalFile {
                    image: name.to_owned(),
                    key,
                    path,
                    is_dir,
                    pos: node.pos,
                });
            }
        };
        push("dir", &dir, true);
        for key in ["dockerfile", "versionFile"] {
            if let Some(node) = get(&local, key) {
                let key = if key == "dockerfile" {
                    "dockerfile"
                } else {
                    "versionFile"
                };
                push(key, &node, false);
            }
        }
        if let Some(patches) = get(&local, "patchFiles") {
            for item in patches.as_seq().unwrap_or_default() {
                push("patchFiles", item, false);
            }
        }
    }
    out
}

/// `dir/file`, with `.` as the factory dir itself.
pub(crate) fn join(dir: &str, file: &str) -> String {
    match dir.trim_end_matches('/') {
        "." | "" => file.to_owned(),
        dir => format!("{dir}/{file}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in ["VERSION", "local/uv", "a/b-c_d.e/f.patch", "x.patch"] {
            assert_eq!(path_problem(ok, false), None, "{ok}");
        }
        assert_eq!(path_problem(".", true), None);
        assert_eq!(path_problem("local/uv/", true), None);
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a b",
            "a;b",
            "$X",
            "${{ x }}",
            "-rf",
            "a/-x",
            "a\\b",
            "ü",
        ] {
            assert!(path_problem(bad, false).is_some(), "{bad}");
        }
        assert!(path_problem(".", false).is_some());
        assert!(path_problem("a/", false).is_some());
    }

    #[test]
    fn joins() {
        assert_eq!(join(".", "VERSION"), "VERSION");
        assert_eq!(join("local/uv/", "VERSION"), "local/uv/VERSION");
    }
}
