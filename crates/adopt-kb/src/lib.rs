//! The knowledge-base stage of `adopt`: cuts cleaned documents into structure-aware chunks,
//! gives each a dense vector (any [`adopt_core::Embedder`]) and a sparse BM25 vector (computed
//! here, CJK-aware), stores them in an embedded Qdrant (qdrant-edge) inside the run directory or
//! in a Qdrant server, and answers dense, keyword and hybrid queries. Rebuilds are incremental,
//! and retrieval can be evaluated on question/answer sets (hit@k, MRR, nDCG).

pub mod chunk;
pub mod cmrc;
pub mod edge;
pub mod error;
pub mod eval;
pub mod fusion;
pub mod index;
pub mod kb;
pub mod manifest;
pub mod server;
pub mod sparse;

pub use chunk::{approx_token_count, Chunk, ChunkKind, ChunkSettings, Chunker};
pub use cmrc::{load_cmrc, CmrcSet};
pub use edge::EdgeIndex;
pub use error::{KbError, Result};
pub use eval::{evaluate, read_eval_queries, write_eval_queries, EvalQuery, EvalReport, EvalTally};
pub use fusion::{fuse_dbsf, fuse_rrf, Fusion};
pub use index::{ChunkFilter, Hit, IndexQuery, IndexSpec, IndexedChunk, SearchMode, VectorIndex};
pub use kb::{BuildStats, KbPaths, KbSettings, KnowledgeBase, Query, SearchSettings};
pub use manifest::{document_hash, DocEntry, Manifest};
pub use server::{ServerIndex, ServerSettings};
pub use sparse::{Bm25Encoder, CjkTerms, MemoryBm25, SparseSettings, SparseVec, TermTokenizer};
