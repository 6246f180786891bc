//! Errors of the knowledge-base stage. Each says what was being done and to which path, document
//! or query, because a failed build over thousands of documents is useless without that.

use std::path::{Path, PathBuf};

pub type Result<T, E = KbError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("embedding {what}: {source}")]
    Embed {
        what: String,
        #[source]
        source: adopt_core::EmbedError,
    },
    #[error("embedding {what}: model returned {got} vectors of length {dim}, expected {expected} of length {expected_dim}")]
    EmbedShape {
        what: String,
        got: usize,
        dim: usize,
        expected: usize,
        expected_dim: usize,
    },
    /// An error from the vector index; `op` names the operation ("upsert 32 chunks of doc ab12…").
    #[error("index {path}: {op}: {reason}")]
    Index {
        path: String,
        op: String,
        reason: String,
    },
    #[error("{mode} search needs dense vectors, but the index at {path} was built without an embedding model")]
    NoDenseVectors { mode: &'static str, path: String },
    #[error("the index at {path} was built with {built}, but {given} was given: rebuild the knowledge base")]
    ModelMismatch {
        path: String,
        built: String,
        given: String,
    },
    #[error("{path}: line {line}: {reason}")]
    EvalInput {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("invalid settings: {0}")]
    Settings(String),
}

impl KbError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        KbError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn index(
        path: impl std::fmt::Display,
        op: impl Into<String>,
        reason: impl std::fmt::Display,
    ) -> Self {
        KbError::Index {
            path: path.to_string(),
            op: op.into(),
            reason: reason.to_string(),
        }
    }
}
