//! The HTTP routes: `GET /health`, `GET /v1/kb`, `POST /v1/search`.
//!
//! Answers and errors are JSON (`{"error": "..."}`). A search runs on tokio's blocking pool (the
//! knowledge base is synchronous, and a Qdrant-server index drives a runtime of its own), at
//! most `Limits::max_concurrent` at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use adopt_core::Embedder;
use adopt_kb::{ChunkFilter, Hit, KnowledgeBase, Query, SearchMode};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::audit::{AuditLog, AuditRecord};
use crate::error::{Result, ServeError};
use crate::keys::{sha256_hex, Access, KeyScope};

/// Bounds on what one request may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted.
    pub body_bytes: usize,
    /// Largest `top_k`.
    pub max_top_k: usize,
    /// Searches running at once; more wait up to `queue_wait`, then get 503.
    pub max_concurrent: usize,
    pub queue_wait: Duration,
    /// A search taking longer is answered 504.
    pub search_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 64 * 1024,
            max_top_k: 100,
            max_concurrent: 8,
            queue_wait: Duration::from_secs(5),
            search_timeout: Duration::from_secs(30),
        }
    }
}

/// What the server searches and who may: built by the caller, which opens the knowledge base
/// with its embedder exactly as `adopt kb query` does.
pub struct ServeState {
    pub kb: KnowledgeBase,
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Mode of a search that names none.
    pub default_mode: SearchMode,
    pub access: Access,
    /// `None`: audit log turned off.
    pub audit: Option<AuditLog>,
    pub limits: Limits,
}

/// Documents and chunks per department (`None`: chunks without one), counted once at start.
type Catalogue = BTreeMap<Option<String>, (BTreeSet<String>, usize)>;

struct Shared {
    state: ServeState,
    permits: Semaphore,
    catalogue: Catalogue,
}

/// Serves `state` on `listener` until Ctrl-C, on a runtime of `workers` threads.
pub fn serve(listener: std::net::TcpListener, state: ServeState, workers: usize) -> Result<()> {
    let mut catalogue = Catalogue::new();
    for c in state.kb.index().chunks(&ChunkFilter::default(), true)? {
        let entry = catalogue.entry(c.department).or_default();
        entry.0.insert(c.doc_id);
        entry.1 += 1;
    }
    let shared = Arc::new(Shared {
        permits: Semaphore::new(state.limits.max_concurrent.max(1)),
        state,
        catalogue,
    });
    let app = Router::new()
        .route("/health", get(health))
        .route("/v1/kb", get(kb_info))
        .route("/v1/search", post(search))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        })
        .with_state(shared.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()
        .map_err(|source| ServeError::Runtime {
            what: "start the server runtime",
            source,
        })?;
    let served = runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });
    // The knowledge base (a server index owns a runtime) is dropped outside the server's.
    drop(runtime);
    drop(shared);
    served.map_err(|source| ServeError::Runtime {
        what: "serve HTTP",
        source,
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut r = json_response(status, &json!({ "error": message }));
    match status {
        StatusCode::UNAUTHORIZED => {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    r
}

/// Who is asking: `Ok(None)` when access is open, the key's scope otherwise, or a 401.
fn authorise<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
) -> std::result::Result<Option<&'a KeyScope>, Box<Response>> {
    let Access::Keys(keys) = &shared.state.access else {
        return Ok(None);
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing API key: send the header `Authorization: Bearer KEY`",
        )));
    };
    let key = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    match key.and_then(|k| keys.scope_of(k)) {
        Some(scope) => Ok(Some(scope)),
        None => Err(Box::new(error(StatusCode::UNAUTHORIZED, "invalid API key"))),
    }
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

