//! Offline text embeddings for adopt: [`FastEmbedder`] implements [`adopt_core::Embedder`] with
//! fastembed and ONNX Runtime on model files prepared on the machine by `models/prepare.py`
//! (multilingual-e5-small by default: Chinese and English, 384-d), so nothing is downloaded.
//!
//! ONNX Runtime is loaded at run time from a shared library (`$ORT_DYLIB_PATH`, or the copy that
//! `models/prepare.py` puts beside the model); a missing or too old library is an error, not a
//! panic. Downloading from the Hugging Face Hub is opt-in (the `hub` feature, see [`hub`]);
//! without it nothing here talks to a model hub.

mod error;
pub mod hub;
mod runtime;
mod spec;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use adopt_core::{EmbedError, Embedder};
use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use tokenizers::Tokenizer;

pub use error::{LoadError, Result, PREPARE_COMMAND};
pub use runtime::{find_ort_library, ort_environment, ORT_LIBRARY_ENV};
pub use spec::{ModelSpec, PoolingKind, MODEL_FILES, SPEC_FILE};

/// Environment variable naming the model directory.
pub const MODEL_DIR_ENV: &str = "ADOPT_MODEL_DIR";

/// Padded tokens per call to the model. On 2 cores bigger calls ran slower, not faster (ONNX
/// Runtime alone, per CPU second: 52 sentences one at a time, 48 four at a time, 38 at 32), so
/// calls stay small; that also keeps their memory small.
const BATCH_TOKENS: usize = 256;

/// Name of the default model's directory under the model cache.
pub const DEFAULT_MODEL_NAME: &str = "multilingual-e5-small";

/// The model directory to use: `$ADOPT_MODEL_DIR`, else `multilingual-e5-small` under the
/// model cache (`$ADOPT_MODEL_CACHE` or `~/.cache/adopt/models`, where `models/prepare.py` and
/// `adopt models fetch` write it).
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    adopt_core::layout::model_cache_root().join(DEFAULT_MODEL_NAME)
}

/// A local embedding model run by fastembed on ONNX Runtime.
pub struct FastEmbedder {
    spec: ModelSpec,
    // fastembed's `embed` takes `&mut self`; the trait is `&self` and `Sync`.
    model: Mutex<TextEmbedding>,
    // Without truncation or padding, so that long texts are counted in full.
    counter: Tokenizer,
    content_tokens: usize,
    dir: PathBuf,
}

