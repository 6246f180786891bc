//! What a knowledge base was built from, so that a rebuild touches only what changed.
//!
//! `<run>/kb/manifest.json` maps each document to a hash of everything that goes into its chunks
//! and to the chunk ids it produced, next to the embedding model and the chunking and BM25
//! settings. A different model or different settings make every stored vector stale, so they
//! force a full rebuild.

use std::collections::BTreeMap;
use std::path::Path;

use adopt_core::Document;
use serde::{Deserialize, Serialize};

use crate::chunk::ChunkSettings;
use crate::error::{KbError, Result};
use crate::kb::SearchSettings;
use crate::sparse::SparseSettings;

/// Bumped when the chunk or vector layout changes in a way old indexes cannot serve.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// `Embedder::model_id`, or `None` for a keyword-only knowledge base.
    pub embed_model: Option<String>,
    pub dense_dim: Option<usize>,
    pub chunking: ChunkSettings,
    pub sparse: SparseSettings,
    /// Average BM25 document length, fixed at the last full build so that stored document
    /// vectors stay comparable as documents come and go.
    pub avg_doc_len: f32,
    /// How the build was configured to search (absent in manifests of older builds).
    #[serde(default)]
    pub search: Option<SearchSettings>,
    pub docs: BTreeMap<String, DocEntry>,
}

/// One indexed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocEntry {
    pub source_path: String,
    /// BLAKE3 of the document's text, unit labels, path, department and title.
    pub hash: String,
    pub chunk_ids: Vec<String>,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Option<Manifest>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(KbError::io(path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| KbError::Parse {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| KbError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        adopt_core::layout::write_atomic(path, &bytes).map_err(|e| KbError::io(path, e))
    }

    /// Why this manifest cannot be updated incrementally to the given model and settings, if so.
    pub fn full_rebuild_reason(
        &self,
        embed_model: Option<&str>,
        chunking: &ChunkSettings,
        sparse: &SparseSettings,
    ) -> Option<String> {
        if self.version != MANIFEST_VERSION {
            return Some(format!(
                "index format changed (version {} -> {MANIFEST_VERSION})",
                self.version
            ));
        }
        if self.embed_model.as_deref() != embed_model {
            return Some(format!(
                "embedding model changed ({} -> {})",
                self.embed_model.as_deref().unwrap_or("none"),
                embed_model.unwrap_or("none")
            ));
        }
        if &self.chunking != chunking {
            return Some("chunk settings changed".to_string());
        }
        if &self.sparse != sparse {
            return Some("BM25 settings changed".to_string());
        }
        None
    }
}

/// The hash that decides whether a document must be re-chunked: everything its chunks and their
/// payloads are made of.
pub fn document_hash(doc: &Document) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        doc.doc_id.as_str(),
        doc.source_path.as_str(),
        doc.department.as_deref().unwrap_or("\u{0}none"),
        doc.title.as_deref().unwrap_or("\u{0}none"),
    ] {
        h.update(part.as_bytes());
        h.update(&[0xff]);
    }
    for l in &doc.unit_labels {
        h.update(l.as_bytes());
        h.update(&[0xfe]);
    }
    h.update(doc.text.as_bytes());
    h.finalize().to_hex()[..32].to_string()
}
