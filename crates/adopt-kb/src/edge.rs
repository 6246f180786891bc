//! [`VectorIndex`] over embedded qdrant-edge 0.7.2: one shard in a folder of the run directory,
//! no server. Dense vectors use cosine distance; the sparse BM25 vector uses Qdrant's IDF
//! modifier; hybrid search is two prefetches fused by RRF inside the shard.
//!
//! Everything that knows qdrant-edge's API lives in this file (0.8+ needs Rust 1.96).

use std::path::{Path, PathBuf};

use qdrant_edge::external::serde_json::Value;
use qdrant_edge::external::uuid::Uuid;
use qdrant_edge::{
    Condition, CountRequest, CreateIndex, Distance, EdgeConfig, EdgeShard, EdgeSparseVectorParams,
    EdgeVectorParams, FieldCondition, FieldIndexOperations, Filter, Fusion, JsonPath, Match,
    Modifier, NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations,
    PointOperations, PointStruct, Prefetch, QueryEnum, QueryRequest, ScoredPoint, ScoringQuery,
    ScrollRequest, UpdateOperation, ValueVariants, Vector, VectorInternal, Vectors,
    WithPayloadInterface, WithVector,
};

use crate::error::{KbError, Result};
use crate::index::{
    chunk_payload, hit_from_payload, ChunkFilter, Hit, IndexQuery, IndexSpec, IndexedChunk,
    SearchMode, VectorIndex, DENSE_VECTOR, KEYWORD_FIELDS, SPARSE_VECTOR,
};
use crate::sparse::SparseVec;

/// File qdrant-edge writes its configuration to; its presence means a shard exists.
const EDGE_CONFIG_FILE: &str = "edge_config.json";

/// An embedded Qdrant shard on disk.
pub struct EdgeIndex {
    path: PathBuf,
    shard: Option<EdgeShard>,
    spec: Option<IndexSpec>,
}

impl std::fmt::Debug for EdgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeIndex")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .finish()
    }
}

impl EdgeIndex {
    /// Opens the shard at `path` if one exists; otherwise nothing is created until
    /// [`VectorIndex::ensure`] or [`VectorIndex::reset`].
    pub fn open(path: &Path) -> Result<Self> {
        let mut index = EdgeIndex {
            path: path.to_path_buf(),
            shard: None,
            spec: None,
        };
        if path.join(EDGE_CONFIG_FILE).is_file() {
            let shard = EdgeShard::load(path, None).map_err(|e| index.err("open", e))?;
            let dense_dim = shard.config().vectors.get(DENSE_VECTOR).map(|v| v.size);
            index.spec = Some(IndexSpec { dense_dim });
            index.shard = Some(shard);
        }
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, op: impl Into<String>, e: impl std::fmt::Display) -> KbError {
        KbError::index(self.path.display(), op, e)
    }

    fn shard(&self, op: &str) -> Result<&EdgeShard> {
        self.shard
            .as_ref()
            .ok_or_else(|| self.err(op, "no index has been built here yet"))
    }

    fn create(&mut self, spec: &IndexSpec) -> Result<()> {
        std::fs::create_dir_all(&self.path).map_err(|e| KbError::io(&self.path, e))?;
        let mut builder = EdgeConfig::builder().sparse_vector(
            SPARSE_VECTOR,
            EdgeSparseVectorParams::builder()
                .modifier(Modifier::Idf)
                .build(),
        );
        if let Some(dim) = spec.dense_dim {
            builder = builder.vector(
                DENSE_VECTOR,
                EdgeVectorParams::builder(dim, Distance::Cosine).build(),
            );
        }
        let shard =
            EdgeShard::new(&self.path, builder.build()).map_err(|e| self.err("create", e))?;
        for field in KEYWORD_FIELDS {
            shard
                .update(UpdateOperation::FieldIndexOperation(
                    FieldIndexOperations::CreateIndex(CreateIndex {
                        field_name: field_path(field),
                        field_schema: Some(PayloadFieldSchema::FieldType(
                            PayloadSchemaType::Keyword,
                        )),
                    }),
                ))
                .map_err(|e| self.err(format!("create payload index on {field}"), e))?;
        }
        self.shard = Some(shard);
        self.spec = Some(*spec);
        Ok(())
    }
}

