//! Why a model could not be loaded, with the file involved and the command that fixes it.

use std::path::PathBuf;

/// The command that writes the model files and the ONNX Runtime library.
pub const PREPARE_COMMAND: &str = "python3 models/prepare.py";

/// Error from loading a model or the ONNX Runtime library.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file of the prepared model is missing.
    #[error("embedding model file missing: {path} (run `{PREPARE_COMMAND}` from the adopt repository, or set ADOPT_MODEL_DIR to a prepared model directory)")]
    MissingModelFile {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A model file exists but cannot be read or parsed.
    #[error(
        "cannot read embedding model file {path}: {message} (re-run `{PREPARE_COMMAND} --force`)"
    )]
    BadModelFile {
        /// The file that failed.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No ONNX Runtime shared library was found where it was looked for.
    #[error("ONNX Runtime library not found: {looked_in} (run `{PREPARE_COMMAND}`, or set ORT_DYLIB_PATH to a libonnxruntime.so of version 1.24 or newer)")]
    MissingOrtLibrary {
        /// Where it was looked for.
        looked_in: String,
    },
    /// The ONNX Runtime library exists but could not be loaded or is too old.
    #[error("cannot load ONNX Runtime from {path}: {message} (ONNX Runtime 1.24 or newer is needed; `{PREPARE_COMMAND}` installs one)")]
    OrtLibrary {
        /// The library file.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// fastembed or ONNX Runtime refused the model.
    #[error("cannot load embedding model from {dir}: {message}")]
    Model {
        /// The model directory.
        dir: PathBuf,
        /// The runtime's message.
        message: String,
    },
}

/// Result of loading.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;

impl From<LoadError> for adopt_core::EmbedError {
    fn from(err: LoadError) -> Self {
        adopt_core::EmbedError(err.to_string())
    }
}
