//! Errors of the collect stage. Each names the file, and the page, sheet or row where known,
//! because the user has to find the file to fix it.

use std::path::{Path, PathBuf};

pub type Result<T, E = CollectError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unsupported format{}", ext.as_deref().map(|e| format!(" '.{e}'")).unwrap_or_default())]
    Unsupported { path: PathBuf, ext: Option<String> },
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: encrypted: {reason}")]
    Encrypted { path: PathBuf, reason: String },
    #[error("{path}: {unit}: table: {source}")]
    Table {
        path: PathBuf,
        unit: String,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("{path}: gave up after {secs} s (time budget per file)")]
    Timeout { path: PathBuf, secs: u64 },
    #[error("{path}: needed more than {mib} MiB (memory budget per file)")]
    OutOfMemory { path: PathBuf, mib: u64 },
    #[error("{path}: the reader crashed: {reason}")]
    Crashed { path: PathBuf, reason: String },
    #[error("{path}: writing {what}: {reason}")]
    Output {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
}

impl CollectError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CollectError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn unreadable(path: &Path, reason: impl std::fmt::Display) -> Self {
        CollectError::Unreadable {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    /// Wraps an error from a reader crate whose message may already start with the path.
    pub fn from_reader(path: &Path, err: impl std::fmt::Display) -> Self {
        let msg = err.to_string();
        let prefix = format!("{}: ", path.display());
        let reason = msg.strip_prefix(&prefix).unwrap_or(&msg).to_string();
        CollectError::Unreadable {
            path: path.to_path_buf(),
            reason,
        }
    }

    pub fn table(path: &Path, unit: &str, source: polars::error::PolarsError) -> Self {
        CollectError::Table {
            path: path.to_path_buf(),
            unit: unit.to_string(),
            source,
        }
    }

    /// Short machine-readable kind for `quarantine.jsonl` and the summary.
    pub fn kind(&self) -> &'static str {
        match self {
            CollectError::Io { .. } => "io",
            CollectError::Unsupported { .. } => "unsupported",
            CollectError::Unreadable { .. } => "unreadable",
            CollectError::Encrypted { .. } => "encrypted",
            CollectError::Table { .. } => "table",
            CollectError::Timeout { .. } => "timeout",
            CollectError::OutOfMemory { .. } => "out-of-memory",
            CollectError::Crashed { .. } => "crashed",
            CollectError::Output { .. } => "output",
        }
    }

    /// The reason without the leading path, for places that already show the path.
    pub fn reason(&self) -> String {
        let full = self.to_string();
        let path = match self {
            CollectError::Io { path, .. }
            | CollectError::Unsupported { path, .. }
            | CollectError::Unreadable { path, .. }
            | CollectError::Encrypted { path, .. }
            | CollectError::Table { path, .. }
            | CollectError::Timeout { path, .. }
            | CollectError::OutOfMemory { path, .. }
            | CollectError::Crashed { path, .. }
            | CollectError::Output { path, .. } => path,
        };
        let prefix = format!("{}: ", path.display());
        full.strip_prefix(&prefix).unwrap_or(&full).to_string()
    }
}