fn filter_of(filter: &ChunkFilter) -> Option<Filter> {
    let mut conditions: Vec<Condition> = filter
        .conditions()
        .into_iter()
        .map(|(field, value)| keyword_condition(field, value))
        .collect();
    if let Some((field, values)) = filter.any_of() {
        conditions.push(Condition::Field(FieldCondition::new_match(
            field_path(field),
            Match::from(values.to_vec()),
        )));
    }
    if conditions.is_empty() {
        None
    } else {
        Some(Filter {
            must: Some(conditions),
            ..Filter::default()
        })
    }
}

/// Our payload field names are fixed identifiers, which always parse as JSON paths.
fn field_path(field: &str) -> JsonPath {
    field
        .parse()
        .expect("payload field names are plain identifiers")
}

fn keyword_condition(field: &str, value: &str) -> Condition {
    Condition::Field(FieldCondition::new_match(
        field_path(field),
        Match::new_value(ValueVariants::String(value.to_string())),
    ))
}

fn point_id(chunk_id: &str) -> std::result::Result<PointId, String> {
    Uuid::parse_str(chunk_id)
        .map(PointId::Uuid)
        .map_err(|e| format!("chunk id {chunk_id:?} is not a UUID: {e}"))
}

fn id_string(id: &PointId) -> String {
    match id {
        PointId::Uuid(u) => u.to_string(),
        PointId::NumId(n) => n.to_string(),
    }
}

fn sparse_vector(v: &SparseVec) -> std::result::Result<Vector, String> {
    Vector::new_sparse(v.indices.clone(), v.values.clone()).map_err(|e| e.to_string())
}

fn nearest(vector: VectorInternal, using: &str) -> ScoringQuery {
    ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
        query: vector,
        using: Some(using.to_string()),
    }))
}

fn hit_of(p: ScoredPoint) -> Hit {
    let payload = p.payload.map(|p| p.0).unwrap_or_default();
    hit_from_payload(id_string(&p.id), p.score, &payload)
}

impl VectorIndex for EdgeIndex {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn spec(&self) -> Option<IndexSpec> {
        self.spec
    }

    fn ensure(&mut self, spec: &IndexSpec) -> Result<()> {
        match self.spec {
            Some(existing) if existing == *spec => Ok(()),
            Some(existing) => Err(self.err(
                "open",
                format!("index holds {existing:?}, build wants {spec:?}"),
            )),
            None => self.create(spec),
        }
    }

    fn reset(&mut self, spec: &IndexSpec) -> Result<()> {
        // Drop the shard first: it flushes on drop and holds files open.
        self.shard = None;
        self.spec = None;
        if self.path.exists() {
            std::fs::remove_dir_all(&self.path).map_err(|e| KbError::io(&self.path, e))?;
        }
        self.create(spec)
    }

