//! Model endpoints. Every provider we support speaks the OpenAI chat-completions protocol, so
//! one client ([`OpenAiCompatible`]) serves them all; [`ProviderKind`] only supplies defaults
//! (base URL, API-key variable, quirks).

mod openai;
mod retry;
pub mod sse;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use openai::{estimate_prompt_tokens, OpenAiCompatible};
pub use retry::{parse_retry_after, RetryPolicy};

use crate::config::RequestParams;
use crate::error::ProviderError;

/// Serving software or vendor of a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// vLLM's OpenAI-compatible server.
    Vllm,
    /// SGLang's OpenAI-compatible server.
    Sglang,
    /// Ollama's `/v1` API.
    Ollama,
    /// llama.cpp's `llama-server`.
    LlamaCpp,
    /// DeepSeek's hosted API.
    Deepseek,
    /// Alibaba Cloud DashScope, OpenAI-compatible mode (Qwen).
    Qwen,
    /// ByteDance Volcano Engine Ark (Doubao); `model` is the endpoint id.
    Doubao,
    /// Zhipu AI open platform (GLM).
    Zhipu,
    /// OpenAI.
    Openai,
    /// Any other OpenAI-compatible server; needs `base-url`.
    #[default]
    OpenaiCompatible,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Vllm => "vllm",
            ProviderKind::Sglang => "sglang",
            ProviderKind::Ollama => "ollama",
            ProviderKind::LlamaCpp => "llama-cpp",
            ProviderKind::Deepseek => "deepseek",
            ProviderKind::Qwen => "qwen",
            ProviderKind::Doubao => "doubao",
            ProviderKind::Zhipu => "zhipu",
            ProviderKind::Openai => "openai",
            ProviderKind::OpenaiCompatible => "openai-compatible",
        }
    }

    /// Where the API lives when the trial file does not say.
    pub fn default_base_url(self) -> Option<&'static str> {
        Some(match self {
            ProviderKind::Vllm => "http://127.0.0.1:8000/v1",
            ProviderKind::Sglang => "http://127.0.0.1:30000/v1",
            ProviderKind::Ollama => "http://127.0.0.1:11434/v1",
            ProviderKind::LlamaCpp => "http://127.0.0.1:8080/v1",
            ProviderKind::Deepseek => "https://api.deepseek.com/v1",
            ProviderKind::Qwen => "https://dashscope.aliyuncs.com/compatible-mode/v1",
            ProviderKind::Doubao => "https://ark.cn-beijing.volces.com/api/v3",
            ProviderKind::Zhipu => "https://open.bigmodel.cn/api/paas/v4",
            ProviderKind::Openai => "https://api.openai.com/v1",
            ProviderKind::OpenaiCompatible => return None,
        })
    }

    /// The environment variable the vendor's own tools read the key from. Self-hosted servers
    /// usually need no key.
    pub fn default_api_key_env(self) -> Option<&'static str> {
        match self {
            ProviderKind::Deepseek => Some("DEEPSEEK_API_KEY"),
            ProviderKind::Qwen => Some("DASHSCOPE_API_KEY"),
            ProviderKind::Doubao => Some("ARK_API_KEY"),
            ProviderKind::Zhipu => Some("ZHIPUAI_API_KEY"),
            ProviderKind::Openai => Some("OPENAI_API_KEY"),
            _ => None,
        }
    }

    /// Whether the server accepts `stream_options.include_usage` (those that reject unknown
    /// fields would fail every streaming request with it).
    pub fn supports_stream_usage(self) -> bool {
        !matches!(self, ProviderKind::Zhipu)
    }

    /// Self-hosted serving software rather than a priced API.
    pub fn is_self_hosted(self) -> bool {
        matches!(
            self,
            ProviderKind::Vllm
                | ProviderKind::Sglang
                | ProviderKind::Ollama
                | ProviderKind::LlamaCpp
        )
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: "system".into(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: "user".into(),
            content: content.into(),
        }
    }
}

/// A chat request: the prompt and the resolved request parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub params: RequestParams,
}

/// Where token counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsageSource {
    /// The server's `usage` object.
    Reported,
    /// Our estimate from the text, because the server sent no usage.
    Estimated,
}

/// A model's answer and how it was delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer text.
    pub content: String,
    /// Why generation stopped ("stop", "length", ...), when the server said.
    pub finish_reason: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Whether the token counts are the server's or our estimate.
    pub usage: UsageSource,
    /// Whether the answer was streamed (SSE).
    pub streamed: bool,
    /// Time to first token, streaming only.
    pub ttft_ms: Option<f64>,
    /// Request start to the last byte of the answer (of the successful attempt).
    pub latency_ms: f64,
    /// Output tokens per second of generation (after the first token when streaming).
    pub tokens_per_s: Option<f64>,
    /// Attempts it took (1 = no retry).
    pub attempts: u32,
}

/// An answer with the arrival time of every streamed chunk that carried text, in milliseconds
/// from the start of the request: what inter-token latency is measured from.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedResponse {
    pub response: ChatResponse,
    /// Empty when the backend does not stream chunks (in-process engines, whole answers).
    pub chunk_ms: Vec<f64>,
}

/// Anything that answers chat requests: the HTTP client, or a test double.
pub trait ChatModel: Send + Sync {
    fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError>;

    /// One request of a load test: a single attempt (a retry would hide the failure and add its
    /// wait to the latency), with chunk arrival times where the backend streams. The default is
    /// [`ChatModel::chat`] without chunk times.
    fn chat_timed(&self, request: &ChatRequest) -> Result<TimedResponse, ProviderError> {
        self.chat(request).map(|response| TimedResponse {
            response,
            chunk_ms: Vec::new(),
        })
    }

    /// [`ChatModel::chat`], handing the answer's text to `on_text` piece by piece as it is
    /// generated (what a server relaying the answer as a stream needs); the pieces join to the
    /// returned `content`. The default hands over the whole answer once it is complete.
    fn chat_streamed(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<ChatResponse, ProviderError> {
        let response = self.chat(request)?;
        on_text(&response.content);
        Ok(response)
    }
}

/// A model endpoint with every setting resolved.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The trial's name for the model (used in errors and reports).
    pub name: String,
    pub provider: ProviderKind,
    /// Base URL up to `/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// Model id sent in the request.
    pub model: String,
    /// Name of the variable holding the key, if the endpoint needs one.
    pub api_key_env: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub stream_usage: bool,
    /// Fields added to every request body (e.g. `ignore_eos` for a load test); not part of the
    /// cache key, so only for requests that bypass the cache.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

impl Endpoint {
    /// An endpoint with default timeouts and retries, for `base_url` and `model`.
    pub fn new(name: &str, provider: ProviderKind, base_url: &str, model: &str) -> Self {
        Endpoint {
            name: name.into(),
            provider,
            base_url: base_url.trim_end_matches('/').into(),
            model: model.into(),
            api_key_env: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            concurrency: 4,
            retry: RetryPolicy::default(),
            stream_usage: provider.supports_stream_usage(),
            extra_body: serde_json::Map::new(),
        }
    }

    pub fn chat_url(&self) -> String {
        format!("{}/chat/completions", self.base_url)
    }
}
