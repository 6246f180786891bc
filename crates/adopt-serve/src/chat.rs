//! `POST /v1/chat/completions` (OpenAI-compatible) and `GET /v1/models`: answers from the
//! trial's models, grounded on the knowledge base.
//!
//! The last user message is searched exactly as `POST /v1/search` searches (the key's
//! departments a condition of the index query), the chunks found go into the system message as
//! numbered context, and the answer comes back with those chunks as `sources` beside `choices`,
//! whole or as SSE `chat.completion.chunk` events ending with `data: [DONE]`. The models are
//! the trial file's and are called through adopt-trial's client (any OpenAI-compatible
//! endpoint) or adopt-local's engine (`base-url = "local:..."`), loaded on first use.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use adopt_kb::Hit;
use adopt_trial::{
    ChatModel, ChatRequest, ChatResponse, Message, ModelConfig, OpenAiCompatible, ProviderError,
    RequestParams, TrialConfig,
};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{authorise, json_response, openai_error, read_body, scoped_search, Shared};
use crate::error::{Result, ServeError};
use crate::search::{RequestFilter, Route, SearchRequest};

/// Chunks retrieved for a chat request that does not say.
const DEFAULT_CONTEXT_CHUNKS: usize = 4;

/// The trial's models, each loaded (or its HTTP client built) on first use.
pub struct ChatModels {
    trial: TrialConfig,
    /// Answers requests that name no model.
    default: Option<String>,
    entries: Vec<ChatEntry>,
}

struct ChatEntry {
    config: ModelConfig,
    client: OnceLock<std::result::Result<Arc<dyn ChatModel>, String>>,
}

impl std::fmt::Debug for ChatModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModels")
            .field("default", &self.default)
            .field("models", &self.names())
            .finish()
    }
}

impl ChatModels {
    /// No models: the chat route answers 503.
    pub fn none() -> Self {
        ChatModels {
            trial: TrialConfig::default(),
            default: None,
            entries: Vec::new(),
        }
    }

    /// The models of `trial`. `default` names the one answering requests that name none
    /// (default: the trial's first model that is not judge-only); it is loaded now, so that a
    /// missing file or API key stops the server from starting. Every problem is reported at once.
    pub fn from_trial(trial: TrialConfig, default: Option<&str>) -> Result<Self> {
        let mut problems = Vec::new();
        for (i, m) in trial.models.iter().enumerate() {
            m.validate_endpoint(&format!("models[{i}] ({})", m.name), &mut problems);
        }
        let default = match default {
            Some(name) => match trial.models.iter().find(|m| m.name == name) {
                Some(m) => Some(m.name.clone()),
                None => {
                    problems.push(format!(
                        "--model {name:?} is not one of the trial's models ({})",
                        names_of(&trial.models).join(", ")
                    ));
                    None
                }
            },
            None => trial.swept_models().next().map(|m| m.name.clone()),
        };
        if trial.models.is_empty() {
            problems.push("the trial file has no [[trial.models]]".into());
        }
        let entries = trial
            .models
            .iter()
            .map(|m| ChatEntry {
                config: m.clone(),
                client: OnceLock::new(),
            })
            .collect();
        let models = ChatModels {
            trial,
            default,
            entries,
        };
        if problems.is_empty() {
            if let Some(name) = &models.default {
                if let Err(why) = models.get(Some(name.as_str())) {
                    problems.push(why.message);
                }
            }
        }
        if problems.is_empty() {
            Ok(models)
        } else {
            Err(ServeError::Chat(problems))
        }
    }

    /// Model names, in the trial file's order.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.config.name.clone()).collect()
    }

    pub fn default_model(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// The model a request names (the trial's name for it, or the id it is served under), or
    /// the default; loaded if it was not yet.
    fn get(&self, requested: Option<&str>) -> std::result::Result<Loaded<'_>, ChatFailure> {
        if self.entries.is_empty() {
            return Err(ChatFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no chat model: start `adopt serve` with --trial FILE (a trial or pipeline \
                 file whose models answer)",
            ));
        }
        let name = requested.or(self.default.as_deref());
        let entry = match name {
            None => None,
            Some(n) => self
                .entries
                .iter()
                .find(|e| e.config.name == n)
                .or_else(|| self.entries.iter().find(|e| e.config.model == n)),
        };
        let Some(entry) = entry else {
            return Err(ChatFailure::new(
                StatusCode::NOT_FOUND,
                format!(
                    "model {:?} is not one of this server's models ({})",
                    name.unwrap_or(""),
                    self.names().join(", ")
                ),
            ));
        };
        let client = entry
            .client
            .get_or_init(|| load_model(&self.trial, &entry.config));
        match client {
            Ok(c) => Ok(Loaded {
                config: &entry.config,
                defaults: &self.trial.defaults,
                client: c.clone(),
            }),
            Err(why) => Err(ChatFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                why.clone(),
            )),
        }
    }
}

