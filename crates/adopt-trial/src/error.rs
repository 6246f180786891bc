//! Errors of the trial stage. Remote failures carry a [`FailureKind`] so that retries are
//! principled: only transient failures are retried, and a bad key or a bad request stops at once.

use std::path::PathBuf;
use std::time::Duration;

/// Whether trying again may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Rate limits (429), server errors (5xx), timeouts, resets: worth retrying after a pause.
    Transient,
    /// Authentication, bad request, unknown model, unreadable response: retrying repeats the failure.
    Permanent,
}

/// A failed call to a model endpoint. The message never contains the API key: bodies echoed by
/// the server are redacted before they are stored here.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{model}: {message}")]
pub struct ProviderError {
    /// The trial's name for the model that failed.
    pub model: String,
    /// Transient or permanent.
    pub kind: FailureKind,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// What the server asked us to wait (Retry-After), when it said.
    pub retry_after: Option<Duration>,
    /// What went wrong, for people.
    pub message: String,
}

impl ProviderError {
    pub fn is_transient(&self) -> bool {
        self.kind == FailureKind::Transient
    }
}

/// Everything that can stop a trial.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// The trial file has problems; every one found is listed, one per line.
    #[error("invalid trial configuration:\n  - {}", .0.join("\n  - "))]
    InvalidConfig(Vec<String>),
    /// The trial file (or the `[trial]` table of a pipeline file) is not valid TOML for a trial.
    #[error("cannot parse trial file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A task's data file could not be read.
    #[error("task {task}: cannot read {path}: {source}")]
    TaskData {
        task: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A record in a task's data file is not what the task kind expects.
    #[error("task {task}: {path} line {line}: {message}")]
    TaskRecord {
        task: String,
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A context source (retrieval) failed for a question.
    #[error("task {task}: context for item {item}: {message}")]
    Context {
        task: String,
        item: String,
        message: String,
    },
    /// A model endpoint failed permanently, or transiently more often than the retries allow.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The price catalogue shipped with the crate or given by the user is malformed.
    #[error("price catalogue: {0}")]
    Catalogue(String),
    /// Reading or writing the run's files failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl TrialError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrialError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = TrialError> = std::result::Result<T, E>;
