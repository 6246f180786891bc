//! What can stop `adopt serve` from starting or running.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Problems with the API keys, every one at once; never the key itself.
    #[error("{source_name}: {}", .problems.join("; "))]
    Keys {
        /// Where the keys came from (`--keys FILE` or `ADOPT_SERVE_KEYS`).
        source_name: String,
        problems: Vec<String>,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Kb(#[from] adopt_kb::KbError),
    /// Problems with the chat models of the trial file, every one at once.
    #[error("chat models:\n  - {}", .0.join("\n  - "))]
    Chat(Vec<String>),
    #[error("{what}: {source}")]
    Runtime {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, ServeError>;
