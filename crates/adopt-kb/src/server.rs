//! [`VectorIndex`] over a Qdrant server (gRPC, qdrant-client): the same collection layout as the
//! embedded [`EdgeIndex`](crate::EdgeIndex) (dense cosine vector, sparse BM25 vector with the IDF
//! modifier, keyword indexes on the filter fields, RRF over two prefetches), for knowledge bases
//! shared by several users or too large for one run directory.
//!
//! Everything that knows qdrant-client's API lives in this file. The client is async; the index
//! owns a one-worker tokio runtime and blocks on it, so it must not be called from inside another
//! tokio runtime.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::r#match::MatchValue;
use qdrant_client::qdrant::vectors_config::Config as VectorsConfigKind;
use qdrant_client::qdrant::{
    CollectionInfo, CollectionStatus, Condition, CountPointsBuilder, CreateCollectionBuilder,
    CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance, FieldType, Filter, Fusion,
    Modifier, PointId, PointStruct, PrefetchQuery, Query, QueryPoints, Rrf, ScoredPoint,
    ScrollPointsBuilder, SparseVectorParamsBuilder, SparseVectorsConfigBuilder,
    UpsertPointsBuilder, Vector, VectorInput, VectorParamsBuilder, VectorsConfigBuilder,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use serde::{Deserialize, Serialize};

use crate::error::{KbError, Result};
use crate::index::{
    chunk_payload, hit_from_payload, ChunkFilter, Hit, IndexQuery, IndexSpec, IndexedChunk,
    SearchMode, VectorIndex, DENSE_VECTOR, KEYWORD_FIELDS, SPARSE_VECTOR,
};
use crate::sparse::SparseVec;

/// Qdrant's own RRF `k`: sent as the plain `Fusion::Rrf`, which servers older than 1.16 (no
/// parameterised RRF) understand too.
const QDRANT_DEFAULT_RRF_K: usize = 2;
/// Points per page when listing a document's chunks.
const SCROLL_PAGE: u32 = 1024;

/// Where and how to keep the knowledge base in a Qdrant server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ServerSettings {
    /// Collection holding the chunks; created on the first build.
    pub collection: String,
    /// Shards of a new collection (the server's default when unset).
    pub shard_number: Option<u32>,
    /// Copies of each shard in a new collection (the server's default when unset).
    pub replication_factor: Option<u32>,
    /// Replicas that must confirm a write in a new collection (the server's default when unset).
    pub write_consistency_factor: Option<u32>,
    /// Name of the environment variable holding the API key; the key itself never appears in
    /// settings, messages or logs.
    pub api_key_env: Option<String>,
    /// Seconds one request (and waiting for indexing in `optimize`) may take.
    pub timeout_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            collection: "adopt".into(),
            shard_number: None,
            replication_factor: None,
            write_consistency_factor: None,
            api_key_env: None,
            timeout_secs: 30,
        }
    }
}

impl ServerSettings {
    /// Every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        let name = &self.collection;
        if name.trim().is_empty() {
            errors.push("collection must not be empty".to_string());
        } else if name.len() > 255
            || name
                .chars()
                .any(|c| c.is_control() || "/\\:*?\"<>|".contains(c))
        {
            errors.push(format!(
                "collection {name:?} is not a valid Qdrant collection name (at most 255 bytes, \
                 none of / \\ : * ? \" < > | or control characters)"
            ));
        }
        for (field, value) in [
            ("shard-number", self.shard_number),
            ("replication-factor", self.replication_factor),
            ("write-consistency-factor", self.write_consistency_factor),
        ] {
            if value == Some(0) {
                errors.push(format!("{field} must be at least 1"));
            }
        }
        if let (Some(w), Some(r)) = (self.write_consistency_factor, self.replication_factor) {
            if w > r {
                errors.push(format!(
                    "write-consistency-factor {w} exceeds replication-factor {r}"
                ));
            }
        }
        if self.timeout_secs == 0 {
            errors.push("timeout-secs must be at least 1".into());
        }
        if let Some(var) = &self.api_key_env {
            if var.is_empty() {
                errors.push("api-key-env must name an environment variable".into());
            } else if std::env::var(var).map_or(true, |v| v.is_empty()) {
                errors.push(format!(
                    "api-key-env names {var}, which is not set in the environment"
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(KbError::Settings(errors.join("; ")))
        }
    }
}

/// A collection in a Qdrant server.
pub struct ServerIndex {
    url: String,
    settings: ServerSettings,
    client: Qdrant,
    runtime: tokio::runtime::Runtime,
    spec: Option<IndexSpec>,
}

impl std::fmt::Debug for ServerIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No client: its configuration holds the API key.
        f.debug_struct("ServerIndex")
            .field("url", &self.url)
            .field("settings", &self.settings)
            .field("spec", &self.spec)
            .finish()
    }
}

