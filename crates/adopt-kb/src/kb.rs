//! The knowledge base: build (incrementally) from documents, query, evaluate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use adopt_core::{Document, Embedder, Reporter, RunDir};
use serde::{Deserialize, Serialize};

use crate::chunk::{approx_token_count, Chunk, ChunkSettings, Chunker};
use crate::edge::EdgeIndex;
use crate::error::{KbError, Result};
use crate::fusion::Fusion;
use crate::index::{
    ChunkFilter, Hit, IndexQuery, IndexSpec, IndexedChunk, SearchMode, VectorIndex,
};
use crate::manifest::{document_hash, DocEntry, Manifest, MANIFEST_VERSION};
use crate::sparse::{Bm25Encoder, SparseSettings};

/// The most candidates one search fetches to find the end of a group of equal scores at its
/// cut; beyond it (thousands of identical chunks) the cut is left as the index made it.
const MAX_TIE_FETCH: usize = 4096;

/// Settings of a knowledge base, resolved from the pipeline file or command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct KbSettings {
    /// How documents are cut into chunks.
    pub chunking: ChunkSettings,
    /// BM25 tokenisation and parameters.
    pub sparse: SparseSettings,
    /// Chunks per upsert call.
    pub upsert_batch: usize,
    /// How hybrid search combines dense and sparse candidates.
    pub fusion: Fusion,
    /// `k` of reciprocal rank fusion (`fusion = "rrf"`; rank counted from 0, as in Qdrant).
    pub rrf_k: usize,
    /// Candidates each of dense and sparse search contributes to hybrid fusion.
    pub prefetch: usize,
}

/// The settings that shape answers rather than the index. The manifest records them, so a
/// later `adopt kb query` searches the way the build was configured to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SearchSettings {
    pub fusion: Fusion,
    pub rrf_k: usize,
    pub prefetch: usize,
}

impl Default for KbSettings {
    fn default() -> Self {
        KbSettings {
            chunking: ChunkSettings::default(),
            sparse: SparseSettings::default(),
            upsert_batch: 256,
            fusion: Fusion::default(),
            rrf_k: 60,
            prefetch: 50,
        }
    }
}

impl KbSettings {
    pub fn search(&self) -> SearchSettings {
        SearchSettings {
            fusion: self.fusion,
            rrf_k: self.rrf_k,
            prefetch: self.prefetch,
        }
    }

    pub fn with_search(self, s: SearchSettings) -> Self {
        KbSettings {
            fusion: s.fusion,
            rrf_k: s.rrf_k,
            prefetch: s.prefetch,
            ..self
        }
    }

    /// Every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut errors = self.chunking.validate().err().unwrap_or_default();
        if self.upsert_batch == 0 {
            errors.push("upsert-batch must be at least 1".into());
        }
        if self.prefetch == 0 {
            errors.push("prefetch must be at least 1".into());
        }
        if self.sparse.k1.is_nan() || self.sparse.k1 < 0.0 || !(0.0..=1.0).contains(&self.sparse.b)
        {
            errors.push(format!(
                "BM25 needs k1 >= 0 and 0 <= b <= 1 (got k1 = {}, b = {})",
                self.sparse.k1, self.sparse.b
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(KbError::Settings(errors.join("; ")))
        }
    }
}

/// Paths of a knowledge base inside a run directory.
#[derive(Debug, Clone)]
pub struct KbPaths {
    root: PathBuf,
}

impl KbPaths {
    pub fn new(kb_dir: impl Into<PathBuf>) -> Self {
        KbPaths {
            root: kb_dir.into(),
        }
    }

