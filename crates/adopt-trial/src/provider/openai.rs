//! The OpenAI chat-completions client, streaming and not, over a blocking HTTP client (ureq):
//! the trial's concurrency is a handful of threads, which needs no async runtime.

use std::io::{BufReader, Read};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::sse::SseReader;
use super::{ChatModel, ChatRequest, ChatResponse, Endpoint, TimedResponse, UsageSource};
use crate::error::{FailureKind, ProviderError};
use crate::tokenize::estimate_tokens;

/// An API key, kept out of `Debug` output and redacted from anything a server echoes back.
#[derive(Clone)]
struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Client of one OpenAI-compatible endpoint (vLLM, SGLang, Ollama, llama.cpp, DeepSeek, Qwen,
/// Doubao, Zhipu, OpenAI).
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    endpoint: Endpoint,
    agent: ureq::Agent,
    api_key: Option<ApiKey>,
}

/// How much of an error body we keep: enough for the server's message, not a whole HTML page.
const ERROR_BODY_LIMIT: usize = 600;

impl OpenAiCompatible {
    /// Builds the client, reading the API key from the endpoint's environment variable. A
    /// missing variable is a permanent error that names the variable (never a value).
    pub fn new(endpoint: Endpoint) -> Result<Self, ProviderError> {
        let api_key = match &endpoint.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Some(ApiKey(v.trim().to_string())),
                _ => {
                    return Err(ProviderError {
                        model: endpoint.name.clone(),
                        kind: FailureKind::Permanent,
                        status: None,
                        retry_after: None,
                        message: format!("environment variable {var} (the API key) is not set"),
                    })
                }
            },
            None => None,
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(endpoint.timeout))
            .timeout_connect(Some(endpoint.connect_timeout))
            .timeout_per_read(Some(endpoint.read_timeout))
            .max_idle_connections_per_host(endpoint.concurrency.max(1) * 2)
            .user_agent(concat!("adopt-trial/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(OpenAiCompatible {
            endpoint,
            agent,
            api_key,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The JSON body of a request.
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let p = &request.params;
        let stream = p.stream.unwrap_or(true);
        let mut body = json!({
            "model": self.endpoint.model,
            "messages": request.messages,
            "stream": stream,
        });
        let obj = body.as_object_mut().expect("object literal");
        if let Some(t) = p.temperature {
            obj.insert("temperature".into(), json!(t));
        }
        if let Some(t) = p.top_p {
            obj.insert("top_p".into(), json!(t));
        }
        if let Some(t) = p.max_tokens {
            obj.insert("max_tokens".into(), json!(t));
        }
        if let Some(t) = p.seed {
            obj.insert("seed".into(), json!(t));
        }
        if let Some(t) = &p.stop {
            obj.insert("stop".into(), json!(t));
        }
        if stream && self.endpoint.stream_usage {
            obj.insert("stream_options".into(), json!({ "include_usage": true }));
        }
        for (k, v) in &self.endpoint.extra_body {
            obj.insert(k.clone(), v.clone());
        }
        body
    }

    fn error(&self, kind: FailureKind, status: Option<u16>, message: String) -> ProviderError {
        ProviderError {
            model: self.endpoint.name.clone(),
            kind,
            status,
            retry_after: None,
            message: self.redact(&message),
        }
    }

    /// Removes the key from text a server (or a proxy) may have echoed back.
    fn redact(&self, text: &str) -> String {
        match &self.api_key {
            Some(ApiKey(k)) if k.len() >= 4 => text.replace(k.as_str(), "***"),
            _ => text.to_string(),
        }
    }

    fn transport_error(&self, e: ureq::Error) -> ProviderError {
        use ureq::Error as E;
        let kind = match &e {
            E::Timeout(_) | E::ConnectionFailed | E::Protocol(_) => FailureKind::Transient,
            E::Io(io) => io_kind(io),
            _ => FailureKind::Permanent,
        };
        let message = match &e {
            E::Timeout(t) => format!("timed out ({t}) calling {}", self.endpoint.base_url),
            _ => format!("request to {} failed: {e}", self.endpoint.base_url),
        };
        self.error(kind, None, message)
    }

    /// One attempt, no retry.
    pub fn attempt(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        self.attempt_timed(request).map(|t| t.response)
    }

    /// One attempt, no retry, with the arrival time of every chunk that carried text.
    pub fn attempt_timed(&self, request: &ChatRequest) -> Result<TimedResponse, ProviderError> {
        self.attempt_relayed(request, &mut |_| {})
    }

    /// One attempt, handing each piece of answer text to `on_text` as it arrives.
    fn attempt_relayed(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<TimedResponse, ProviderError> {
        let body = self.request_body(request);
        let stream = body["stream"].as_bool().unwrap_or(false);
        let started = Instant::now();
        let mut req = self
            .agent
            .post(self.endpoint.chat_url())
            .header("Content-Type", "application/json")
            .header(
                "Accept",
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            );
        if let Some(ApiKey(key)) = &self.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        for (k, v) in &self.endpoint.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req
            .send(body.to_string().as_bytes())
            .map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        if status >= 400 {
            let retry_after = super::parse_retry_after(
                header("retry-after").as_deref(),
                header("retry-after-ms").as_deref(),
            );
            let mut text = String::new();
            let _ = resp
                .body_mut()
                .as_reader()
                .take(64 * 1024)
                .read_to_string(&mut text);
            let kind = classify_status(status);
            let mut err = self.error(
                kind,
                Some(status),
                format!("HTTP {status}: {}", error_message(&text)),
            );
            err.retry_after = retry_after;
            return Err(err);
        }
        let reader = resp.into_body().into_reader();
        let (mut out, chunk_ms) = if stream && !content_type.starts_with("application/json") {
            self.read_stream(BufReader::new(reader), started, on_text)?
        } else {
            // Not streamed, or a server that ignored `stream` and answered in one piece.
            let whole = self.read_whole(reader, started)?;
            on_text(&whole.content);
            (whole, Vec::new())
        };
        if out.usage == UsageSource::Estimated {
            out.input_tokens = estimate_prompt_tokens(request);
        }
        Ok(TimedResponse {
            response: out,
            chunk_ms,
        })
    }

    fn read_whole(
        &self,
        mut reader: impl Read,
        started: Instant,
    ) -> Result<ChatResponse, ProviderError> {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|e| {
            self.error(
                io_kind(&e),
                None,
                format!("reading the response failed: {e}"),
            )
        })?;
        let latency_ms = ms(started.elapsed());
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            self.error(
                FailureKind::Permanent,
                None,
                format!("response is not JSON ({e}): {}", truncate(&text)),
            )
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(self.error(
                FailureKind::Transient,
                None,
                format!("server error in response: {}", truncate(&err.to_string())),
            ));
        }
        let choice = v["choices"].get(0).ok_or_else(|| {
            self.error(
                FailureKind::Permanent,
                None,
                format!("response has no choices: {}", truncate(&text)),
            )
        })?;
        let content = choice["message"]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let finish_reason = choice["finish_reason"].as_str().map(str::to_string);
        let (usage, input, output) = usage_of(&v, &content);
        let tokens_per_s =
            (latency_ms > 0.0 && output > 0).then(|| output as f64 * 1000.0 / latency_ms);
        Ok(ChatResponse {
            content,
            finish_reason,
            input_tokens: input,
            output_tokens: output,
            usage,
            streamed: false,
            ttft_ms: None,
            latency_ms,
            tokens_per_s,
            attempts: 1,
        })
    }

    fn read_stream(
        &self,
        reader: impl std::io::BufRead,
        started: Instant,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<(ChatResponse, Vec<f64>), ProviderError> {
        let mut sse = SseReader::new(reader);
        let mut acc = StreamAccumulator::default();
        loop {
            let event = sse.next_event().map_err(|e| {
                self.error(
                    io_kind(&e),
                    None,
                    format!("stream broke after {} characters: {e}", acc.content.len()),
                )
            })?;
            let Some(event) = event else { break };
            let before = acc.content.len();
            if let Err((kind, message)) = acc.push(&event.data, event.event.as_deref(), started) {
                return Err(self.error(kind, None, message));
            }
            if acc.content.len() > before {
                on_text(&acc.content[before..]);
            }
            if acc.done {
                break;
            }
        }
        let latency_ms = ms(started.elapsed());
        if !acc.done && acc.finish_reason.is_none() {
            // No [DONE] and no finish_reason: the stream was cut, the answer may be partial.
            return Err(self.error(
                FailureKind::Transient,
                None,
                format!("stream ended early after {} characters", acc.content.len()),
            ));
        }
        let (usage, input, output) = match acc.usage {
            Some((i, o)) => (UsageSource::Reported, i, o),
            None => (UsageSource::Estimated, 0, estimate_tokens(&acc.content)),
        };
        let ttft_ms = acc.first_token.map(|t| ms(t - started));
        let gen_ms = latency_ms - ttft_ms.unwrap_or(0.0);
        // The first token's time is prefill, not generation: count the rest over the rest.
        let tokens_per_s =
            (gen_ms > 0.0 && output > 1).then(|| (output - 1) as f64 * 1000.0 / gen_ms);
        let chunk_ms = acc.chunk_times.iter().map(|t| ms(*t - started)).collect();
        let response = ChatResponse {
            content: acc.content,
            finish_reason: acc.finish_reason,
            input_tokens: input,
            output_tokens: output,
            usage,
            streamed: true,
            ttft_ms,
            latency_ms,
            tokens_per_s,
            attempts: 1,
        };
        Ok((response, chunk_ms))
    }
}