impl ServerIndex {
    /// Connects to the server's gRPC endpoint (`http://host:6334`) and reads the collection's
    /// spec if it exists; nothing is created until [`VectorIndex::ensure`] or
    /// [`VectorIndex::reset`]. Fails when the server cannot be reached, or when the collection
    /// exists but was not made by a knowledge base.
    pub fn connect(url: &str, settings: &ServerSettings) -> Result<Self> {
        let mut index = ServerIndex::unconnected(url, settings)?;
        index.run("connect", index.client.health_check())?;
        index.spec = index.read_spec("connect")?;
        Ok(index)
    }

    /// The client and runtime, without talking to the server (gRPC connects on first use).
    fn unconnected(url: &str, settings: &ServerSettings) -> Result<Self> {
        settings.validate()?;
        let url = url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(KbError::Settings(format!(
                "Qdrant URL {url:?} must start with http:// or https:// (the gRPC port, \
                 usually 6334)"
            )));
        }
        let api_key = settings
            .api_key_env
            .as_ref()
            .and_then(|var| std::env::var(var).ok());
        let timeout = Duration::from_secs(settings.timeout_secs);
        let client = Qdrant::from_url(&url)
            .api_key(api_key)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // The compatibility check prints to stdout; libraries do not print.
            .skip_compatibility_check()
            .build()
            .map_err(|e| {
                KbError::index(
                    format!("{url}/{}", settings.collection),
                    "connect",
                    e.to_string(),
                )
            })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("adopt-qdrant")
            .enable_all()
            .build()
            .map_err(|e| {
                KbError::index(
                    format!("{url}/{}", settings.collection),
                    "start the client runtime",
                    e,
                )
            })?;
        Ok(ServerIndex {
            url,
            settings: settings.clone(),
            client,
            runtime,
            spec: None,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn collection(&self) -> &str {
        &self.settings.collection
    }

    /// Deletes the collection with everything in it; a missing collection is not an error.
    pub fn delete_collection(&mut self) -> Result<()> {
        let name = self.settings.collection.clone();
        if self.run("check collection", self.client.collection_exists(&name))? {
            self.run("delete collection", self.client.delete_collection(&name))?;
        }
        self.spec = None;
        Ok(())
    }

    fn run<T>(
        &self,
        op: &str,
        request: impl Future<Output = std::result::Result<T, QdrantError>>,
    ) -> Result<T> {
        self.runtime
            .block_on(request)
            .map_err(|e| self.err(op, self.describe(&e)))
    }

    fn err(&self, op: impl Into<String>, reason: impl std::fmt::Display) -> KbError {
        KbError::index(self.location(), op, reason)
    }

    /// A client error in words a user can act on; the API key is never part of it.
    fn describe(&self, e: &QdrantError) -> String {
        match e {
            QdrantError::ResponseError { status } => {
                let msg = status.message();
                match status.code() as i32 {
                    code if is_unreachable(code, msg) => {
                        let why = if msg.contains("ConnectionRefused")
                            || msg.contains("Connection refused")
                        {
                            "connection refused".to_string()
                        } else if msg.contains("dns error") || msg.contains("failed to lookup") {
                            "host not found".to_string()
                        } else if msg.contains("timed out") || msg.contains("Elapsed") {
                            format!("no answer within {} s", self.settings.timeout_secs)
                        } else {
                            first_line(msg)
                        };
                        format!("no Qdrant server at {} ({why})", self.url)
                    }
                    _ if msg.contains("h2 protocol error")
                        || msg.contains("grpc-status header missing") =>
                    {
                        format!(
                            "the server at {} does not answer gRPC ({}): give Qdrant's gRPC \
                             port, usually 6334, not its REST port 6333",
                            self.url,
                            first_line(msg)
                        )
                    }
                    grpc_code::DEADLINE_EXCEEDED => format!(
                        "no answer within {} s (raise timeout-secs)",
                        self.settings.timeout_secs
                    ),
                    grpc_code::UNAUTHENTICATED | grpc_code::PERMISSION_DENIED => {
                        match &self.settings.api_key_env {
                            Some(var) => format!(
                                "the server refused the API key in ${var}: {}",
                                first_line(msg)
                            ),
                            None => format!(
                                "the server wants an API key: set api-key-env to the name of \
                                 the variable holding it ({})",
                                first_line(msg)
                            ),
                        }
                    }
                    _ => format!("{:?}: {}", status.code(), first_line(msg)),
                }
            }
            other => other.to_string(),
        }
    }

    fn read_spec(&self, op: &str) -> Result<Option<IndexSpec>> {
        let name = &self.settings.collection;
        if !self.run(op, self.client.collection_exists(name))? {
            return Ok(None);
        }
        let info = self
            .run(op, self.client.collection_info(name))?
            .result
            .ok_or_else(|| self.err(op, "the server sent no collection info"))?;
        spec_of(&info).map(Some).map_err(|e| self.err(op, e))
    }

    fn create(&mut self, spec: &IndexSpec) -> Result<()> {
        let name = self.settings.collection.clone();
        let mut sparse = SparseVectorsConfigBuilder::default();
        sparse.add_named_vector_params(
            SPARSE_VECTOR,
            SparseVectorParamsBuilder::default().modifier(Modifier::Idf as i32),
        );
        let mut request = CreateCollectionBuilder::new(&name).sparse_vectors_config(sparse);
        if let Some(dim) = spec.dense_dim {
            let mut dense = VectorsConfigBuilder::default();
            dense.add_named_vector_params(
                DENSE_VECTOR,
                VectorParamsBuilder::new(dim as u64, Distance::Cosine),
            );
            request = request.vectors_config(dense);
        }
        if let Some(n) = self.settings.shard_number {
            request = request.shard_number(n);
        }
        if let Some(n) = self.settings.replication_factor {
            request = request.replication_factor(n);
        }
        if let Some(n) = self.settings.write_consistency_factor {
            request = request.write_consistency_factor(n);
        }
        self.run("create collection", self.client.create_collection(request))?;
        for field in KEYWORD_FIELDS {
            self.run(
                &format!("create payload index on {field}"),
                self.client.create_field_index(
                    CreateFieldIndexCollectionBuilder::new(&name, field, FieldType::Keyword)
                        .wait(true),
                ),
            )?;
        }
        self.spec = Some(*spec);
        Ok(())
    }
}

/// gRPC status codes (fixed by the gRPC spec; qdrant-client does not re-export tonic's enum).
mod grpc_code {
    pub(super) const UNKNOWN: i32 = 2;
    pub(super) const DEADLINE_EXCEEDED: i32 = 4;
    pub(super) const PERMISSION_DENIED: i32 = 7;
    pub(super) const INTERNAL: i32 = 13;
    pub(super) const UNAVAILABLE: i32 = 14;
    pub(super) const UNAUTHENTICATED: i32 = 16;
}

/// Whether a gRPC status means no connection could be made (as opposed to a server answering
/// with an error). qdrant-client reports a failed connect as `Internal` "Failed to connect".
fn is_unreachable(code: i32, msg: &str) -> bool {
    code == grpc_code::UNAVAILABLE
        || ((code == grpc_code::INTERNAL || code == grpc_code::UNKNOWN)
            && (msg.contains("Failed to connect")
                || msg.contains("tcp connect error")
                || msg.contains("transport error")))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// The spec of a collection a knowledge base made; an error for any other collection, so that a
/// rebuild never deletes data it does not own.
fn spec_of(info: &CollectionInfo) -> std::result::Result<IndexSpec, String> {
    let params = info
        .config
        .as_ref()
        .and_then(|c| c.params.as_ref())
        .ok_or("the server sent no collection parameters")?;
    let has_sparse = params
        .sparse_vectors_config
        .as_ref()
        .is_some_and(|s| s.map.contains_key(SPARSE_VECTOR));
    let dense = match params
        .vectors_config
        .as_ref()
        .and_then(|v| v.config.as_ref())
    {
        Some(VectorsConfigKind::ParamsMap(m)) => Some(m.map.get(DENSE_VECTOR).map(|p| p.size)),
        Some(VectorsConfigKind::Params(_)) => None,
        None => Some(None),
    };
    match (has_sparse, dense) {
        (true, Some(dim)) => Ok(IndexSpec {
            dense_dim: dim.map(|d| d as usize),
        }),
        _ => Err(format!(
            "the collection exists but was not made by a knowledge base (it needs a sparse \
             vector {SPARSE_VECTOR:?} and at most a dense vector {DENSE_VECTOR:?}): choose \
             another collection or delete this one"
        )),
    }
}

fn filter_of(filter: &ChunkFilter) -> Option<Filter> {
    let mut conditions: Vec<Condition> = filter
        .conditions()
        .into_iter()
        .map(|(field, value)| keyword(field, value))
        .collect();
    if let Some((field, values)) = filter.any_of() {
        conditions.push(Condition::matches(field, values.to_vec()));
    }
    (!conditions.is_empty()).then(|| Filter::must(conditions))
}

/// An exact match of `value` on a keyword-indexed field. Not `Condition::matches(field,
/// String)`: qdrant-client turns a string with whitespace into a full-text match, which a
/// keyword index does not serve and which would not be exact ("Risk Management").
fn keyword(field: &str, value: &str) -> Condition {
    Condition::matches(field, MatchValue::Keyword(value.to_string()))
}

fn doc_filter(doc_id: &str) -> Filter {
    Filter::must([keyword("doc_id", doc_id)])
}

fn point_of(
    ic: &IndexedChunk<'_>,
    dense_dim: Option<usize>,
) -> std::result::Result<PointStruct, String> {
    let mut vectors: HashMap<String, Vector> = HashMap::new();
    vectors.insert(
        SPARSE_VECTOR.into(),
        Vector::new_sparse(ic.sparse.indices.clone(), ic.sparse.values.clone()),
    );
    if let Some(v) = ic.dense_for(dense_dim)? {
        vectors.insert(DENSE_VECTOR.into(), Vector::new_dense(v.to_vec()));
    }
    Ok(PointStruct {
        id: Some(PointId::from(ic.chunk.chunk_id.clone())),
        payload: Payload::from(chunk_payload(ic.chunk)).into(),
        vectors: Some(vectors.into()),
    })
}

fn id_string(id: Option<&PointId>) -> String {
    match id.and_then(|i| i.point_id_options.as_ref()) {
        Some(PointIdOptions::Uuid(u)) => u.clone(),
        Some(PointIdOptions::Num(n)) => n.to_string(),
        None => String::new(),
    }
}

fn hit_of(p: ScoredPoint) -> Hit {
    let payload: serde_json::Map<String, serde_json::Value> = Payload::from(p.payload).into();
    hit_from_payload(id_string(p.id.as_ref()), p.score, &payload)
}

fn sparse_input(v: &SparseVec) -> VectorInput {
    VectorInput::new_sparse(v.indices.clone(), v.values.clone())
}

fn rrf(k: usize) -> Query {
    if k == QDRANT_DEFAULT_RRF_K {
        Query::new_fusion(Fusion::Rrf)
    } else {
        Query::new_rrf(Rrf {
            k: Some(k.min(u32::MAX as usize) as u32),
            weights: Vec::new(),
        })
    }
}

/// Why a query cannot be sent.
#[derive(Debug, PartialEq)]
enum QueryProblem {
    NoDenseVectors,
    Missing(&'static str),
}

/// The Query API request for `q` on a collection of `spec`: one nearest-neighbour query, or for
/// hybrid two filtered prefetches (dense, sparse) fused by RRF, as in the embedded index.
fn query_points(
    collection: &str,
    spec: IndexSpec,
    q: &IndexQuery<'_>,
) -> std::result::Result<QueryPoints, QueryProblem> {
    let filter = filter_of(q.filter);
    let dense = || {
        if spec.dense_dim.is_none() {
            return Err(QueryProblem::NoDenseVectors);
        }
        let v = q
            .dense
            .ok_or(QueryProblem::Missing("no query vector given"))?;
        Ok((
            Query::new_nearest(VectorInput::new_dense(v.to_vec())),
            DENSE_VECTOR,
        ))
    };
    let sparse = || {
        let v = q
            .sparse
            .ok_or(QueryProblem::Missing("no sparse query given"))?;
        Ok((Query::new_nearest(sparse_input(v)), SPARSE_VECTOR))
    };
    let (prefetch, query, using) = match q.mode {
        SearchMode::Dense => {
            let (query, using) = dense()?;
            (Vec::new(), query, Some(using))
        }
        SearchMode::Sparse => {
            let (query, using) = sparse()?;
            (Vec::new(), query, Some(using))
        }
        SearchMode::Hybrid => {
            let limit = q.prefetch.max(q.limit) as u64;
            let prefetch = |(query, using): (Query, &str)| PrefetchQuery {
                query: Some(query),
                using: Some(using.to_string()),
                filter: filter.clone(),
                limit: Some(limit),
                ..PrefetchQuery::default()
            };
            (
                vec![prefetch(dense()?), prefetch(sparse()?)],
                rrf(q.rrf_k),
                None,
            )
        }
    };
    Ok(QueryPoints {
        collection_name: collection.to_string(),
        prefetch,
        query: Some(query),
        using: using.map(str::to_string),
        filter,
        limit: Some(q.limit as u64),
        with_payload: Some(true.into()),
        with_vectors: Some(false.into()),
        ..QueryPoints::default()
    })
}

impl VectorIndex for ServerIndex {
    fn location(&self) -> String {
        format!("{}/{}", self.url, self.settings.collection)
    }

    fn spec(&self) -> Option<IndexSpec> {
        self.spec
    }

    fn ensure(&mut self, spec: &IndexSpec) -> Result<()> {
        if self.spec.is_none() {
            // Another build may have created it since we connected.
            self.spec = self.read_spec("open")?;
        }
        match self.spec {
            Some(existing) if existing == *spec => Ok(()),
            Some(existing) => Err(self.err(
                "open",
                format!("collection holds {existing:?}, build wants {spec:?}"),
            )),
            None => self.create(spec),
        }
    }

    fn reset(&mut self, spec: &IndexSpec) -> Result<()> {
        self.delete_collection()?;
        self.create(spec)
    }

    fn upsert(&self, chunks: &[IndexedChunk<'_>]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let op = format!("upsert {} chunks", chunks.len());
        let Some(spec) = self.spec else {
            return Err(self.err(&op, "the collection has not been created yet"));
        };
        let points = chunks
            .iter()
            .map(|ic| point_of(ic, spec.dense_dim))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(&op, e))?;
        self.run(
            &op,
            self.client.upsert_points(
                UpsertPointsBuilder::new(&self.settings.collection, points).wait(true),
            ),
        )?;
        Ok(())
    }

    fn delete_doc(&self, doc_id: &str) -> Result<()> {
        let op = format!("delete chunks of doc {doc_id}");
        if self.spec.is_none() {
            return Err(self.err(&op, "the collection has not been created yet"));
        }
        self.run(
            &op,
            self.client.delete_points(
                DeletePointsBuilder::new(&self.settings.collection)
                    .points(doc_filter(doc_id))
                    .wait(true),
            ),
        )?;
        Ok(())
    }

    fn query(&self, q: &IndexQuery<'_>) -> Result<Vec<Hit>> {
        let op = format!("{} search", q.mode);
        let Some(spec) = self.spec else {
            return Err(self.err(&op, "the collection has not been created yet"));
        };
        let request =
            query_points(&self.settings.collection, spec, q).map_err(|problem| match problem {
                QueryProblem::NoDenseVectors => KbError::NoDenseVectors {
                    mode: q.mode.as_str(),
                    path: self.location(),
                },
                QueryProblem::Missing(what) => self.err(&op, what),
            })?;
        let response = self.run(&op, self.client.query(request))?;
        Ok(response.result.into_iter().map(hit_of).collect())
    }

    fn count(&self, filter: &ChunkFilter) -> Result<usize> {
        if self.spec.is_none() {
            return Ok(0);
        }
        let mut request = CountPointsBuilder::new(&self.settings.collection).exact(true);
        if let Some(f) = filter_of(filter) {
            request = request.filter(f);
        }
        let response = self.run("count", self.client.count(request))?;
        Ok(response.result.map_or(0, |r| r.count as usize))
    }

    fn chunks(&self, filter: &ChunkFilter, with_payload: bool) -> Result<Vec<Hit>> {
        if self.spec.is_none() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut offset: Option<PointId> = None;
        loop {
            let mut request = ScrollPointsBuilder::new(&self.settings.collection)
                .limit(SCROLL_PAGE)
                .with_payload(with_payload)
                .with_vectors(false);
            if let Some(f) = filter_of(filter) {
                request = request.filter(f);
            }
            if let Some(o) = offset.take() {
                request = request.offset(o);
            }
            let page = self.run("list chunks", self.client.scroll(request))?;
            out.extend(page.result.into_iter().map(|p| {
                let payload: serde_json::Map<String, serde_json::Value> =
                    Payload::from(p.payload).into();
                hit_from_payload(id_string(p.id.as_ref()), 0.0, &payload)
            }));
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// The server indexes in the background and answers correctly meanwhile; this waits (up to
    /// `timeout-secs`) for it to finish so that the build's timings include it.
    fn optimize(&self) -> Result<()> {
        if self.spec.is_none() {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(self.settings.timeout_secs);
        loop {
            let info = self
                .run(
                    "optimize",
                    self.client.collection_info(&self.settings.collection),
                )?
                .result
                .ok_or_else(|| self.err("optimize", "the server sent no collection info"))?;
            match CollectionStatus::try_from(info.status) {
                Ok(CollectionStatus::Yellow) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Ok(CollectionStatus::Red) => {
                    let why = info
                        .optimizer_status
                        .and_then(|s| (!s.error.is_empty()).then_some(s.error))
                        .unwrap_or_else(|| "no reason given".into());
                    return Err(self.err("optimize", format!("the collection is red: {why}")));
                }
                _ => return Ok(()),
            }
        }
    }

    /// Every write already waited for the server to apply it.
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{chunk_id, Chunk, ChunkKind};
    use qdrant_client::qdrant::{query, vector, CollectionConfig};

    #[test]
    fn settings_defaults_and_kebab_case() {
        let s = ServerSettings::default();
        assert_eq!(s.collection, "adopt");
        assert!(s.validate().is_ok());
        let parsed: ServerSettings = serde_json::from_str(
            r#"{"collection": "kb", "shard-number": 2, "replication-factor": 2,
                "write-consistency-factor": 1, "timeout-secs": 5}"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            ServerSettings {
                collection: "kb".into(),
                shard_number: Some(2),
                replication_factor: Some(2),
                write_consistency_factor: Some(1),
                api_key_env: None,
                timeout_secs: 5,
            }
        );
        let unknown = serde_json::from_str::<ServerSettings>(r#"{"api-key": "secret"}"#);
        assert!(unknown.unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn settings_report_every_problem() {
        let var = "ADOPT_KB_TEST_SURELY_UNSET_API_KEY_VAR";
        let s = ServerSettings {
            collection: "a/b".into(),
            shard_number: Some(0),
            replication_factor: Some(1),
            write_consistency_factor: Some(2),
            api_key_env: Some(var.into()),
            timeout_secs: 0,
        };
        let err = s.validate().unwrap_err().to_string();
        for part in [
            "\"a/b\" is not a valid",
            "shard-number must be at least 1",
            "write-consistency-factor 2 exceeds replication-factor 1",
            "timeout-secs must be at least 1",
            &format!("api-key-env names {var}, which is not set"),
        ] {
            assert!(err.contains(part), "{part:?} missing from {err}");
        }
        let empty = ServerSettings {
            collection: " ".into(),
            ..ServerSettings::default()
        };
        assert!(empty
            .validate()
            .unwrap_err()
            .to_string()
            .contains("collection must not be empty"));
    }

    /// Connecting where nobody listens fails fast and says where it looked.
    #[test]
    fn refused_connection_names_the_url() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}");
        let settings = ServerSettings {
            collection: "refused".into(),
            timeout_secs: 2,
            ..ServerSettings::default()
        };
        let started = Instant::now();
        let err = ServerIndex::connect(&url, &settings)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("no Qdrant server at {url}")),
            "unexpected error: {err}"
        );
        assert!(err.contains(&format!("{url}/refused")), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));

        let bad = ServerIndex::connect("localhost:6334", &settings).unwrap_err();
        assert!(bad.to_string().contains("http://"), "{bad}");
    }

    #[test]
    fn filters_become_must_match_conditions() {
        assert_eq!(filter_of(&ChunkFilter::default()), None);
        let f = filter_of(&ChunkFilter {
            department: Some("Risk Management".into()),
            doc_id: Some("doc 1".into()),
            source_path: Some("Risk Management/limits 2024.md".into()),
            departments: Some(vec!["Risk Management".into(), "hr".into()]),
        })
        .unwrap();
        // Values with spaces stay exact keyword matches, never full-text ones.
        let scope = f.must.last().and_then(|c| match &c.condition_one_of {
            Some(qdrant_client::qdrant::condition::ConditionOneOf::Field(fc)) => {
                fc.r#match.as_ref().and_then(|m| m.match_value.clone())
            }
            _ => None,
        });
        let Some(MatchValue::Keywords(any)) = scope else {
            panic!("the scope is not a keywords match: {f:?}")
        };
        assert_eq!(any.strings, ["Risk Management", "hr"]);
        assert_eq!(
            keyword_pairs(&Filter::must(f.must[..3].to_vec())),
            vec![
                ("department".to_string(), "Risk Management".to_string()),
                ("doc_id".to_string(), "doc 1".to_string()),
                (
                    "source_path".to_string(),
                    "Risk Management/limits 2024.md".to_string()
                ),
            ]
        );
        assert_eq!(
            keyword_pairs(&doc_filter("doc 1")),
            vec![("doc_id".to_string(), "doc 1".to_string())]
        );

        let f = filter_of(&ChunkFilter {
            department: Some("hr".into()),
            doc_id: None,
            source_path: Some("hr/leave.md".into()),
            departments: None,
        })
        .unwrap();
        assert!(f.should.is_empty() && f.must_not.is_empty());
        assert_eq!(
            keyword_pairs(&f),
            vec![
                ("department".to_string(), "hr".to_string()),
                ("source_path".to_string(), "hr/leave.md".to_string()),
            ]
        );
    }

    /// (field, value) of every condition of `f`, each of which must be an exact keyword match.
    fn keyword_pairs(f: &Filter) -> Vec<(String, String)> {
        f.must
            .iter()
            .map(|c| {
                let Some(qdrant_client::qdrant::condition::ConditionOneOf::Field(fc)) =
                    &c.condition_one_of
                else {
                    panic!("not a field condition: {c:?}")
                };
                let Some(MatchValue::Keyword(v)) =
                    fc.r#match.as_ref().and_then(|m| m.match_value.clone())
                else {
                    panic!("not a keyword match: {fc:?}")
                };
                (fc.key.clone(), v)
            })
            .collect()
    }

    fn sample_chunk() -> Chunk {
        let text = "员工每年享有十五天带薪年假";
        Chunk {
            chunk_id: chunk_id("doc-1", 0, 3, text),
            doc_id: "doc-1".into(),
            source_path: "hr/leave.md".into(),
            department: Some("hr".into()),
            title: Some("员工手册".into()),
            unit: "page 2".into(),
            unit_index: 1,
            chunk_index: 0,
            char_start: 3,
            char_end: 16,
            headings: vec!["员工手册".into(), "年假".into()],
            kind: ChunkKind::Text,
            text: text.into(),
            tokens: 9,
        }
    }

    /// A point's payload, read back as a search result, gives the same hit as the embedded
    /// index would (both go through `index::hit_from_payload`).
    #[test]
    fn point_payload_round_trips_to_a_hit() {
        let c = sample_chunk();
        let ic = IndexedChunk {
            chunk: &c,
            dense: Some(vec![0.6, 0.8]),
            sparse: SparseVec {
                indices: vec![3, 9],
                values: vec![1.5, 0.5],
            },
        };
        let point = point_of(&ic, Some(2)).unwrap();
        assert_eq!(id_string(point.id.as_ref()), c.chunk_id);
        let Some(qdrant_client::qdrant::vectors::VectorsOptions::Vectors(named)) = point
            .vectors
            .as_ref()
            .and_then(|v| v.vectors_options.as_ref())
        else {
            panic!("named vectors expected: {point:?}")
        };
        let mut names: Vec<&str> = named.vectors.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, [SPARSE_VECTOR, DENSE_VECTOR], "sorted by name");
        assert!(matches!(
            named.vectors[SPARSE_VECTOR].vector,
            Some(vector::Vector::Sparse(ref s)) if s.indices == [3, 9] && s.values == [1.5, 0.5]
        ));
        assert!(point_of(&ic, Some(3))
            .unwrap_err()
            .contains("the index wants 3"));
        assert_eq!(
            point_of(&ic, None).unwrap().vectors.unwrap(),
            point_of(
                &IndexedChunk {
                    dense: None,
                    ..ic.clone()
                },
                None
            )
            .unwrap()
            .vectors
            .unwrap()
        );

        let hit = hit_of(ScoredPoint {
            id: point.id.clone(),
            payload: point.payload.clone(),
            score: 0.25,
            ..ScoredPoint::default()
        });
        assert_eq!(
            hit,
            hit_from_payload(c.chunk_id.clone(), 0.25, &chunk_payload(&c))
        );
        assert_eq!(hit.headings, c.headings);
        assert_eq!((hit.char_start, hit.char_end), (3, 16));
        assert_eq!(hit.department.as_deref(), Some("hr"));
    }

    #[test]
    fn hybrid_query_is_two_filtered_prefetches_fused_by_rrf() {
        let dense = [0.6f32, 0.8];
        let sparse = SparseVec {
            indices: vec![1],
            values: vec![1.0],
        };
        let filter = ChunkFilter {
            department: Some("hr".into()),
            ..ChunkFilter::default()
        };
        let q = IndexQuery {
            mode: SearchMode::Hybrid,
            dense: Some(&dense),
            sparse: Some(&sparse),
            filter: &filter,
            limit: 5,
            prefetch: 50,
            rrf_k: 60,
        };
        let spec = IndexSpec { dense_dim: Some(2) };
        let r = query_points("kb", spec, &q).unwrap();
        assert_eq!(r.collection_name, "kb");
        assert_eq!(r.limit, Some(5));
        assert_eq!(r.using, None);
        assert!(r.filter.is_some());
        let usings: Vec<_> = r.prefetch.iter().map(|p| p.using.as_deref()).collect();
        assert_eq!(usings, [Some(DENSE_VECTOR), Some(SPARSE_VECTOR)]);
        assert!(r
            .prefetch
            .iter()
            .all(|p| p.limit == Some(50) && p.filter == r.filter));
        assert!(matches!(
            r.query.and_then(|q| q.variant),
            Some(query::Variant::Rrf(Rrf { k: Some(60), .. }))
        ));
        // Qdrant's default k goes as the plain fusion every server version knows.
        let r = query_points(
            "kb",
            spec,
            &IndexQuery {
                rrf_k: 2,
                ..q.clone()
            },
        )
        .unwrap();
        assert!(matches!(
            r.query.and_then(|q| q.variant),
            Some(query::Variant::Fusion(f)) if f == Fusion::Rrf as i32
        ));

        let sparse_only = query_points(
            "kb",
            spec,
            &IndexQuery {
                mode: SearchMode::Sparse,
                dense: None,
                ..q.clone()
            },
        )
        .unwrap();
        assert!(sparse_only.prefetch.is_empty());
        assert_eq!(sparse_only.using.as_deref(), Some(SPARSE_VECTOR));

        let keyword_only = IndexSpec { dense_dim: None };
        assert_eq!(
            query_points("kb", keyword_only, &q).unwrap_err(),
            QueryProblem::NoDenseVectors
        );
    }

    #[test]
    fn spec_is_read_back_and_foreign_collections_refused() {
        use qdrant_client::qdrant::{
            CollectionParams, SparseVectorConfig, SparseVectorParams, VectorParamsMap,
            VectorsConfig,
        };
        let info = |dense: Option<VectorsConfigKind>, sparse: &[&str]| CollectionInfo {
            config: Some(CollectionConfig {
                params: Some(CollectionParams {
                    vectors_config: dense.map(|c| VectorsConfig { config: Some(c) }),
                    sparse_vectors_config: Some(SparseVectorConfig {
                        map: sparse
                            .iter()
                            .map(|n| (n.to_string(), SparseVectorParams::default()))
                            .collect(),
                    }),
                    ..CollectionParams::default()
                }),
                ..CollectionConfig::default()
            }),
            ..CollectionInfo::default()
        };
        let named = |name: &str, size| {
            VectorsConfigKind::ParamsMap(VectorParamsMap {
                map: [(
                    name.to_string(),
                    VectorParamsBuilder::new(size, Distance::Cosine).build(),
                )]
                .into(),
            })
        };
        assert_eq!(
            spec_of(&info(Some(named(DENSE_VECTOR, 384)), &[SPARSE_VECTOR])),
            Ok(IndexSpec {
                dense_dim: Some(384)
            })
        );
        assert_eq!(
            spec_of(&info(None, &[SPARSE_VECTOR])),
            Ok(IndexSpec { dense_dim: None })
        );
        assert!(spec_of(&info(Some(named(DENSE_VECTOR, 384)), &[])).is_err());
        let unnamed =
            VectorsConfigKind::Params(VectorParamsBuilder::new(384, Distance::Cosine).build());
        assert!(spec_of(&info(Some(unnamed), &[SPARSE_VECTOR]))
            .unwrap_err()
            .contains("not made by a knowledge base"));
    }
}
