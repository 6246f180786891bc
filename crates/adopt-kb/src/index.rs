//! The vector index as the rest of the crate sees it: a small trait, so that moving to a newer
//! qdrant-edge or to a Qdrant server is one file (`edge.rs`) and not a rewrite.

use serde::{Deserialize, Serialize};

use crate::chunk::Chunk;
use crate::error::Result;
use crate::sparse::SparseVec;

/// Name of the dense vector in every index we write.
pub const DENSE_VECTOR: &str = "dense";
/// Name of the sparse BM25 vector in every index we write.
pub const SPARSE_VECTOR: &str = "bm25";

/// What an index holds; fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSpec {
    /// Length of the dense vectors; `None` for a keyword-only (sparse) index.
    pub dense_dim: Option<usize>,
}

/// A chunk with its vectors, ready to upsert.
#[derive(Debug, Clone)]
pub struct IndexedChunk<'a> {
    pub chunk: &'a Chunk,
    pub dense: Option<Vec<f32>>,
    pub sparse: SparseVec,
}

/// Which vectors a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Dense and sparse candidates fused by reciprocal rank.
    #[default]
    Hybrid,
    Dense,
    Sparse,
}

impl SearchMode {
    pub const ALL: [SearchMode; 3] = [SearchMode::Hybrid, SearchMode::Dense, SearchMode::Sparse];

    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Dense => "dense",
            SearchMode::Sparse => "sparse",
        }
    }

    pub fn parse(s: &str) -> Option<SearchMode> {
        SearchMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn needs_dense(self) -> bool {
        !matches!(self, SearchMode::Sparse)
    }
}

impl std::fmt::Display for SearchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Restricts a search or count to matching chunks; every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ChunkFilter {
    pub department: Option<String>,
    pub doc_id: Option<String>,
    pub source_path: Option<String>,
}

impl ChunkFilter {
    pub fn is_empty(&self) -> bool {
        self.department.is_none() && self.doc_id.is_none() && self.source_path.is_none()
    }

    /// `(payload field, value)` pairs that must all match.
    pub fn conditions(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        if let Some(v) = &self.department {
            out.push(("department", v.as_str()));
        }
        if let Some(v) = &self.doc_id {
            out.push(("doc_id", v.as_str()));
        }
        if let Some(v) = &self.source_path {
            out.push(("source_path", v.as_str()));
        }
        out
    }
}

/// A search against the index, with its vectors already computed.
#[derive(Debug, Clone)]
pub struct IndexQuery<'a> {
    pub mode: SearchMode,
    pub dense: Option<&'a [f32]>,
    pub sparse: Option<&'a SparseVec>,
    pub filter: &'a ChunkFilter,
    pub limit: usize,
    /// Candidates each side contributes before fusion (hybrid only).
    pub prefetch: usize,
    /// The `k` of reciprocal rank fusion: `score = Σ 1 / (k + rank)`, rank from 0 (Qdrant's form).
    pub rrf_k: usize,
}

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub chunk_id: String,
    pub doc_id: String,
    pub source_path: String,
    pub department: Option<String>,
    /// Page or sheet label.
    pub unit: String,
    pub headings: Vec<String>,
    pub char_start: u64,
    pub char_end: u64,
    pub score: f32,
    pub text: String,
}

/// The operations a knowledge base needs from a vector store.
pub trait VectorIndex: Send + Sync {
    /// Where the index lives, for messages ("/run/kb/index", "http://qdrant:6334/adopt").
    fn location(&self) -> String;
    /// The spec of the existing index, `None` when none was created yet.
    fn spec(&self) -> Option<IndexSpec>;
    /// Creates the index if missing; an existing one is kept as it is.
    fn ensure(&mut self, spec: &IndexSpec) -> Result<()>;
    /// Drops everything and creates an empty index with `spec`.
    fn reset(&mut self, spec: &IndexSpec) -> Result<()>;
    /// Inserts or replaces chunks by their ids.
    fn upsert(&self, chunks: &[IndexedChunk<'_>]) -> Result<()>;
    /// Deletes every chunk of a document.
    fn delete_doc(&self, doc_id: &str) -> Result<()>;
    fn query(&self, query: &IndexQuery<'_>) -> Result<Vec<Hit>>;
    /// Exact number of chunks matching `filter`.
    fn count(&self, filter: &ChunkFilter) -> Result<usize>;
    /// Ids of the chunks stored for a document, sorted.
    fn chunk_ids(&self, doc_id: &str) -> Result<Vec<String>>;
    /// Builds search structures (HNSW, merged segments); slow, so once at the end of a build.
    fn optimize(&self) -> Result<()>;
    /// Makes every write durable.
    fn flush(&self) -> Result<()>;
}

/// Reciprocal rank fusion of ranked id lists: `score(d) = Σ_lists 1 / (k + rank(d))` with rank
/// counted from 0, exactly as Qdrant's RRF does (so `k` means the same in both). The index fuses
/// inside Qdrant; this one fuses lists computed elsewhere (the benchmark's in-memory baseline).
/// `k` below 1 is taken as 1.
pub fn reciprocal_rank_fusion<T: Clone + Eq + std::hash::Hash + Ord>(
    lists: &[Vec<T>],
    k: usize,
) -> Vec<(T, f32)> {
    let mut scores: std::collections::HashMap<T, f32> = std::collections::HashMap::new();
    for list in lists {
        for (i, id) in list.iter().enumerate() {
            *scores.entry(id.clone()).or_default() += 1.0 / (k.max(1) as f32 + i as f32);
        }
    }
    let mut out: Vec<(T, f32)> = scores.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_by_hand() {
        // k = 2, ranks from 0: a is at 0 and 1 -> 1/2 + 1/3; b the same; c at 2 once -> 1/4.
        let fused = reciprocal_rank_fusion(&[vec!["a", "b", "c"], vec!["b", "a"]], 2);
        assert_eq!(fused.len(), 3);
        assert!((fused[0].1 - (1.0 / 2.0 + 1.0 / 3.0)).abs() < 1e-6);
        assert_eq!((fused[0].0, fused[1].0), ("a", "b"), "ties broken by id");
        assert_eq!(fused[2], ("c", 1.0 / 4.0));
        // A document found by one list only ranks below one found by both.
        let fused = reciprocal_rank_fusion(&[vec![1, 2], vec![3, 2]], 60);
        assert_eq!(fused[0].0, 2);
    }

    #[test]
    fn modes_round_trip() {
        for m in SearchMode::ALL {
            assert_eq!(SearchMode::parse(m.as_str()), Some(m));
        }
        assert!(!SearchMode::Sparse.needs_dense());
    }
}
