//! Reading files that other people control (Dockerfiles, `images.yaml`, state files): regular files
//! only, opened without blocking, and never more than a cap.
//!
//! A FIFO opened the usual way blocks until someone writes to it, and the analyzer would hold the
//! factory lock all that time; `/dev/zero` never ends. So the type is checked before opening
//! (`stat`), the open itself does not block (`O_NONBLOCK`), the type is checked again on the open
//! file (it may have been swapped in between), and reading stops one byte past the cap.

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

/// The largest files read, in bytes. The defaults are far beyond real inputs (a Dockerfile is a
/// few KiB, a 10,000-image `images.yaml` a few MiB); the job layer lets operators raise them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// One Dockerfile (default 1 MiB).
    pub dockerfile: u64,
    /// `images.yaml` or `factory.yaml` (default 64 MiB).
    pub config: u64,
    /// One state file (default 4 MiB).
    pub state_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            dockerfile: 1 << 20,
            config: 64 << 20,
            state_file: 4 << 20,
        }
    }
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The path is a FIFO, a device, a socket or a directory.
    #[error("not a regular file (it is {0})")]
    NotRegular(&'static str),
    /// The file is larger than the cap.
    #[error("larger than the limit of {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl InputError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// Reads the regular file at `path` (symlinks followed), at most `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    // Opening never blocks (`O_NONBLOCK`) and `read_open` checks the open file: no `stat` first.
    read_open(open(path)?, limit)
}

/// [`read`] as UTF-8 text; invalid UTF-8 is an [`io::ErrorKind::InvalidData`] error.
pub fn read_to_string(path: &Path, limit: u64) -> Result<String, InputError> {
    String::from_utf8(read(path, limit)?)
        .map_err(|e| InputError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
}

/// Opens `path` for reading without blocking (a FIFO without a writer opens at once).
pub(crate) fn open(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    options.open(path)
}

/// Reads an opened file (from [`open`]) after checking, on the open file, that it is regular and
/// within `limit`.
pub(crate) fn read_open(file: File, limit: u64) -> Result<Vec<u8>, InputError> {
    let meta = file.metadata()?;
    check(&meta, limit)?;
    let size = usize::try_from(meta.len()).unwrap_or(0);
    // Read up to the size `fstat` gave into room for one byte more, and stop there: this spares
    // the second `read` that would only find the end (a fleet's state is tens of thousands of
    // small files). Short reads before that size (FUSE, NFS) go on; a file that grew (the byte
    // more was filled) is read to its end as before.
    let mut bytes = vec![0; size + 1];
    let mut file = file;
    let mut n = 0;
    while n < size {
        let got = read_retrying(&mut file, &mut bytes[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    bytes.truncate(n);
    if n == size + 1 {
        file.take(limit.saturating_add(1) - n as u64)
            .read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > limit {
        // It grew while we read it.
        return Err(InputError::TooLarge { limit });
    }
    Ok(bytes)
}

/// One `read`, again when interrupted by a signal.
fn read_retrying(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

fn check(meta: &std::fs::Metadata, limit: u64) -> Result<(), InputError> {
    if !meta.is_file() {
        return Err(InputError::NotRegular(kind(&meta.file_type())));
    }
    if meta.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(())
}

fn kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_regular_file_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(read(&path, 3).unwrap(), b"abc");
        assert!(matches!(
            read(&path, 2),
            Err(InputError::TooLarge { limit: 2 })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_directories_and_fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for (path, what) in [
            (fifo.as_path(), "a FIFO"),
            (Path::new("/dev/zero"), "a device"),
            (dir.path(), "a directory"),
        ] {
            let err = read(path, 1 << 20).unwrap_err();
            assert!(
                matches!(err, InputError::NotRegular(kind) if kind == what),
                "{path:?}: {err}"
            );
        }
        // Opening a FIFO without a writer does not block, and the open file is checked too.
        let err = read_open(open(&fifo).unwrap(), 1 << 20).unwrap_err();
        assert!(matches!(err, InputError::NotRegular("a FIFO")));
    }
}
