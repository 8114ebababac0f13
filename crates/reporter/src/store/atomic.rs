//! Atomic file writes: a temporary file beside the final one, fsync, then rename.
//!
//! A reader (a CI job, `stampede compare`, a person with `cat`) therefore sees either the old
//! file or the complete new one, never half a file, even if the run is killed mid-write.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut pending = PendingFile::create(path)?;
    pending.write_all(bytes)?;
    pending.commit()
}

/// A file being written under a temporary name, renamed into place by [`PendingFile::commit`].
/// Dropped without a commit, or when a commit fails at any point (flush, fsync, rename), it
/// removes its temporary file.
pub(crate) struct PendingFile {
    path: PathBuf,
    temp: PathBuf,
    file: Option<BufWriter<File>>,
    /// Renamed into place: the temporary name no longer exists.
    renamed: bool,
}

/// Distinguishes temporary files of one process, so threads writing the same target never
/// share a temporary name.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl PendingFile {
    pub(crate) fn create(path: &Path) -> Result<PendingFile, Error> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
        // A leading dot and a `.tmp` suffix keep half-written files out of globs like `*.csv`.
        let temp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|source| Error::Write {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(PendingFile {
            path: path.to_path_buf(),
            temp,
            file: Some(BufWriter::new(file)),
            renamed: false,
        })
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.writer()
            .write_all(bytes)
            .map_err(|source| self.error(source))
    }

    /// The buffered writer, for formatters that want `impl Write`.
    pub(crate) fn writer(&mut self) -> &mut BufWriter<File> {
        self.file.as_mut().expect("present until commit")
    }

    pub(crate) fn error(&self, source: std::io::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Flushes, fsyncs and renames the file into place.
    pub(crate) fn commit(mut self) -> Result<(), Error> {
        let writer = self.file.take().expect("present until commit");
        let file = writer
            .into_inner()
            .map_err(|err| self.error(err.into_error()))?;
        file.sync_all().map_err(|source| self.error(source))?;
        drop(file);
        std::fs::rename(&self.temp, &self.path).map_err(|source| self.error(source))?;
        self.renamed = true;
        // The rename itself is durable only once the directory is synced; not every platform
        // can open a directory for that, and the data is already safe, so failure is ignored.
        if let Some(dir) = self.path.parent()
            && let Ok(dir) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Removes the temporary files a killed process left in `dir` (`.NAME.PID.N.tmp`), before the
/// run's files are written there again. Other files are left alone.
pub fn remove_stale_temporaries(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with('.')
            && name.ends_with(".tmp")
            && name.trim_end_matches(".tmp").rsplitn(3, '.').count() == 3;
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.renamed {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_the_bytes_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"{}\n").unwrap();
        write_atomic(&path, b"{\"x\":1}\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"x\":1}\n");
        assert_eq!(names(dir.path()), ["a.json"]);
    }

    #[test]
    fn an_uncommitted_file_is_removed_and_the_old_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        write_atomic(&path, b"old").unwrap();
        let mut pending = PendingFile::create(&path).unwrap();
        pending.write_all(b"new, half written").unwrap();
        drop(pending);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["a.csv"]);
    }

    #[test]
    fn stale_temporaries_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let pending = PendingFile::create(&dir.path().join("a.csv")).unwrap();
        std::mem::forget(pending);
        std::fs::write(dir.path().join(".keep"), b"mine").unwrap();
        std::fs::write(dir.path().join("b.tmp"), b"not ours").unwrap();
        assert_eq!(names(dir.path()).len(), 3);
        remove_stale_temporaries(dir.path());
        assert_eq!(names(dir.path()), [".keep", "b.tmp"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("a.csv");
        let err = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(
            err.starts_with("cannot write ") && err.ends_with("a.csv"),
            "{err}"
        );
    }
}