fn names_of(models: &[ModelConfig]) -> Vec<String> {
    models.iter().map(|m| m.name.clone()).collect()
}

/// The client of one model, as the trial would build it.
fn load_model(
    trial: &TrialConfig,
    m: &ModelConfig,
) -> std::result::Result<Arc<dyn ChatModel>, String> {
    let url = m
        .base_url
        .clone()
        .or_else(|| m.provider.default_base_url().map(str::to_string))
        .ok_or_else(|| format!("model {}: no base-url", m.name))?;
    if url.starts_with(adopt_local::LOCAL_SCHEME) {
        let single = TrialConfig {
            models: vec![m.clone()],
            ..trial.clone()
        };
        if let Some((_, entry, why)) = adopt_local::uninstalled_models(&single).into_iter().next() {
            return Err(format!(
                "model {}: {} is {why}; install it with `{}`",
                m.name,
                entry.id,
                entry.fetch_command()
            ));
        }
        let mut clients = adopt_local::local_clients(&single).map_err(|e| e.to_string())?;
        return clients
            .remove(&m.name)
            .ok_or_else(|| format!("model {}: the local engine did not load it", m.name));
    }
    OpenAiCompatible::new(m.endpoint(&url))
        .map(|c| Arc::new(c) as Arc<dyn ChatModel>)
        .map_err(|e| e.to_string())
}

struct Loaded<'a> {
    config: &'a ModelConfig,
    defaults: &'a RequestParams,
    client: Arc<dyn ChatModel>,
}

/// A chat request that is not answered: status and message, in OpenAI's error shape.
#[derive(Debug)]
struct ChatFailure {
    status: StatusCode,
    message: String,
}

impl ChatFailure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ChatFailure {
            status,
            message: message.into(),
        }
    }

    fn response(self) -> Response {
        openai_error(self.status, &self.message)
    }
}