impl std::fmt::Debug for FastEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastEmbedder")
            .field("id", &self.spec.id)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FastEmbedder {
    /// Loads the model in `model_dir` (see [`default_model_dir`]) with the ONNX Runtime library
    /// `ort_lib`, or the one [`find_ort_library`] finds.
    pub fn load(model_dir: &Path, ort_lib: Option<&Path>) -> Result<Self> {
        let spec = ModelSpec::read(model_dir)?;
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = model_dir.join(name);
            std::fs::read(&path).map_err(|err| match err.kind() {
                std::io::ErrorKind::NotFound => LoadError::MissingModelFile { path },
                _ => LoadError::BadModelFile {
                    path,
                    message: err.to_string(),
                },
            })
        };
        let [onnx, tokenizer, config, special_tokens_map, tokenizer_config] = MODEL_FILES;
        let onnx_file = read(onnx)?;
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read(tokenizer)?,
            config_file: read(config)?,
            special_tokens_map_file: read(special_tokens_map)?,
            tokenizer_config_file: read(tokenizer_config)?,
        };

        let library = find_ort_library(ort_lib, model_dir)?;
        let environment = runtime::ort_environment(&library)?;

        let model_error = |message: String| LoadError::Model {
            dir: model_dir.to_path_buf(),
            message,
        };
        let pooling = match spec.pooling {
            PoolingKind::Mean => Pooling::Mean,
            PoolingKind::Cls => Pooling::Cls,
        };
        let user_model =
            UserDefinedEmbeddingModel::new(onnx_file, tokenizer_files).with_pooling(pooling);
        // ONNX Runtime's worker threads spin while waiting for work by default; on the shared
        // 2-core machines adopt runs on, other stages then lose the CPU they spin on.
        let options = InitOptionsUserDefined::new()
            .with_environment(environment)
            .with_max_length(spec.max_tokens)
            .with_session_config("session.intra_op.allow_spinning", "0");
        let model = TextEmbedding::try_new_from_user_defined(user_model, options)
            .map_err(|err| model_error(err.to_string()))?;

        let mut counter = model.tokenizer.clone();
        counter
            .with_truncation(None)
            .map_err(|err| model_error(err.to_string()))?;
        counter.with_padding(None);

        let mut embedder = Self {
            spec,
            model: Mutex::new(model),
            counter,
            content_tokens: 0,
            dir: model_dir.to_path_buf(),
        };
        // The prefix and <s> </s> come out of the model's token budget.
        let prefix = embedder
            .count_tokens(&embedder.spec.query_prefix)
            .max(embedder.count_tokens(&embedder.spec.passage_prefix));
        embedder.content_tokens = embedder.spec.max_tokens.saturating_sub(prefix + 2);
        Ok(embedder)
    }

    /// Loads the model in [`default_model_dir`].
    pub fn load_default() -> Result<Self> {
        Self::load(&default_model_dir(), None)
    }

    /// What `adopt-model.json` says about the model.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The directory the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.dir
    }

    fn embed_prefixed(&self, prefix: &str, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // A batch is padded to its longest text and attention memory grows with the square of
        // that length, so texts go in length order, in batches of at most `batch_size()` texts
        // and `BATCH_TOKENS` padded tokens. Results are put back in the caller's order.
        let window = self.spec.max_tokens;
        let lengths: Vec<usize> = texts
            .iter()
            .map(|text| (self.count_tokens(text) + self.content_tokens_overhead()).min(window))
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| lengths[i]);

        let mut out = vec![Vec::new(); texts.len()];
        let mut model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len()
                && end - start < self.batch_size()
                && (end - start + 1) * lengths[order[end]] <= BATCH_TOKENS
            {
                end += 1;
            }
            let batch = &order[start..end];
            let inputs: Vec<String> = batch
                .iter()
                .map(|&i| format!("{prefix}{}", texts[i]))
                .collect();
            let vectors = model
                .embed(&inputs, Some(inputs.len()))
                .map_err(|err| EmbedError(format!("embedding with {}: {err}", self.spec.id)))?;
            if vectors.len() != batch.len() {
                return Err(EmbedError(format!(
                    "embedding with {}: {} vectors for {} texts",
                    self.spec.id,
                    vectors.len(),
                    batch.len()
                )));
            }
            for (vector, &i) in vectors.into_iter().zip(batch) {
                if vector.len() != self.spec.dim {
                    return Err(EmbedError(format!(
                        "embedding with {}: vector of {} values, expected {}",
                        self.spec.id,
                        vector.len(),
                        self.spec.dim
                    )));
                }
                out[i] = vector;
            }
            start = end;
        }
        Ok(out)
    }

    /// Tokens the model adds around a text's own: `<s>`, `</s>` and the prefix.
    fn content_tokens_overhead(&self) -> usize {
        self.spec.max_tokens - self.content_tokens
    }
}

impl Embedder for FastEmbedder {
    fn model_id(&self) -> &str {
        &self.spec.id
    }

    fn dim(&self) -> usize {
        self.spec.dim
    }

    /// Content tokens read before truncation: the model's window less `<s>`, `</s>` and the
    /// query/passage prefix (508 for multilingual-e5-small).
    fn max_tokens(&self) -> usize {
        self.content_tokens
    }

    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_prefixed(&self.spec.passage_prefix, texts)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut vectors = self.embed_prefixed(&self.spec.query_prefix, &[text])?;
        Ok(vectors.pop().unwrap_or_default())
    }

    fn count_tokens(&self, text: &str) -> usize {
        if text.is_empty() {
            return 0;
        }
        // The tokenizer fails only on inputs it cannot represent at all; a byte-based guess
        // keeps chunking going rather than stopping a run.
        self.counter
            .encode(text, false)
            .map(|encoding| encoding.len())
            .unwrap_or_else(|_| text.len().div_ceil(3))
    }

    fn batch_size(&self) -> usize {
        32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_the_file_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = FastEmbedder::load(dir.path(), None).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, LoadError::MissingModelFile { .. }),
            "{message}"
        );
        assert!(message.contains("adopt-model.json"), "{message}");
        assert!(message.contains("python3 models/prepare.py"), "{message}");
        let core: EmbedError = err.into();
        assert!(core.0.contains("adopt-model.json"));
    }

    #[test]
    fn missing_onnx_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SPEC_FILE),
            r#"{"id":"m","dim":4,"max_tokens":16,"pooling":"mean"}"#,
        )
        .unwrap();
        let err = FastEmbedder::load(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("model.onnx"), "{err}");
    }

    #[test]
    fn default_dir_ends_with_the_model_name() {
        if std::env::var_os(MODEL_DIR_ENV).is_none() {
            assert!(default_model_dir().ends_with(".cache/adopt/models/multilingual-e5-small"));
        }
    }
}
