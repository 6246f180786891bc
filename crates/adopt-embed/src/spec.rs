//! `adopt-model.json`: what `models/prepare.py` says about the model it wrote.

use std::path::Path;

use serde::Deserialize;

use crate::error::{LoadError, Result};

/// Name of the description file inside a model directory.
pub const SPEC_FILE: &str = "adopt-model.json";

/// Files fastembed needs besides the description.
pub const MODEL_FILES: [&str; 5] = [
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

/// How the model turns token vectors into one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PoolingKind {
    /// Average of the token vectors (e5, MiniLM).
    Mean,
    /// The first token's vector (BGE).
    Cls,
}

/// The model description written by `models/prepare.py`.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    /// Stable model name, stored with indexes.
    pub id: String,
    /// Vector length.
    pub dim: usize,
    /// Tokens the model reads, `<s>` and `</s>` included.
    pub max_tokens: usize,
    /// Put before every query ("query: " for e5).
    #[serde(default)]
    pub query_prefix: String,
    /// Put before every passage ("passage: " for e5).
    #[serde(default)]
    pub passage_prefix: String,
    /// Pooling of token vectors.
    pub pooling: PoolingKind,
}

impl ModelSpec {
    /// Reads `adopt-model.json` from `model_dir`.
    pub fn read(model_dir: &Path) -> Result<Self> {
        let path = model_dir.join(SPEC_FILE);
        let bytes = std::fs::read(&path).map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => LoadError::MissingModelFile { path: path.clone() },
            _ => LoadError::BadModelFile {
                path: path.clone(),
                message: err.to_string(),
            },
        })?;
        let spec: Self = serde_json::from_slice(&bytes).map_err(|err| LoadError::BadModelFile {
            path: path.clone(),
            message: err.to_string(),
        })?;
        if spec.dim == 0 || spec.max_tokens < 8 {
            return Err(LoadError::BadModelFile {
                path,
                message: format!(
                    "implausible dim {} / max_tokens {}",
                    spec.dim, spec.max_tokens
                ),
            });
        }
        Ok(spec)
    }
}