/// The body of `POST /v1/chat/completions`: OpenAI's fields this server uses; others that
/// OpenAI clients send (`user`, `presence_penalty`, ...) are ignored.
#[derive(Debug, Deserialize)]
struct CompletionRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<MessageIn>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    stop: Option<StopIn>,
    #[serde(default)]
    n: Option<u32>,
    /// adopt's own: how to retrieve the context.
    #[serde(default)]
    retrieval: Option<Retrieval>,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StopIn {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct MessageIn {
    role: String,
    #[serde(default)]
    content: Option<ContentIn>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ContentIn {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
struct ContentPart {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

/// How the context of a chat request is retrieved (adopt's extension of the request).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Retrieval {
    #[serde(default)]
    top_k: Option<usize>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    filter: RequestFilter,
}

/// The conversation as plain messages; system and developer messages become `system`.
fn conversation(messages: Vec<MessageIn>) -> std::result::Result<Vec<Message>, String> {
    if messages.is_empty() {
        return Err("messages is empty".into());
    }
    let mut out = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "system" | "developer" => "system",
            "user" => "user",
            "assistant" => "assistant",
            other => {
                return Err(format!(
                    "messages[{i}]: role {other:?} is not supported (system, developer, user, \
                     assistant)"
                ))
            }
        };
        let content = match m.content {
            None => String::new(),
            Some(ContentIn::Text(t)) => t,
            Some(ContentIn::Parts(parts)) => {
                let mut text = Vec::new();
                for p in parts {
                    match (p.kind.as_str(), p.text) {
                        ("text", Some(t)) => text.push(t),
                        (kind, _) => {
                            return Err(format!(
                                "messages[{i}]: content of type {kind:?} is not supported (text)"
                            ))
                        }
                    }
                }
                text.join("\n")
            }
        };
        out.push(Message {
            role: role.into(),
            content,
        });
    }
    Ok(out)
}

/// What the model is told before the conversation.
const INSTRUCTIONS: &str = "You answer questions from the organisation's documents. Use only \
the numbered context below, and cite the numbers of the passages you use, like [1]. If the \
context does not hold the answer, say that the documents do not say.";

/// The messages sent to the model: one system message (the instructions, the numbered
/// context, then the client's own system messages), then the rest of the conversation. The
/// context holds the hits in rank order while they fit in `context_chars` (a hit that does not
/// fit whole is cut, if enough of it fits); returns how many hits it holds, which are the
/// answer's sources. Nothing but `hits` goes into the context.
pub fn build_prompt(
    conversation: &[Message],
    hits: &[Hit],
    context_chars: usize,
) -> (Vec<Message>, usize) {
    /// A cut smaller than this is left out instead.
    const MIN_PASSAGE: usize = 200;
    let mut context = String::new();
    let mut used = 0;
    let mut left = context_chars;
    for (i, h) in hits.iter().enumerate() {
        let mut label = format!("[{}] {}", i + 1, h.source_path);
        if !h.unit.is_empty() {
            label.push_str(&format!(" ({})", h.unit));
        }
        if !h.headings.is_empty() {
            label.push_str(&format!(" - {}", h.headings.join(" > ")));
        }
        let text = h.text.trim();
        let room = left.saturating_sub(label.chars().count() + 3);
        let chars = text.chars().count();
        let passage: String = if chars <= room {
            text.to_string()
        } else if room >= MIN_PASSAGE {
            text.chars().take(room).collect::<String>() + "..."
        } else {
            break;
        };
        context.push_str(&format!("{label}\n{passage}\n\n"));
        left = left.saturating_sub(label.chars().count() + passage.chars().count() + 3);
        used += 1;
    }
    let mut system = format!("{INSTRUCTIONS}\n\nContext:\n");
    if used == 0 {
        system.push_str("(no passage of the documents matches the question)\n");
    } else {
        system.push_str(context.trim_end());
        system.push('\n');
    }
    for m in conversation.iter().filter(|m| m.role == "system") {
        system.push('\n');
        system.push_str(&m.content);
    }
    let mut messages = vec![Message::system(system.trim_end())];
    messages.extend(conversation.iter().filter(|m| m.role != "system").cloned());
    (messages, used)
}

/// `chatcmpl-` and 24 hex digits, different for every answer of this process.
fn completion_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = format!("{}-{}-{n}", std::process::id(), now.as_nanos());
    format!(
        "chatcmpl-{}",
        &crate::keys::sha256_hex(seed.as_bytes())[..24]
    )
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `sources`: the chunks in the prompt, numbered as the prompt numbers them.
fn sources(hits: &[Hit]) -> Value {
    Value::Array(
        hits.iter()
            .enumerate()
            .map(|(i, h)| {
                let mut v = serde_json::to_value(h).expect("hits serialise");
                v["index"] = json!(i + 1);
                v
            })
            .collect(),
    )
}

fn usage(r: &ChatResponse) -> Value {
    json!({
        "prompt_tokens": r.input_tokens,
        "completion_tokens": r.output_tokens,
        "total_tokens": r.input_tokens + r.output_tokens,
    })
}

/// A model failure as the caller sees it: the model's endpoint is our upstream.
fn model_failure(e: &ProviderError) -> ChatFailure {
    let status = if e.is_transient() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_GATEWAY
    };
    ChatFailure::new(status, format!("the model failed: {e}"))
}

/// What a request resolved to before the model is called.
struct Prepared {
    model: String,
    client: Arc<dyn ChatModel>,
    request: ChatRequest,
    sources: Vec<Hit>,
    include_usage: bool,
}

