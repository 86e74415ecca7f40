//! The checks of `images.yaml`'s `local` blocks that need the factory dir: every path names a
//! file (`dir`: a directory) inside it. Reported like any configuration problem, at the line of
//! the value, so `analyzer validate` shows them and no job runs on a block whose files are missing.

use std::path::Path;

use model::diagnostic::Diagnostic;
use model::enrollment::LocalFile;

/// One diagnostic per path of a `local` block of `images_text` (named `images_file`) that is not
/// a file (`dir`: a directory) under `factory_dir`, or that leads out of it through a symlink.
pub(crate) fn check(factory_dir: &Path, images_text: &str, images_file: &str) -> Vec<Diagnostic> {
    let root = factory_dir.canonicalize().ok();
    model::enrollment::local_files(images_text)
        .into_iter()
        .filter_map(|file| problem(factory_dir, root.as_deref(), &file).map(|p| (file, p)))
        .map(|(file, (message, hint))| {
            Diagnostic::error(images_file, file.pos, message).with_hint(hint)
        })
        .collect()
}

fn problem(dir: &Path, root: Option<&Path>, file: &LocalFile) -> Option<(String, String)> {
    let what = format!("image `{}`: local: `{}`", file.image, file.key);
    let full = dir.join(&file.path);
    let kind = if file.is_dir { "directory" } else { "file" };
    let missing = || {
        Some((
            format!("{what}: no {kind} `{}` in the factory dir", file.path),
            format!(
                "create `{}` under {} (paths of `local` are relative to the factory dir: `dir`, then the files inside it), or fix the path",
                file.path,
                dir.display()
            ),
        ))
    };
    let Ok(real) = full.canonicalize() else {
        return missing();
    };
    if root.is_some_and(|root| !real.starts_with(root)) {
        return Some((
            format!(
                "{what}: `{}` leads out of the factory dir (a symlink)",
                file.path
            ),
            "keep the files of `local` inside the factory dir (the state repository)".to_owned(),
        ));
    }
    let right_kind = if file.is_dir {
        real.is_dir()
    } else {
        real.is_file()
    };
    if right_kind { None } else { missing() }
}