    /// `<run>/kb`.
    pub fn in_run(run: &RunDir) -> Self {
        KbPaths::new(run.kb_dir())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
}

/// What a build did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildStats {
    /// Set when everything was rebuilt, with the reason.
    pub full_rebuild: Option<String>,
    pub docs_total: usize,
    pub docs_added: usize,
    pub docs_changed: usize,
    pub docs_removed: usize,
    pub docs_unchanged: usize,
    pub chunks_upserted: usize,
    pub chunks_deleted: usize,
    /// Chunks in the index after the build.
    pub chunks_total: usize,
    /// Whether the index or manifest was written at all.
    pub wrote: bool,
    pub embed_seconds: f64,
    pub upsert_seconds: f64,
    pub optimize_seconds: f64,
    pub total_seconds: f64,
}

/// A search request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub text: String,
    pub top_k: usize,
    pub mode: SearchMode,
    pub filter: ChunkFilter,
}

impl Query {
    pub fn new(text: impl Into<String>, top_k: usize, mode: SearchMode) -> Self {
        Query {
            text: text.into(),
            top_k,
            mode,
            filter: ChunkFilter::default(),
        }
    }
}

/// A knowledge base: a vector index, its manifest, and the BM25 encoder it was built with.
pub struct KnowledgeBase {
    paths: KbPaths,
    settings: KbSettings,
    index: Box<dyn VectorIndex>,
    encoder: Bm25Encoder,
    manifest: Option<Manifest>,
}

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase")
            .field("paths", &self.paths)
            .field("index", &self.index.location())
            .finish()
    }
}

impl KnowledgeBase {
    /// Opens (or prepares to create) the embedded knowledge base in `paths`.
    pub fn open(paths: KbPaths, settings: KbSettings) -> Result<Self> {
        let index = EdgeIndex::open(&paths.index())?;
        Self::with_index(paths, settings, Box::new(index))
    }

    /// A knowledge base over any [`VectorIndex`] (a Qdrant server, say); the manifest still
    /// lives in `paths`.
    pub fn with_index(
        paths: KbPaths,
        settings: KbSettings,
        index: Box<dyn VectorIndex>,
    ) -> Result<Self> {
        settings.validate()?;
        let mut manifest = Manifest::read(&paths.manifest())?;
        // Query with what the index was built with; a build with other settings rebuilds anyway.
        let sparse = manifest
            .as_ref()
            .map(|m| m.sparse)
            .unwrap_or(settings.sparse);
        if index.spec().is_none() {
            // A manifest without its index (deleted by hand) describes nothing.
            manifest = None;
        }
        Ok(KnowledgeBase {
            paths,
            settings,
            index,
            encoder: Bm25Encoder::new(sparse),
            manifest,
        })
    }

    pub fn index(&self) -> &dyn VectorIndex {
        self.index.as_ref()
    }

    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    pub fn settings(&self) -> &KbSettings {
        &self.settings
    }

    /// Searches with the fusion, `rrf-k` and prefetch the last build recorded (when it did):
    /// for callers that open an existing knowledge base without its pipeline file.
    pub fn use_recorded_search(&mut self) {
        if let Some(s) = self.manifest.as_ref().and_then(|m| m.search) {
            self.settings = self.settings.clone().with_search(s);
        }
    }

    /// Searches with other fusion settings from now on.
    pub fn set_search(&mut self, s: SearchSettings) {
        self.settings = self.settings.clone().with_search(s);
    }

