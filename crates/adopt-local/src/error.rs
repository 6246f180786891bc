//! Errors of the local engine. Every one names the model file it concerns, so that a trial with
//! several local models says which file is broken.

use std::path::PathBuf;

/// What can go wrong loading or running a local model.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The model file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a GGUF model this engine can run (bad header, missing tensor or key,
    /// unsupported architecture).
    #[error("{path}: {message}")]
    Model { path: PathBuf, message: String },
    /// The tokenizer could not be built from the GGUF metadata or read from tokenizer.json.
    #[error("{path}: tokenizer: {message}")]
    Tokenizer { path: PathBuf, message: String },
    /// The model's chat template is not one the engine knows; set `chat-template = "chatml"`
    /// (or [`crate::LocalOptions::chat_template`]) when the model was trained on ChatML.
    #[error("{path}: chat template: {message}")]
    ChatTemplate { path: PathBuf, message: String },
    /// A generation step failed.
    #[error("{path}: {message}")]
    Generation { path: PathBuf, message: String },
    /// Models of a trial file that name a local model file wrongly; one line each.
    #[error("local models:\n  - {}", .0.join("\n  - "))]
    Config(Vec<String>),
}

pub type Result<T, E = LocalError> = std::result::Result<T, E>;
