//! What can go wrong while writing or reading results. Every variant names the file involved.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON of the expected shape")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} has schema version {found}, this stampede reads version {expected}")]
    Schema {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{path} is not a valid interval log (at byte {offset})")]
    IntervalLog { path: PathBuf, offset: usize },
    #[error("{detail}")]
    Name { detail: String },
    #[error("{path} is a symbolic link; results are never written through one")]
    Symlink { path: PathBuf },
    #[error("{dir} holds the runs of {theirs}, not of {mine}")]
    Claimed {
        dir: PathBuf,
        theirs: String,
        mine: String,
    },
    #[error("the run folder {dir} already exists; a run never reuses another's folder")]
    RunExists { dir: PathBuf },
    #[error("{path}, line {line}: {detail}")]
    Record {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    /// Records that are not the complete segments of one run, and what is wrong with them.
    #[error("cannot merge: {detail}")]
    Segments { detail: String },
    #[error("{path} holds a histogram that cannot be decoded: {detail}")]
    Histogram { path: PathBuf, detail: String },
}