async fn prepare(
    shared: &Arc<Shared>,
    request: Request,
) -> std::result::Result<(Prepared, bool), ChatFailure> {
    let scope = authorise(shared, request.headers())
        .map_err(|(status, message)| ChatFailure::new(status, message))?;
    let limits = shared.state.limits;
    let body = read_body(request, limits.chat_body_bytes)
        .await
        .map_err(|(status, message)| ChatFailure::new(status, message))?;
    let req: CompletionRequest = serde_json::from_slice(&body).map_err(|e| {
        ChatFailure::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))
    })?;
    let bad = |m: String| ChatFailure::new(StatusCode::BAD_REQUEST, m);
    if req.n.is_some_and(|n| n != 1) {
        return Err(bad("n: only one choice (n = 1) is given".into()));
    }
    if let Some(t) = req.temperature.filter(|t| !(0.0..=2.0).contains(t)) {
        return Err(bad(format!("temperature {t} is outside 0..=2")));
    }
    if let Some(p) = req.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
        return Err(bad(format!("top_p {p} is outside (0, 1]")));
    }
    let max_tokens = req.max_completion_tokens.or(req.max_tokens);
    if max_tokens == Some(0) {
        return Err(bad("max_tokens must be at least 1".into()));
    }
    let stream = req.stream.unwrap_or(false);
    let include_usage = req
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let conversation = conversation(req.messages).map_err(bad)?;
    let Some(question) = conversation
        .iter()
        .rev()
        .find(|m| m.role == "user" && !m.content.trim().is_empty())
    else {
        return Err(bad("no user message to answer".into()));
    };
    if question.content.len() > limits.body_bytes {
        return Err(bad(format!(
            "the last user message is over {} bytes, the most a search takes",
            limits.body_bytes
        )));
    }
    let loaded = {
        let shared = shared.clone();
        let requested = req.model.clone();
        // Loading a local model reads its file: not on the async workers.
        tokio::task::spawn_blocking(move || {
            shared.state.chat.get(requested.as_deref()).map(|l| {
                (
                    l.config.name.clone(),
                    l.client,
                    l.config.params.or(l.defaults),
                )
            })
        })
        .await
        .map_err(|_| {
            ChatFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "loading the model failed",
            )
        })??
    };
    let (model, client, model_params) = loaded;

    let retrieval = req.retrieval.unwrap_or_default();
    let search = SearchRequest {
        query: question.content.clone(),
        top_k: retrieval.top_k.unwrap_or(DEFAULT_CONTEXT_CHUNKS),
        mode: retrieval.mode,
        filter: retrieval.filter,
    };
    let planned = shared
        .state
        .plan_search(scope.as_ref(), search, Route::Chat)
        .map_err(|r| ChatFailure::new(status_of(r.status), r.message))?;
    let audit = planned.audit;
    let hits = scoped_search(shared, planned.query)
        .await
        .map_err(|r| ChatFailure::new(status_of(r.status), r.message))?;
    let (messages, used) = build_prompt(&conversation, &hits, limits.context_chars);
    let mut hits = hits;
    hits.truncate(used);
    // The audit line names the documents that went into the prompt.
    shared
        .state
        .finish_audit(audit, &hits)
        .map_err(|r| ChatFailure::new(status_of(r.status), r.message))?;

    let ours = RequestParams {
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens,
        seed: req.seed,
        stream: Some(stream),
        stop: match req.stop {
            None => None,
            Some(StopIn::One(s)) => Some(vec![s]),
            Some(StopIn::Many(v)) => Some(v),
        },
    };
    let mut params = ours.or(&model_params);
    params.stream = Some(stream);
    params.max_tokens = Some(
        params
            .max_tokens
            .unwrap_or(limits.max_answer_tokens)
            .min(limits.max_answer_tokens),
    );
    Ok((
        Prepared {
            model,
            client,
            request: ChatRequest { messages, params },
            sources: hits,
            include_usage,
        },
        stream,
    ))
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `POST /v1/chat/completions`.
pub(crate) async fn completions(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (prepared, stream) = match prepare(&shared, request).await {
        Ok(p) => p,
        Err(f) => return f.response(),
    };
    let limits = shared.state.limits;
    let permit = match tokio::time::timeout(
        limits.queue_wait,
        shared.chat_permits.clone().acquire_owned(),
    )
    .await
    {
        Ok(Ok(p)) => p,
        _ => {
            return ChatFailure::new(StatusCode::SERVICE_UNAVAILABLE, "too many chats at once")
                .response()
        }
    };
    if stream {
        return stream_answer(prepared, permit, limits.chat_timeout);
    }
    let Prepared {
        model,
        client,
        request,
        sources: hits,
        ..
    } = prepared;
    let job = tokio::task::spawn_blocking(move || {
        let answer = client.chat(&request);
        drop(permit);
        answer
    });
    let answer = match tokio::time::timeout(limits.chat_timeout, job).await {
        Ok(Ok(Ok(a))) => a,
        Ok(Ok(Err(e))) => return model_failure(&e).response(),
        Ok(Err(_)) => {
            return ChatFailure::new(StatusCode::INTERNAL_SERVER_ERROR, "the model failed")
                .response()
        }
        Err(_) => {
            return ChatFailure::new(StatusCode::GATEWAY_TIMEOUT, "the model timed out").response()
        }
    };
    json_response(
        StatusCode::OK,
        &json!({
            "id": completion_id(),
            "object": "chat.completion",
            "created": unix_now(),
            "model": model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": answer.content },
                "finish_reason": answer.finish_reason.as_deref().unwrap_or("stop"),
            }],
            "usage": usage(&answer),
            "sources": sources(&hits),
        }),
    )
}

