//! The vector index as the rest of the crate sees it: a small trait, so that moving to a newer
//! qdrant-edge or to a Qdrant server is one file (`edge.rs`) and not a rewrite.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::chunk::Chunk;
use crate::error::Result;
use crate::sparse::SparseVec;

/// Name of the dense vector in every index we write.
pub const DENSE_VECTOR: &str = "dense";
/// Name of the sparse BM25 vector in every index we write.
pub const SPARSE_VECTOR: &str = "bm25";
/// Payload fields searches filter on ([`ChunkFilter`]); every backend indexes them as keywords.
pub(crate) const KEYWORD_FIELDS: [&str; 3] = ["department", "doc_id", "source_path"];

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

impl IndexedChunk<'_> {
    /// The dense vector to store in an index whose dense size is `dim`: `None` for a
    /// keyword-only index, an error when the chunk's vector is missing or of another length.
    pub(crate) fn dense_for(
        &self,
        dim: Option<usize>,
    ) -> std::result::Result<Option<&[f32]>, String> {
        match (&self.dense, dim) {
            (Some(v), Some(dim)) if v.len() == dim => Ok(Some(v)),
            (Some(v), Some(dim)) => Err(format!(
                "chunk {} has a {}-d vector, the index wants {dim}",
                self.chunk.chunk_id,
                v.len()
            )),
            (None, Some(_)) => Err(format!("chunk {} has no dense vector", self.chunk.chunk_id)),
            (_, None) => Ok(None),
        }
    }
}

/// The payload stored with every chunk, the same in every backend; [`hit_from_payload`] reads
/// it back.
pub(crate) fn chunk_payload(c: &Chunk) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("chunk_id".into(), json!(c.chunk_id));
    m.insert("doc_id".into(), json!(c.doc_id));
    m.insert("source_path".into(), json!(c.source_path));
    if let Some(d) = &c.department {
        m.insert("department".into(), json!(d));
    }
    if let Some(t) = &c.title {
        m.insert("title".into(), json!(t));
    }
    m.insert("unit".into(), json!(c.unit));
    m.insert("unit_index".into(), json!(c.unit_index));
    m.insert("chunk_index".into(), json!(c.chunk_index));
    m.insert("char_start".into(), json!(c.char_start));
    m.insert("char_end".into(), json!(c.char_end));
    m.insert("headings".into(), json!(c.headings));
    m.insert("kind".into(), json!(c.kind));
    m.insert("tokens".into(), json!(c.tokens));
    m.insert("text".into(), json!(c.text));
    m
}

/// A search result from a stored point's id, score and [`chunk_payload`]. Missing fields read as
/// empty rather than failing: a hit is still worth showing.
pub(crate) fn hit_from_payload(chunk_id: String, score: f32, payload: &Map<String, Value>) -> Hit {
    let s = |k: &str| {
        payload
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let n = |k: &str| payload.get(k).and_then(Value::as_u64).unwrap_or(0);
    Hit {
        chunk_id,
        doc_id: s("doc_id"),
        source_path: s("source_path"),
        department: payload
            .get("department")
            .and_then(Value::as_str)
            .map(str::to_string),
        unit: s("unit"),
        headings: payload
            .get("headings")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        char_start: n("char_start"),
        char_end: n("char_end"),
        score,
        text: s("text"),
    }
}

/// Which vectors a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Dense and sparse candidates fused into one ranking (see [`crate::Fusion`]).
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
    /// The department must be one of these (an access scope, as `adopt serve` applies per API
    /// key): a chunk without a department never matches, and an empty list matches nothing.
    pub departments: Option<Vec<String>>,
}

impl ChunkFilter {
    pub fn is_empty(&self) -> bool {
        self.department.is_none()
            && self.doc_id.is_none()
            && self.source_path.is_none()
            && self.departments.is_none()
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

    /// `(payload field, values)`: the field must equal one of the values (see `departments`).
    pub fn any_of(&self) -> Option<(&'static str, &[String])> {
        self.departments
            .as_deref()
            .map(|values| ("department", values))
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

impl Hit {
    /// `c` as a search result with `score`: what an index gives back for a stored chunk.
    pub fn of_chunk(c: &Chunk, score: f32) -> Hit {
        Hit {
            chunk_id: c.chunk_id.clone(),
            doc_id: c.doc_id.clone(),
            source_path: c.source_path.clone(),
            department: c.department.clone(),
            unit: c.unit.clone(),
            headings: c.headings.clone(),
            char_start: c.char_start,
            char_end: c.char_end,
            score,
            text: c.text.clone(),
        }
    }
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
    /// Every stored chunk matching `filter`, in no particular order, with score 0; with
    /// `with_payload` false only `chunk_id` is filled (cheap: for counting and comparing).
    fn chunks(&self, filter: &ChunkFilter, with_payload: bool) -> Result<Vec<Hit>>;
    /// Ids of the chunks stored for a document, sorted.
    fn chunk_ids(&self, doc_id: &str) -> Result<Vec<String>> {
        let filter = ChunkFilter {
            doc_id: Some(doc_id.to_string()),
            ..ChunkFilter::default()
        };
        let mut ids: Vec<String> = self
            .chunks(&filter, false)?
            .into_iter()
            .map(|h| h.chunk_id)
            .collect();
        ids.sort();
        Ok(ids)
    }
    /// Builds search structures (HNSW, merged segments); slow, so once at the end of a build.
    fn optimize(&self) -> Result<()>;
    /// Makes every write durable.
    fn flush(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_to_a_hit() {
        let text = "年假十五天";
        let c = Chunk {
            chunk_id: crate::chunk::chunk_id("d", 2, 7, text),
            doc_id: "d".into(),
            source_path: "hr/handbook.md".into(),
            department: Some("hr".into()),
            title: Some("Handbook".into()),
            unit: "page 3".into(),
            unit_index: 2,
            chunk_index: 4,
            char_start: 7,
            char_end: 12,
            headings: vec!["员工手册".into(), "年假".into()],
            kind: crate::chunk::ChunkKind::Text,
            text: text.into(),
            tokens: 5,
        };
        let p = chunk_payload(&c);
        for field in KEYWORD_FIELDS {
            assert!(p[field].is_string(), "{field} is stored as a keyword");
        }
        let hit = hit_from_payload(c.chunk_id.clone(), 0.5, &p);
        assert_eq!((hit.char_start, hit.char_end), (7, 12));
        assert_eq!(hit, Hit::of_chunk(&c, 0.5));
        let wrong = IndexedChunk {
            chunk: &c,
            dense: Some(vec![1.0; 2]),
            sparse: SparseVec::default(),
        };
        assert!(wrong.dense_for(Some(3)).unwrap_err().contains("2-d vector"));
        assert_eq!(wrong.dense_for(None).unwrap(), None);
        assert_eq!(wrong.dense_for(Some(2)).unwrap(), Some(&[1.0f32, 1.0][..]));
    }

    #[test]
    fn modes_round_trip() {
        for m in SearchMode::ALL {
            assert_eq!(SearchMode::parse(m.as_str()), Some(m));
        }
        assert!(!SearchMode::Sparse.needs_dense());
    }
}