    /// Brings the index in line with `docs`: chunks of new and changed documents are upserted,
    /// chunks of documents no longer present are deleted, unchanged documents are not touched.
    /// With no change at all nothing is written. Without an embedder the knowledge base is
    /// keyword-only (sparse vectors).
    pub fn build(
        &mut self,
        docs: &[Document],
        embedder: Option<&dyn Embedder>,
        reporter: &dyn Reporter,
    ) -> Result<BuildStats> {
        let started = Instant::now();
        let mut stats = BuildStats {
            docs_total: docs.len(),
            ..Default::default()
        };
        let model = embedder.map(|e| e.model_id().to_string());
        let spec = IndexSpec {
            dense_dim: embedder.map(|e| e.dim()),
        };
        if self.encoder.settings() != &self.settings.sparse {
            self.encoder = Bm25Encoder::new(self.settings.sparse);
        }

        let full_reason = match &self.manifest {
            None if self.index.spec().is_some() => {
                Some("no manifest next to the index".to_string())
            }
            None => Some("new knowledge base".to_string()),
            Some(m) => m
                .full_rebuild_reason(
                    model.as_deref(),
                    &self.settings.chunking,
                    &self.settings.sparse,
                )
                .or_else(|| {
                    (m.dense_dim != spec.dense_dim).then(|| "vector size changed".to_string())
                }),
        };
        let old_docs = match (&full_reason, &self.manifest) {
            (None, Some(m)) => m.docs.clone(),
            _ => BTreeMap::new(),
        };

        // Decide per document before touching anything.
        let mut seen = BTreeSet::new();
        let mut todo: Vec<(&Document, String)> = Vec::new();
        for doc in docs {
            if !seen.insert(doc.doc_id.as_str()) {
                reporter.warn(&format!(
                    "{}: duplicate document id {}, indexed once",
                    doc.source_path, doc.doc_id
                ));
                continue;
            }
            let hash = document_hash(doc);
            match old_docs.get(&doc.doc_id) {
                Some(e) if e.hash == hash => stats.docs_unchanged += 1,
                Some(_) => {
                    stats.docs_changed += 1;
                    todo.push((doc, hash));
                }
                None => {
                    stats.docs_added += 1;
                    todo.push((doc, hash));
                }
            }
        }
        let removed: Vec<&String> = old_docs
            .keys()
            .filter(|id| !seen.contains(id.as_str()))
            .collect();
        stats.docs_removed = removed.len();
        // Collect names a document by its content, so an edited file comes back under a new id:
        // the same source path on both sides is one changed document, not one removed and one
        // added. (The work is the same: the old chunks go, the new ones come.)
        let removed_paths: BTreeSet<&str> = removed
            .iter()
            .filter_map(|id| old_docs.get(id.as_str()))
            .map(|e| e.source_path.as_str())
            .collect();
        let edited = todo
            .iter()
            .filter(|(d, _)| {
                !old_docs.contains_key(&d.doc_id) && removed_paths.contains(d.source_path.as_str())
            })
            .count();
        stats.docs_added -= edited;
        stats.docs_removed -= edited;
        stats.docs_changed += edited;

        if full_reason.is_none() && todo.is_empty() && removed.is_empty() {
            if let Some(m) = self.manifest.as_mut() {
                if m.search != Some(self.settings.search()) {
                    // Only how to search changed: record it, leave the index alone.
                    m.search = Some(self.settings.search());
                    m.write(&self.paths.manifest())?;
                }
            }
            stats.chunks_total = self.index.count(&ChunkFilter::default())?;
            stats.total_seconds = started.elapsed().as_secs_f64();
            return Ok(stats);
        }
        stats.wrote = true;

        if let Some(reason) = &full_reason {
            if self.manifest.is_some() || self.index.spec().is_some() {
                reporter.warn(&format!("rebuilding the whole knowledge base: {reason}"));
            }
            self.index.reset(&spec)?;
            stats.full_rebuild = Some(reason.clone());
        } else {
            self.index.ensure(&spec)?;
        }

        let mut manifest = match (&full_reason, self.manifest.take()) {
            (None, Some(m)) => m,
            _ => Manifest {
                version: MANIFEST_VERSION,
                embed_model: model.clone(),
                dense_dim: spec.dense_dim,
                chunking: self.settings.chunking.clone(),
                sparse: self.settings.sparse,
                avg_doc_len: 0.0,
                search: None,
                docs: BTreeMap::new(),
            },
        };
        manifest.search = Some(self.settings.search());

        for id in &removed {
            self.index.delete_doc(id)?;
            if let Some(e) = manifest.docs.remove(id.as_str()) {
                stats.chunks_deleted += e.chunk_ids.len();
            }
        }

        // Chunk everything to do first: a full build needs the average length of all chunks.
        let fallback_count = |t: &str| approx_token_count(t);
        let embed_count = |t: &str| embedder.map(|e| e.count_tokens(t)).unwrap_or(0);
        let count: &(dyn Fn(&str) -> usize + Sync) = if embedder.is_some() {
            &embed_count
        } else {
            &fallback_count
        };
        let chunker = Chunker::new(self.settings.chunking.clone(), count);
        reporter.start("chunk documents", todo.len() as u64);
        let mut per_doc: Vec<(&Document, String, Vec<Chunk>)> = Vec::with_capacity(todo.len());
        for (doc, hash) in todo {
            let chunks = chunker.chunk_document(doc);
            reporter.advance(&doc.source_path);
            per_doc.push((doc, hash, chunks));
        }
        reporter.finish();
        let texts: Vec<Vec<String>> = per_doc
            .iter()
            .map(|(_, _, cs)| cs.iter().map(Chunk::indexed_text).collect())
            .collect();
        if full_reason.is_some() {
            let (sum, n) = texts.iter().flatten().fold((0usize, 0usize), |(s, n), t| {
                (s + self.encoder.doc_len(t), n + 1)
            });
            manifest.avg_doc_len = if n == 0 { 1.0 } else { sum as f32 / n as f32 };
        }

        let total_chunks: usize = per_doc.iter().map(|d| d.2.len()).sum();
        reporter.start("index chunks", total_chunks as u64);
        for ((doc, hash, chunks), texts) in per_doc.iter().zip(&texts) {
            if old_docs.contains_key(&doc.doc_id) {
                // Changed in place: its old chunks may not match any new id.
                self.index.delete_doc(&doc.doc_id)?;
                stats.chunks_deleted += old_docs[&doc.doc_id].chunk_ids.len();
            }
            let batch = embedder
                .map(|e| e.batch_size())
                .unwrap_or(self.settings.upsert_batch)
                .clamp(1, self.settings.upsert_batch);
            for (cs, ts) in chunks.chunks(batch).zip(texts.chunks(batch)) {
                let t0 = Instant::now();
                let dense = match embedder {
                    Some(e) => Some(embed_batch(e, ts, doc)?),
                    None => None,
                };
                stats.embed_seconds += t0.elapsed().as_secs_f64();
                let t1 = Instant::now();
                let items: Vec<IndexedChunk> = cs
                    .iter()
                    .zip(ts)
                    .enumerate()
                    .map(|(i, (c, t))| IndexedChunk {
                        chunk: c,
                        dense: dense.as_ref().map(|d| d[i].clone()),
                        sparse: self.encoder.encode_document(t, manifest.avg_doc_len),
                    })
                    .collect();
                self.index.upsert(&items)?;
                stats.upsert_seconds += t1.elapsed().as_secs_f64();
                stats.chunks_upserted += cs.len();
                for c in cs {
                    reporter.advance(&c.source_path);
                }
            }
            manifest.docs.insert(
                doc.doc_id.clone(),
                DocEntry {
                    source_path: doc.source_path.clone(),
                    hash: hash.clone(),
                    chunk_ids: chunks.iter().map(|c| c.chunk_id.clone()).collect(),
                },
            );
        }
        reporter.finish();

        let t = Instant::now();
        reporter.start("optimize index", 1);
        self.index.optimize()?;
        self.index.flush()?;
        reporter.advance("index");
        reporter.finish();
        stats.optimize_seconds = t.elapsed().as_secs_f64();
        // The manifest goes last: after a crash it still describes less than the index holds,
        // and the next build redoes that part (upserts are idempotent).
        manifest.write(&self.paths.manifest())?;
        self.encoder = Bm25Encoder::new(manifest.sparse);
        self.manifest = Some(manifest);
        stats.chunks_total = self.index.count(&ChunkFilter::default())?;
        stats.total_seconds = started.elapsed().as_secs_f64();
        Ok(stats)
    }