/// What the generating thread hands the response stream.
enum Piece {
    Text(String),
    Done(std::result::Result<ChatResponse, ProviderError>),
}

/// The answer as SSE: a first chunk with the role and the `sources`, a chunk per piece of
/// text, a last one with `finish_reason` (and, when asked, one with `usage`), then `[DONE]`. A
/// failure after the first chunk is sent as an `error` chunk before `[DONE]`.
fn stream_answer(
    prepared: Prepared,
    permit: tokio::sync::OwnedSemaphorePermit,
    timeout: std::time::Duration,
) -> Response {
    let Prepared {
        model,
        client,
        request,
        sources: hits,
        include_usage,
    } = prepared;
    let (pieces_tx, mut pieces) = tokio::sync::mpsc::channel::<Piece>(64);
    tokio::task::spawn_blocking(move || {
        let text_tx = pieces_tx.clone();
        let answer = client.chat_streamed(&request, &mut |text| {
            if !text.is_empty() {
                // A client gone away only means nobody reads the rest.
                let _ = text_tx.blocking_send(Piece::Text(text.to_string()));
            }
        });
        drop(permit);
        let _ = pieces_tx.blocking_send(Piece::Done(answer));
    });
    let (events_tx, events) =
        tokio::sync::mpsc::channel::<std::result::Result<Event, Infallible>>(64);
    let id = completion_id();
    let created = unix_now();
    let chunk = move |delta: Value, finish: Option<&str>| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
    };
    tokio::spawn(async move {
        let send = |v: Value| -> std::result::Result<Event, Infallible> {
            Ok(Event::default().data(v.to_string()))
        };
        let mut first = chunk(json!({ "role": "assistant", "content": "" }), None);
        first["sources"] = sources(&hits);
        if events_tx.send(send(first)).await.is_err() {
            return;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let piece = match tokio::time::timeout_at(deadline, pieces.recv()).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    let error =
                        json!({"error": {"message": "the model failed", "type": "server_error"}});
                    let _ = events_tx.send(send(error)).await;
                    break;
                }
                Err(_) => {
                    let error = json!({"error": {"message": "the model timed out", "type": "server_error"}});
                    let _ = events_tx.send(send(error)).await;
                    break;
                }
            };
            match piece {
                Piece::Text(text) => {
                    if events_tx
                        .send(send(chunk(json!({ "content": text }), None)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Piece::Done(Ok(answer)) => {
                    let finish = answer.finish_reason.as_deref().unwrap_or("stop");
                    let _ = events_tx.send(send(chunk(json!({}), Some(finish)))).await;
                    if include_usage {
                        let mut last = chunk(json!({}), None);
                        last["choices"] = json!([]);
                        last["usage"] = usage(&answer);
                        let _ = events_tx.send(send(last)).await;
                    }
                    break;
                }
                Piece::Done(Err(e)) => {
                    let f = model_failure(&e);
                    let error = json!({"error": {"message": f.message, "type": "server_error"}});
                    let _ = events_tx.send(send(error)).await;
                    break;
                }
            }
        }
        let _ = events_tx.send(Ok(Event::default().data("[DONE]"))).await;
    });
    Sse::new(tokio_stream::wrappers::ReceiverStream::new(events)).into_response()
}