impl ChatModel for OpenAiCompatible {
    /// One request with retries: transient failures wait (Retry-After, else backoff with jitter)
    /// and try again; permanent ones return at once.
    fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let policy = self.endpoint.retry;
        let mut retry = 0;
        loop {
            match self.attempt(request) {
                Ok(mut r) => {
                    r.attempts = retry + 1;
                    return Ok(r);
                }
                Err(e) if e.is_transient() && retry < policy.max_retries => {
                    std::thread::sleep(policy.delay(retry, e.retry_after));
                    retry += 1;
                }
                Err(mut e) => {
                    if retry > 0 {
                        e.message = format!("{} (after {} attempts)", e.message, retry + 1);
                    }
                    return Err(e);
                }
            }
        }
    }

    fn chat_timed(&self, request: &ChatRequest) -> Result<TimedResponse, ProviderError> {
        self.attempt_timed(request)
    }

    /// Retries as [`ChatModel::chat`] does, but only while no text has been handed on: a
    /// relayed answer cannot be taken back.
    fn chat_streamed(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<ChatResponse, ProviderError> {
        let policy = self.endpoint.retry;
        let mut retry = 0;
        loop {
            let mut relayed = false;
            let result = self.attempt_relayed(request, &mut |text| {
                relayed |= !text.is_empty();
                on_text(text)
            });
            match result {
                Ok(t) => {
                    let mut r = t.response;
                    r.attempts = retry + 1;
                    return Ok(r);
                }
                Err(e) if e.is_transient() && !relayed && retry < policy.max_retries => {
                    std::thread::sleep(policy.delay(retry, e.retry_after));
                    retry += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Folds streamed chunks into an answer.
#[derive(Debug, Default)]
pub(crate) struct StreamAccumulator {
    pub content: String,
    pub finish_reason: Option<String>,
    pub usage: Option<(u64, u64)>,
    pub first_token: Option<Instant>,
    /// When each event that carried text arrived (the first is `first_token`).
    pub chunk_times: Vec<Instant>,
    pub done: bool,
}

impl StreamAccumulator {
    /// Takes one event's data. Errors come back as (kind, message).
    pub fn push(
        &mut self,
        data: &str,
        event: Option<&str>,
        _started: Instant,
    ) -> Result<(), (FailureKind, String)> {
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunks: Vec<Value> = match serde_json::from_str::<Value>(data) {
            Ok(v) => vec![v],
            // Some servers put several `data:` lines in one event without blank lines between.
            Err(_) if data.contains('\n') => {
                let mut out = Vec::new();
                for line in data.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    if line == "[DONE]" {
                        self.done = true;
                        continue;
                    }
                    out.push(serde_json::from_str::<Value>(line).map_err(|e| malformed(line, e))?);
                }
                out
            }
            Err(e) => return Err(malformed(data, e)),
        };
        let mut carried_text = false;
        for v in chunks {
            if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
                // An error mid-stream is the server's trouble (overload, crash): worth a retry.
                return Err((
                    FailureKind::Transient,
                    format!("server error in stream: {}", truncate(&err.to_string())),
                ));
            }
            if event == Some("error") {
                return Err((
                    FailureKind::Transient,
                    format!("server error event: {}", truncate(data)),
                ));
            }
            if let Some(choice) = v["choices"].get(0) {
                let delta = &choice["delta"];
                for key in ["content", "reasoning_content"] {
                    if let Some(text) = delta[key].as_str() {
                        if !text.is_empty() {
                            carried_text = true;
                            if self.first_token.is_none() {
                                self.first_token = Some(Instant::now());
                            }
                        }
                        if key == "content" {
                            self.content.push_str(text);
                        }
                    }
                }
                if let Some(reason) = choice["finish_reason"].as_str() {
                    self.finish_reason = Some(reason.to_string());
                }
            }
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                if let (Some(i), Some(o)) =
                    (u["prompt_tokens"].as_u64(), u["completion_tokens"].as_u64())
                {
                    self.usage = Some((i, o));
                }
            }
        }
        if carried_text {
            let at = match self.chunk_times.is_empty() {
                true => self.first_token.unwrap_or_else(Instant::now),
                false => Instant::now(),
            };
            self.chunk_times.push(at);
        }
        Ok(())
    }
}

fn malformed(data: &str, e: serde_json::Error) -> (FailureKind, String) {
    (
        FailureKind::Permanent,
        format!("malformed stream chunk ({e}): {}", truncate(data)),
    )
}

/// 408, 409, 425, 429 and 5xx may pass; other 4xx (auth, bad request, unknown model) will not.
pub(crate) fn classify_status(status: u16) -> FailureKind {
    match status {
        408 | 409 | 425 | 429 | 500..=599 => FailureKind::Transient,
        _ => FailureKind::Permanent,
    }
}

fn io_kind(e: &std::io::Error) -> FailureKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::ConnectionRefused
        | K::BrokenPipe
        | K::UnexpectedEof
        | K::Interrupted
        | K::WouldBlock => FailureKind::Transient,
        // ureq wraps its own errors (timeouts among them) in io errors inside body readers.
        K::Other => FailureKind::Transient,
        _ => FailureKind::Permanent,
    }
}

/// The server's own words from an error body (`{"error":{"message":...}}`), else the body.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let msg = parsed.as_ref().and_then(|v| {
        v["error"]["message"]
            .as_str()
            .or_else(|| v["error"].as_str())
            .or_else(|| v["message"].as_str())
            .map(str::to_string)
    });
    truncate(&msg.unwrap_or_else(|| body.trim().to_string()))
}

fn truncate(text: &str) -> String {
    if text.len() <= ERROR_BODY_LIMIT {
        return text.to_string();
    }
    let mut end = ERROR_BODY_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

fn usage_of(v: &Value, content: &str) -> (UsageSource, u64, u64) {
    let u = &v["usage"];
    match (u["prompt_tokens"].as_u64(), u["completion_tokens"].as_u64()) {
        (Some(i), Some(o)) => (UsageSource::Reported, i, o),
        _ => (UsageSource::Estimated, 0, estimate_tokens(content)),
    }
}

/// Prompt tokens of a request by estimate: the text plus a few tokens of chat framing per message.
pub fn estimate_prompt_tokens(request: &ChatRequest) -> u64 {
    request
        .messages
        .iter()
        .map(|m| estimate_tokens(&m.content) + 4)
        .sum::<u64>()
        + 3
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
