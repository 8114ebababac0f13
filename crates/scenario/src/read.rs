//! Reading a scenario or `[data]` file: a regular file only, at most a limit's bytes.
//!
//! A FIFO or `/dev/urandom` given as a scenario once hung `validate`, and `/dev/zero` took 2 GB.
//! The file's type is checked before it is opened (opening a FIFO blocks until a writer comes)
//! and again on the opened file, and reading stops one byte past the limit, so no path makes
//! loading hang or allocate more than the limit.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

use crate::diag::{Diagnostic, Severity};
use crate::limits;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("is larger than {}", limits::show_bytes(*.0))]
    TooLarge(u64),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ReadError {
    /// "cannot read `x`: ...", or "`/dev/zero` is a device, not a regular file".
    pub(crate) fn message(&self, what: &str) -> String {
        match self {
            ReadError::Io(err) => format!("cannot read `{what}`: {err}"),
            other => format!("`{what}` {other}"),
        }
    }

    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            ReadError::NotRegular(_) => Some("give the path of a file".into()),
            ReadError::TooLarge(_) => Some("see the Limits section of docs/scenarios.md".into()),
            ReadError::Io(_) => None,
        }
    }
}

/// The bytes of the regular file at `path`, when there are at most `max` of them.
pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    check(&std::fs::metadata(path)?, max)?;
    let file = File::open(path)?;
    // The path may have been swapped between the two looks; the open file is what counts.
    check(&file.metadata()?, max)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge(max));
    }
    Ok(bytes)
}

fn check(meta: &Metadata, max: u64) -> Result<(), ReadError> {
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(meta)));
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge(max));
    }
    Ok(())
}

/// What a file that is not a regular file is, for the message.
fn kind_of(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "something else"
}

/// The file's text, or a problem at the line and column of its first byte that is not UTF-8.
pub(crate) fn utf8(origin: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        let bytes = err.into_bytes();
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line_end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| at + i);
        // The valid part of the line is text; the rest is shown with replacement characters.
        let before = String::from_utf8_lossy(&bytes[line_start..at]);
        let text = String::from_utf8_lossy(&bytes[line_start..line_end]);
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.chars().count() + 1;
        Diagnostic {
            severity: Severity::Error,
            file: origin.to_owned(),
            line,
            column,
            message: format!("byte 0x{:02x} is not UTF-8 text", bytes[at]),
            excerpt: Some(format!(
                "{}\n{}^",
                text.trim_end_matches('\r'),
                " ".repeat(column - 1)
            )),
            hint: Some("save the file as UTF-8".into()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_has_a_line_and_column() {
        let bytes = b"kind = \"smoke\"\nname = \"caf\xe9\"\n".to_vec();
        let diagnostic = utf8("t.toml", bytes).unwrap_err();
        assert_eq!((diagnostic.line, diagnostic.column), (2, 12));
        assert_eq!(diagnostic.message, "byte 0xe9 is not UTF-8 text");
    }

    #[test]
    fn directories_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_capped(dir.path(), 10).unwrap_err();
        assert_eq!(err.to_string(), "is a directory, not a regular file");
        let file = dir.path().join("big");
        std::fs::write(&file, [b'x'; 11]).unwrap();
        assert!(matches!(
            read_capped(&file, 10),
            Err(ReadError::TooLarge(10))
        ));
        assert_eq!(read_capped(&file, 11).unwrap().len(), 11);
    }
}
