//! The one atomic file writer of the workspace: a crash at any point leaves the file either old or
//! new, never torn or empty.
//!
//! The text goes to a hidden temporary file beside the target, which is fsynced before it is renamed
//! over the target (so the rename can never expose unsynced data); then the directory is fsynced so
//! the rename itself survives a crash. [`crate::store::Store::apply`] follows the same protocol,
//! with the same temporary names and directory sync, batched for many files (one `syncfs` instead
//! of one fsync per file).

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// A failed step of [`write_file`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A file or directory operation failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, directory fsync), creating
/// missing parent directories.
///
/// # Errors
/// [`WriteError::Io`] naming the path that failed; the temporary file is removed then.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let temp = temp_path(path, &parent);
    let written = File::create(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(err) = written.and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(io_err(path)(err));
    }
    sync_dir(&parent).map_err(io_err(&parent))
}

/// Writes `text` to `path` with [`write_file`] unless the file already holds exactly that; returns
/// whether it wrote (an unchanged run touches nothing).
///
/// # Errors
/// As [`write_file`].
pub fn write_if_changed(path: &Path, text: &str) -> Result<bool, WriteError> {
    if fs::read(path).is_ok_and(|current| current == text.as_bytes()) {
        return Ok(false);
    }
    write_file(path, text.as_bytes()).map(|()| true)
}

/// The temporary file [`write_file`] (and [`crate::store::Store::apply`]) writes before renaming
/// it over `target` in `parent`: hidden, beside the target (a rename never crosses file systems),
/// named after the process, and recognised by the loader, which removes what a crash left.
pub(crate) fn temp_path(target: &Path, parent: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    parent.join(format!(".{name}{TEMP_MARK}{}", std::process::id()))
}

/// What every temporary file name holds (see [`temp_path`]).
pub(crate) const TEMP_MARK: &str = ".tmp-";

/// Makes the renames inside `dir` durable.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

// Directories cannot be opened for syncing elsewhere; the rename is as durable as the OS makes it.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.yaml");
        assert!(write_if_changed(&path, "a\n").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\n");
        assert!(
            !write_if_changed(&path, "a\n").unwrap(),
            "unchanged: not written"
        );
        assert!(write_if_changed(&path, "b\n").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "b\n");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.yaml")]);
    }

    #[test]
    fn a_failed_write_names_the_path_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        let path = dir.path().join("taken");
        fs::create_dir_all(path.join("inner")).unwrap();
        let err = write_file(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("taken"), "{err}");
        assert!(path.join("inner").is_dir());
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file is removed");
    }
}