    /// Every chunk the index holds that matches `filter`, with its payload, in reading order:
    /// by source path, then position in the document.
    pub fn chunks(&self, filter: &ChunkFilter) -> Result<Vec<Hit>> {
        let mut chunks = self.index.chunks(filter, true)?;
        chunks.sort_by(|a, b| {
            (
                &a.source_path,
                &a.doc_id,
                a.char_start,
                a.char_end,
                &a.chunk_id,
            )
                .cmp(&(
                    &b.source_path,
                    &b.doc_id,
                    b.char_start,
                    b.char_end,
                    &b.chunk_id,
                ))
        });
        Ok(chunks)
    }

    /// Searches the knowledge base. Dense and hybrid modes need the embedder the index was
    /// built with.
    pub fn query(&self, query: &Query, embedder: Option<&dyn Embedder>) -> Result<Vec<Hit>> {
        if query.top_k == 0 {
            return Ok(Vec::new());
        }
        let dense = if query.mode.needs_dense() {
            let Some(e) = embedder else {
                return Err(KbError::NoDenseVectors {
                    mode: query.mode.as_str(),
                    path: self.index.location(),
                });
            };
            if let Some(m) = &self.manifest {
                if m.embed_model.as_deref() != Some(e.model_id()) {
                    return Err(KbError::ModelMismatch {
                        path: self.index.location(),
                        built: m
                            .embed_model
                            .clone()
                            .unwrap_or_else(|| "no embedding model".into()),
                        given: e.model_id().to_string(),
                    });
                }
            }
            Some(
                e.embed_query(&query.text)
                    .map_err(|source| KbError::Embed {
                        what: format!("query {:?}", query.text),
                        source,
                    })?,
            )
        } else {
            None
        };
        let sparse =
            (query.mode != SearchMode::Dense).then(|| self.encoder.encode_query(&query.text));
        if self.index.spec().is_none() {
            return Ok(Vec::new());
        }
        let prefetch = self.settings.prefetch.max(query.top_k);
        let search = |mode: SearchMode, limit: usize| -> Result<Vec<Hit>> {
            // Equal scores are common (BM25 on short table rows, duplicated text) and an index
            // returns them in no fixed order, nor says which of a tied group made its cut. So
            // ask for more than `limit` until the group tied at the cut is complete, order
            // ties by chunk id, then cut: the same hits on every build of the same documents.
            let mut want = limit + 1;
            loop {
                let mut hits = self.index.query(&IndexQuery {
                    mode,
                    dense: dense.as_deref(),
                    sparse: sparse.as_ref(),
                    filter: &query.filter,
                    limit: want,
                    prefetch,
                    rrf_k: self.settings.rrf_k,
                })?;
                hits.sort_by(|a, b| {
                    b.score
                        .total_cmp(&a.score)
                        .then_with(|| a.chunk_id.cmp(&b.chunk_id))
                });
                let complete = hits.len() < want
                    || hits[limit - 1].score != hits[want - 1].score
                    || want >= MAX_TIE_FETCH.max(limit + 1);
                if complete {
                    hits.truncate(limit);
                    return Ok(hits);
                }
                want = (want * 4).min(MAX_TIE_FETCH.max(limit + 1));
            }
        };
        let mut hits = match query.mode {
            SearchMode::Hybrid => {
                // Fused here rather than in the index, so that ties rank the same on every
                // build and backend (see `fusion`).
                let lists = [
                    search(SearchMode::Dense, prefetch)?,
                    search(SearchMode::Sparse, prefetch)?,
                ];
                self.settings.fusion.fuse(&lists, self.settings.rrf_k)
            }
            mode => search(mode, query.top_k)?,
        };
        hits.truncate(query.top_k);
        Ok(hits)
    }
}

fn embed_batch(e: &dyn Embedder, texts: &[String], doc: &Document) -> Result<Vec<Vec<f32>>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let what = || format!("{} chunks of {}", texts.len(), doc.source_path);
    let vectors = e.embed_passages(&refs).map_err(|source| KbError::Embed {
        what: what(),
        source,
    })?;
    if vectors.len() != texts.len() || vectors.iter().any(|v| v.len() != e.dim()) {
        return Err(KbError::EmbedShape {
            what: what(),
            got: vectors.len(),
            dim: vectors
                .iter()
                .map(Vec::len)
                .find(|&l| l != e.dim())
                .unwrap_or(e.dim()),
            expected: texts.len(),
            expected_dim: e.dim(),
        });
    }
    Ok(vectors)
}