/// `GET /v1/models`: the trial's models, as OpenAI lists models.
pub(crate) async fn models(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Err((status, message)) = authorise(&shared, &headers) {
        return openai_error(status, message);
    }
    let chat = &shared.state.chat;
    let data: Vec<Value> = chat
        .entries
        .iter()
        .map(|e| {
            json!({
                "id": e.config.name,
                "object": "model",
                "created": 0,
                "owned_by": "adopt",
                "default": chat.default.as_deref() == Some(e.config.name.as_str()),
                "size": e.config.size,
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "object": "list", "data": data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(doc: &str, dept: &str, text: &str) -> Hit {
        Hit {
            chunk_id: format!("{doc}-0"),
            doc_id: doc.into(),
            source_path: format!("{dept}/{doc}.md"),
            department: Some(dept.into()),
            unit: "page 1".into(),
            headings: vec!["Policy".into()],
            char_start: 0,
            char_end: text.len() as u64,
            score: 1.0,
            text: text.into(),
        }
    }

    #[test]
    fn the_prompt_holds_only_the_hits_that_fit() {
        let conv = conversation(vec![
            MessageIn {
                role: "developer".into(),
                content: Some(ContentIn::Text("Answer in French.".into())),
            },
            MessageIn {
                role: "user".into(),
                content: Some(ContentIn::Parts(vec![ContentPart {
                    kind: "text".into(),
                    text: Some("How many days of leave?".into()),
                }])),
            },
        ])
        .unwrap();
        let hits = [
            hit("leave", "hr", "Twenty days of paid leave."),
            hit("sick", "hr", &"x".repeat(1000)),
            hit("travel", "hr", "Never reached."),
        ];
        let (messages, used) = build_prompt(&conv, &hits, 500);
        assert_eq!(used, 2, "the second hit is cut to fit, the third left out");
        assert_eq!(messages.len(), 2);
        let system = &messages[0].content;
        assert!(system.contains("[1] hr/leave.md (page 1) - Policy\nTwenty days"));
        assert!(system.contains("[2] hr/sick.md") && system.contains("x..."));
        assert!(!system.contains("travel") && !system.contains("Never reached"));
        assert!(system.ends_with("Answer in French."), "{system}");
        assert!(system.chars().count() < 500 + INSTRUCTIONS.len() + 100);
        assert_eq!(messages[1], Message::user("How many days of leave?"));

        let (messages, used) = build_prompt(&conv, &[], 500);
        assert_eq!(used, 0);
        assert!(messages[0].content.contains("no passage"));
    }

    #[test]
    fn unsupported_messages_are_refused_by_index() {
        let err = conversation(vec![MessageIn {
            role: "tool".into(),
            content: None,
        }])
        .unwrap_err();
        assert!(err.starts_with("messages[0]: role \"tool\""), "{err}");
        let err = conversation(vec![MessageIn {
            role: "user".into(),
            content: Some(ContentIn::Parts(vec![ContentPart {
                kind: "image_url".into(),
                text: None,
            }])),
        }])
        .unwrap_err();
        assert!(err.contains("image_url"), "{err}");
        assert!(conversation(Vec::new()).is_err());
    }

    #[test]
    fn models_are_chosen_by_name_or_id_and_default_to_the_first_swept() {
        let trial = TrialConfig::from_toml_str(
            r#"
[[models]]
name = "judge"
provider = "openai-compatible"
base-url = "http://127.0.0.1:9/v1"
model = "big"
judge-only = true

[[models]]
name = "small"
provider = "openai-compatible"
base-url = "http://127.0.0.1:9/v1"
model = "small-7b"
"#,
            "/nonexistent",
        )
        .unwrap();
        let chat = ChatModels::from_trial(trial.clone(), None).unwrap();
        assert_eq!(chat.default_model(), Some("small"));
        assert_eq!(chat.get(None).unwrap().config.name, "small");
        assert_eq!(chat.get(Some("big")).unwrap().config.name, "judge");
        let err = chat.get(Some("gpt-4o")).err().unwrap();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert!(err.message.contains("judge, small"), "{}", err.message);
        let Err(ServeError::Chat(problems)) = ChatModels::from_trial(trial, Some("nope")) else {
            panic!("an unknown --model was accepted")
        };
        assert!(problems[0].contains("--model \"nope\""), "{problems:?}");
        let none = ChatModels::none().get(None).err().unwrap();
        assert_eq!(none.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(none.message.contains("--trial"));
    }
}