async fn kb_info(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let scope = match authorise(&shared, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let visible = |dept: &Option<String>| match (scope, dept) {
        (None, _) => true,
        (Some(s), Some(d)) => s.allows(d),
        (Some(_), None) => false,
    };
    let mut documents = BTreeSet::new();
    let mut chunks = 0;
    let mut departments = Vec::new();
    for (dept, (docs, n)) in shared.catalogue.iter().filter(|(d, _)| visible(d)) {
        documents.extend(docs.iter());
        chunks += n;
        departments.push(json!({ "name": dept, "documents": docs.len(), "chunks": n }));
    }
    let kb = &shared.state.kb;
    let modes: Vec<&str> = SearchMode::ALL
        .into_iter()
        .filter(|m| !m.needs_dense() || shared.state.embedder.is_some())
        .map(SearchMode::as_str)
        .collect();
    let search = kb.settings().search();
    json_response(
        StatusCode::OK,
        &json!({
            "documents": documents.len(),
            "chunks": chunks,
            "departments": departments,
            "embedding_model": kb.manifest().and_then(|m| m.embed_model.clone()),
            "modes": modes,
            "default_mode": shared.state.default_mode.as_str(),
            "search": {
                "fusion": search.fusion.as_str(),
                "rrf_k": search.rrf_k,
                "prefetch": search.prefetch,
            },
            "max_top_k": shared.state.limits.max_top_k,
        }),
    )
}

fn default_top_k() -> usize {
    5
}

/// The body of `POST /v1/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchRequest {
    query: String,
    #[serde(default = "default_top_k")]
    top_k: usize,
    /// `hybrid`, `dense` or `sparse`.
    mode: Option<String>,
    #[serde(default)]
    filter: RequestFilter,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFilter {
    department: Option<String>,
    doc_id: Option<String>,
    source_path: Option<String>,
}

async fn search(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let scope = match authorise(&shared, request.headers()) {
        Ok(s) => s.cloned(),
        Err(r) => return *r,
    };
    let limits = shared.state.limits;
    let body = match axum::body::to_bytes(request.into_body(), limits.body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body over {} bytes", limits.body_bytes),
            )
        }
    };
    let req: SearchRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")),
    };
    if req.query.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "query is empty");
    }
    if !(1..=limits.max_top_k).contains(&req.top_k) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("top_k must be from 1 to {}", limits.max_top_k),
        );
    }
    let mode = match req.mode.as_deref() {
        None => shared.state.default_mode,
        Some(m) => match SearchMode::parse(m) {
            Some(m) => m,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("mode {m:?}: expected hybrid, dense or sparse"),
                )
            }
        },
    };
    if mode.needs_dense() && shared.state.embedder.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "{mode} search needs dense vectors, but this knowledge base has no embedding \
                 model here; use mode \"sparse\""
            ),
        );
    }
    let mut audit = AuditRecord {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        key_id: scope.as_ref().map(|s| s.key_id.clone()),
        query_sha256: sha256_hex(req.query.as_bytes()),
        mode: mode.as_str().to_string(),
        top_k: req.top_k,
        status: 200,
        doc_ids: Vec::new(),
    };
    let filter = ChunkFilter {
        department: req.filter.department,
        doc_id: req.filter.doc_id,
        source_path: req.filter.source_path,
        // The key's departments are a condition of the index query: nothing outside them is
        // retrieved, so nothing has to be taken out of the answer.
        departments: scope.as_ref().map(|s| s.departments.clone()),
    };
    if let (Some(s), Some(d)) = (&scope, &filter.department) {
        if !s.allows(d) {
            audit.status = 403;
            if let Err(r) = write_audit(&shared, &audit) {
                return *r;
            }
            return error(
                StatusCode::FORBIDDEN,
                &format!("department {d:?} is outside this key's departments"),
            );
        }
    }
    let permit = match tokio::time::timeout(limits.queue_wait, shared.permits.acquire()).await {
        Ok(Ok(p)) => p,
        _ => return error(StatusCode::SERVICE_UNAVAILABLE, "too many searches at once"),
    };
    let query = Query {
        text: req.query,
        top_k: req.top_k,
        mode,
        filter,
    };
    let worker = shared.clone();
    let job = tokio::task::spawn_blocking(move || {
        worker
            .state
            .kb
            .query(&query, worker.state.embedder.as_deref())
    });
    let hits: Vec<Hit> = match tokio::time::timeout(limits.search_timeout, job).await {
        Ok(Ok(Ok(hits))) => hits,
        Ok(Ok(Err(e))) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("search failed: {e}"),
            )
        }
        Ok(Err(_)) => return error(StatusCode::INTERNAL_SERVER_ERROR, "search failed"),
        Err(_) => return error(StatusCode::GATEWAY_TIMEOUT, "search timed out"),
    };
    drop(permit);
    let mut seen = BTreeSet::new();
    audit.doc_ids = hits
        .iter()
        .filter(|h| seen.insert(h.doc_id.as_str()))
        .map(|h| h.doc_id.clone())
        .collect();
    if let Err(r) = write_audit(&shared, &audit) {
        return *r;
    }
    json_response(
        StatusCode::OK,
        &json!({ "mode": mode.as_str(), "top_k": audit.top_k, "hits": hits }),
    )
}

/// An answer that cannot be audited is not given.
fn write_audit(shared: &Shared, record: &AuditRecord) -> std::result::Result<(), Box<Response>> {
    match &shared.state.audit {
        None => Ok(()),
        Some(log) => log.write(record).map_err(|_| {
            Box::new(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not write the audit log",
            ))
        }),
    }
}
