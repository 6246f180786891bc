//! The embedding model seen by the stages that need one (kb, label's similarity functions).
//! `adopt-embed` implements it with fastembed on local model files.

/// Error from an embedding model, kept as text so that this crate needs no model dependency.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EmbedError(pub String);

/// A dense text embedding model.
pub trait Embedder: Send + Sync {
    /// Stable name of the model (stored with an index so a different model is noticed).
    fn model_id(&self) -> &str;
    /// Length of every vector.
    fn dim(&self) -> usize;
    /// Maximum tokens the model reads; longer input is truncated.
    fn max_tokens(&self) -> usize;
    /// Embeds documents (passages). Vectors are L2-normalised.
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Embeds one search query. Vectors are L2-normalised.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError>;
    /// Tokens `text` has in the model's own tokenizer (without special tokens).
    fn count_tokens(&self, text: &str) -> usize;
    /// Passages per call that keep memory bounded.
    fn batch_size(&self) -> usize {
        32
    }
}