    fn upsert(&self, chunks: &[IndexedChunk<'_>]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let op = format!("upsert {} chunks", chunks.len());
        let shard = self.shard(&op)?;
        let want_dense = self.spec.and_then(|s| s.dense_dim);
        let mut points = Vec::with_capacity(chunks.len());
        for ic in chunks {
            let id = point_id(&ic.chunk.chunk_id).map_err(|e| self.err(&op, e))?;
            let mut named: Vec<(&str, Vector)> = vec![(
                SPARSE_VECTOR,
                sparse_vector(&ic.sparse).map_err(|e| self.err(&op, e))?,
            )];
            if let Some(v) = ic.dense_for(want_dense).map_err(|e| self.err(&op, e))? {
                named.push((DENSE_VECTOR, Vector::new_dense(v.to_vec())));
            }
            let payload = Value::Object(chunk_payload(ic.chunk));
            points.push(PointStruct::new(id, Vectors::new_named(named), payload).into());
        }
        shard
            .update(UpdateOperation::PointOperation(
                PointOperations::UpsertPoints(PointInsertOperations::PointsList(points)),
            ))
            .map_err(|e| self.err(&op, e))
    }

    fn delete_doc(&self, doc_id: &str) -> Result<()> {
        let op = format!("delete chunks of doc {doc_id}");
        let shard = self.shard(&op)?;
        shard
            .update(UpdateOperation::PointOperation(
                PointOperations::DeletePointsByFilter(Filter {
                    must: Some(vec![keyword_condition("doc_id", doc_id)]),
                    ..Filter::default()
                }),
            ))
            .map_err(|e| self.err(&op, e))
    }

    fn query(&self, q: &IndexQuery<'_>) -> Result<Vec<Hit>> {
        let op = format!("{} search", q.mode);
        let shard = self.shard(&op)?;
        let filter = filter_of(q.filter);
        let dense = || -> Result<ScoringQuery> {
            if self.spec.and_then(|s| s.dense_dim).is_none() {
                return Err(KbError::NoDenseVectors {
                    mode: q.mode.as_str(),
                    path: self.location(),
                });
            }
            let v = q
                .dense
                .ok_or_else(|| self.err(&op, "no query vector given"))?;
            Ok(nearest(VectorInternal::Dense(v.to_vec()), DENSE_VECTOR))
        };
        let sparse = || -> Result<ScoringQuery> {
            let v = q
                .sparse
                .ok_or_else(|| self.err(&op, "no sparse query given"))?;
            let v = sparse_vector(v).map_err(|e| self.err(&op, e))?;
            Ok(nearest(v.0, SPARSE_VECTOR))
        };
        let (prefetches, query) = match q.mode {
            SearchMode::Dense => (Vec::new(), dense()?),
            SearchMode::Sparse => (Vec::new(), sparse()?),
            SearchMode::Hybrid => {
                let prefetch = |query| Prefetch {
                    prefetches: Vec::new(),
                    query: Some(query),
                    limit: q.prefetch.max(q.limit),
                    params: None,
                    filter: filter.clone(),
                    score_threshold: None,
                };
                (
                    vec![prefetch(dense()?), prefetch(sparse()?)],
                    ScoringQuery::Fusion(Fusion::Rrf {
                        k: q.rrf_k,
                        weights: None,
                    }),
                )
            }
        };
        let request = QueryRequest {
            prefetches,
            query: Some(query),
            filter: filter.clone(),
            score_threshold: None,
            limit: q.limit,
            offset: 0,
            params: None,
            with_vector: WithVector::Bool(false),
            with_payload: WithPayloadInterface::Bool(true),
        };
        let points = shard.query(request).map_err(|e| self.err(&op, e))?;
        Ok(points.into_iter().map(hit_of).collect())
    }

    fn count(&self, filter: &ChunkFilter) -> Result<usize> {
        let Some(shard) = self.shard.as_ref() else {
            return Ok(0);
        };
        shard
            .count(CountRequest {
                filter: filter_of(filter),
                exact: true,
            })
            .map_err(|e| self.err("count", e))
    }

    fn chunks(&self, filter: &ChunkFilter, with_payload: bool) -> Result<Vec<Hit>> {
        let Some(shard) = self.shard.as_ref() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut offset = None;
        loop {
            let (records, next) = shard
                .scroll(ScrollRequest {
                    offset,
                    limit: Some(1024),
                    filter: filter_of(filter),
                    with_payload: Some(WithPayloadInterface::Bool(with_payload)),
                    with_vector: WithVector::Bool(false),
                    order_by: None,
                })
                .map_err(|e| self.err("list chunks", e))?;
            out.extend(records.into_iter().map(|r| {
                let payload = r.payload.map(|p| p.0).unwrap_or_default();
                hit_from_payload(id_string(&r.id), 0.0, &payload)
            }));
            match next {
                Some(n) => offset = Some(n),
                None => break,
            }
        }
        Ok(out)
    }

    fn optimize(&self) -> Result<()> {
        if let Some(shard) = &self.shard {
            shard.optimize().map_err(|e| self.err("optimize", e))?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        if let Some(shard) = &self.shard {
            shard.flush();
        }
        Ok(())
    }
}
