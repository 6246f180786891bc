//! The HTTP routes ([`ROUTES`]): health, the OpenAPI document, what the knowledge base holds,
//! search, and the OpenAI-compatible chat (in [`crate::chat`]).
//!
//! Answers and errors are JSON: `{"error": "..."}`, or OpenAI's `{"error": {"message": ...}}`
//! on the `/v1/chat/completions` and `/v1/models` routes OpenAI clients call. A search runs on
//! tokio's blocking pool (the knowledge base is synchronous, and a Qdrant-server index drives a
//! runtime of its own), at most `Limits::max_concurrent` at a time; answers from a model, at
//! most `Limits::max_concurrent_chats`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use adopt_core::Embedder;
use adopt_kb::{ChunkFilter, Hit, KnowledgeBase, Query, SearchMode};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::audit::AuditLog;
use crate::chat::ChatModels;
use crate::error::{Result, ServeError};
use crate::keys::{Access, KeyScope};
use crate::search::{Refusal, Route, SearchRequest};

/// Every route, as (method, path): what [`serve`] routes and the OpenAPI document describes.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/kb"),
    ("POST", "/v1/search"),
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/completions"),
];

/// Bounds on what one request may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted by `/v1/search` (and line read by the MCP server).
    pub body_bytes: usize,
    /// Largest body of a chat request (it carries the conversation).
    pub chat_body_bytes: usize,
    /// Largest `top_k`.
    pub max_top_k: usize,
    /// Searches running at once; more wait up to `queue_wait`, then get 503.
    pub max_concurrent: usize,
    pub queue_wait: Duration,
    /// A search taking longer is answered 504.
    pub search_timeout: Duration,
    /// Answers being generated at once; more wait up to `queue_wait`, then get 503.
    pub max_concurrent_chats: usize,
    /// An answer taking longer is answered 504 (streamed: ended with an error chunk).
    pub chat_timeout: Duration,
    /// Most tokens of an answer: the default `max_tokens`, and its ceiling.
    pub max_answer_tokens: u32,
    /// Characters of retrieved text put into a chat prompt.
    pub context_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 64 * 1024,
            chat_body_bytes: 1024 * 1024,
            max_top_k: 100,
            max_concurrent: 8,
            queue_wait: Duration::from_secs(5),
            search_timeout: Duration::from_secs(30),
            max_concurrent_chats: 2,
            chat_timeout: Duration::from_secs(300),
            max_answer_tokens: 1024,
            context_chars: 6000,
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
    /// The models behind `/v1/chat/completions`.
    pub chat: ChatModels,
}

/// Documents and chunks per department (`None`: chunks without one), counted once at start.
type Catalogue = BTreeMap<Option<String>, (BTreeSet<String>, usize)>;

pub(crate) struct Shared {
    pub(crate) state: ServeState,
    permits: Semaphore,
    pub(crate) chat_permits: Arc<Semaphore>,
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
        chat_permits: Arc::new(Semaphore::new(state.limits.max_concurrent_chats.max(1))),
        state,
        catalogue,
    });
    let app = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/v1/kb", get(kb_info))
        .route("/v1/search", post(search))
        .route("/v1/models", get(crate::chat::models))
        .route("/v1/chat/completions", post(crate::chat::completions))
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

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// OpenAI's error body, `{"error": {"message": "...", "type": "...", "code": null}}`, which
/// OpenAI clients show: on the routes they call.
pub(crate) fn openai_error(status: StatusCode, message: &str) -> Response {
    let kind = match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    };
    let body = json!({ "error": { "message": message, "type": kind, "code": null } });
    with_error_headers(status, json_response(status, &body))
}

fn error(status: StatusCode, message: &str) -> Response {
    with_error_headers(status, json_response(status, &json!({ "error": message })))
}

fn with_error_headers(status: StatusCode, mut r: Response) -> Response {
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
pub(crate) fn authorise(
    shared: &Shared,
    headers: &HeaderMap,
) -> std::result::Result<Option<KeyScope>, (StatusCode, &'static str)> {
    let Access::Keys(keys) = &shared.state.access else {
        return Ok(None);
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "missing API key: send the header `Authorization: Bearer KEY`",
        ));
    };
    let key = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    match key.and_then(|k| keys.scope_of(k)) {
        Some(scope) => Ok(Some(scope.clone())),
        None => Err((StatusCode::UNAUTHORIZED, "invalid API key")),
    }
}

/// The request's body, refused with 413 past `limit` bytes.
pub(crate) async fn read_body(
    request: Request,
    limit: usize,
) -> std::result::Result<Bytes, (StatusCode, String)> {
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over {limit} bytes"),
            )
        })
}

/// Runs `query` on the blocking pool, within the concurrency limit and the search timeout.
/// The caller writes the audit line (with the hits it keeps).
pub(crate) async fn scoped_search(
    shared: &Arc<Shared>,
    query: Query,
) -> std::result::Result<Vec<Hit>, Refusal> {
    let limits = shared.state.limits;
    let permit = match tokio::time::timeout(limits.queue_wait, shared.permits.acquire()).await {
        Ok(Ok(p)) => p,
        _ => return Err(Refusal::new(503, "too many searches at once")),
    };
    let worker = shared.clone();
    let job = tokio::task::spawn_blocking(move || {
        worker
            .state
            .kb
            .query(&query, worker.state.embedder.as_deref())
    });
    let hits = match tokio::time::timeout(limits.search_timeout, job).await {
        Ok(Ok(Ok(hits))) => hits,
        Ok(Ok(Err(e))) => return Err(Refusal::new(500, format!("search failed: {e}"))),
        Ok(Err(_)) => return Err(Refusal::new(500, "search failed")),
        Err(_) => return Err(Refusal::new(504, "search timed out")),
    };
    drop(permit);
    Ok(hits)
}

fn refusal(r: Refusal) -> Response {
    error(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &r.message,
    )
}

async fn openapi(State(shared): State<Arc<Shared>>) -> Response {
    let keys = matches!(shared.state.access, Access::Keys(_));
    json_response(StatusCode::OK, &crate::openapi::document(keys))
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

async fn kb_info(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let scope = match authorise(&shared, &headers) {
        Ok(s) => s,
        Err((status, message)) => return error(status, message),
    };
    let scope = scope.as_ref();
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

async fn search(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let scope = match authorise(&shared, request.headers()) {
        Ok(s) => s,
        Err((status, message)) => return error(status, message),
    };
    let body = match read_body(request, shared.state.limits.body_bytes).await {
        Ok(b) => b,
        Err((status, message)) => return error(status, &message),
    };
    let req: SearchRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")),
    };
    let planned = match shared.state.plan_search(scope.as_ref(), req, Route::Search) {
        Ok(p) => p,
        Err(r) => return refusal(r),
    };
    let (mode, top_k) = (planned.query.mode, planned.query.top_k);
    let hits = match scoped_search(&shared, planned.query).await {
        Ok(h) => h,
        Err(r) => return refusal(r),
    };
    if let Err(r) = shared.state.finish_audit(planned.audit, &hits) {
        return refusal(r);
    }
    json_response(
        StatusCode::OK,
        &json!({ "mode": mode.as_str(), "top_k": top_k, "hits": hits }),
    )
}
