//! [`LocalModel`]: a GGUF model loaded in this process and answering [`ChatRequest`]s, one at a
//! time (a single KV cache behind a mutex).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use adopt_trial::provider::UsageSource;
use adopt_trial::{ChatModel, ChatRequest, ChatResponse, FailureKind, ProviderError};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{quantized_llama, quantized_qwen2};

use crate::error::{LocalError, Result};
use crate::template::ChatTemplate;
use crate::vocab::{self, Vocabulary};

/// How to load and run a local model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LocalOptions {
    /// CPU threads for the matrix kernels. candle sizes its thread pools once per process, from
    /// `CANDLE_NUM_THREADS`/`RAYON_NUM_THREADS`: this sets `CANDLE_NUM_THREADS` when it is unset
    /// and no model ran yet, so the first load decides (default: physical cores).
    pub threads: Option<usize>,
    /// Most tokens of prompt plus answer; lower than the model's own context (and the engine's
    /// 4096 for Llama-family files) saves nothing but refuses long prompts early.
    pub context_length: Option<usize>,
    /// Sampling seed when the request gives none (temperature > 0 only).
    pub seed: Option<u64>,
    /// Prompt format instead of the one detected from the file ("chatml").
    pub chat_template: Option<String>,
    /// A `tokenizer.json` to use instead of rebuilding the tokenizer from the file's metadata.
    pub tokenizer_json: Option<PathBuf>,
}

/// Longest context of the Llama-family implementation (its RoPE tables stop there).
const LLAMA_MAX_CONTEXT: usize = quantized_llama::MAX_SEQ_LEN;
const DEFAULT_SEED: u64 = 42;

enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
}

impl Weights {
    fn clear_kv_cache(&mut self) {
        match self {
            Weights::Llama(m) => m.clear_kv_cache(),
            Weights::Qwen2(m) => m.clear_kv_cache(),
        }
    }

    /// Logits of the next token after `ids`, which continue a sequence `pos` tokens long.
    fn forward(&mut self, ids: &[u32], pos: usize) -> candle_core::Result<Tensor> {
        let input = Tensor::new(ids, &Device::Cpu)?.unsqueeze(0)?;
        let logits = match self {
            Weights::Llama(m) => m.forward(&input, pos)?,
            Weights::Qwen2(m) => m.forward(&input, pos)?,
        };
        // [1, vocab] (or [1, seq, vocab] for implementations that keep every position).
        let logits = logits.squeeze(0)?;
        if logits.rank() == 2 {
            logits.get(logits.dim(0)? - 1)
        } else {
            Ok(logits)
        }
    }
}

/// What is shared by every name a model file is given in a trial.
struct Engine {
    path: PathBuf,
    weights: Mutex<Weights>,
    vocab: Vocabulary,
    template: ChatTemplate,
    context_length: usize,
    seed: u64,
}

/// A GGUF model run in-process with candle on the CPU. Cloning (or [`LocalModel::named`]) shares
/// the weights and the one KV cache; requests are served one at a time.
#[derive(Clone)]
pub struct LocalModel {
    name: String,
    engine: Arc<Engine>,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("name", &self.name)
            .field("path", &self.engine.path)
            .field("context_length", &self.engine.context_length)
            .finish()
    }
}

impl LocalModel {
    /// Loads a GGUF file (Llama-family or Qwen2 architecture) with its tokenizer and chat
    /// template. The model's name, in errors, is the file name until [`LocalModel::named`].
    pub fn load(path: &Path, opts: &LocalOptions) -> Result<Self> {
        let model_err = |message: String| LocalError::Model {
            path: path.to_path_buf(),
            message,
        };
        if let Some(n) = opts.threads.filter(|n| *n > 0) {
            if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
                // Read once, by candle's first matrix product; the first load decides.
                std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
            }
        }
        let mut file = File::open(path).map_err(|source| LocalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let content = gguf_file::Content::read(&mut file)
            .map_err(|e| model_err(format!("not a readable GGUF file: {e}")))?;
        let md = &content.metadata;
        let arch = md
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        let trained_context = md
            .get(&format!("{arch}.context_length"))
            .and_then(|v| v.to_u32().ok())
            .map(|n| n as usize);
        let vocab = vocab::load(&content, opts.tokenizer_json.as_deref()).map_err(|message| {
            LocalError::Tokenizer {
                path: path.to_path_buf(),
                message,
            }
        })?;
        let template = match &opts.chat_template {
            Some(name) => ChatTemplate::from_name(name),
            None => ChatTemplate::detect(
                md.get("tokenizer.chat_template")
                    .and_then(|v| v.to_string().ok())
                    .map(String::as_str),
            ),
        }
        .map_err(|message| LocalError::ChatTemplate {
            path: path.to_path_buf(),
            message,
        })?;
        let end_of_turn = template.end_of_turn();
        if vocab.token_id(end_of_turn).is_none() {
            return Err(LocalError::ChatTemplate {
                path: path.to_path_buf(),
                message: format!("the vocabulary has no {end_of_turn} token"),
            });
        }

        let device = Device::Cpu;
        let (weights, engine_max) = match arch.as_str() {
            // Mistral and other Llama-shaped files are written with the "llama" keys.
            "llama" => (
                Weights::Llama(
                    quantized_llama::ModelWeights::from_gguf(content, &mut file, &device)
                        .map_err(|e| model_err(format!("cannot load llama weights: {e}")))?,
                ),
                Some(LLAMA_MAX_CONTEXT),
            ),
            "qwen2" => (
                Weights::Qwen2(
                    quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &device)
                        .map_err(|e| model_err(format!("cannot load qwen2 weights: {e}")))?,
                ),
                None,
            ),
            other => {
                return Err(model_err(format!(
                    "architecture {other:?} is not supported in-process (llama, qwen2); \
                     serve it with llama.cpp and use its http:// URL instead"
                )))
            }
        };
        let context_length = [trained_context, engine_max, opts.context_length]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(LLAMA_MAX_CONTEXT);
        Ok(LocalModel {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
            engine: Arc::new(Engine {
                path: path.to_path_buf(),
                weights: Mutex::new(weights),
                vocab,
                template,
                context_length,
                seed: opts.seed.unwrap_or(DEFAULT_SEED),
            }),
        })
    }

    /// The same model under another name (the trial's), sharing weights and KV cache.
    pub fn named(&self, name: impl Into<String>) -> Self {
        LocalModel {
            name: name.into(),
            engine: self.engine.clone(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.engine.path
    }

    /// Most tokens of prompt plus answer.
    pub fn context_length(&self) -> usize {
        self.engine.context_length
    }

    /// Requests served at once: one, since there is one KV cache.
    pub fn concurrency(&self) -> usize {
        1
    }

    /// The prompt's token ids, as the model will see them.
    pub fn prompt_ids(&self, request: &ChatRequest) -> Result<Vec<u32>> {
        let prompt = self.engine.template.render(&request.messages);
        self.engine
            .vocab
            .encode(&prompt)
            .map_err(|message| LocalError::Tokenizer {
                path: self.engine.path.clone(),
                message,
            })
    }

    fn error(&self, message: String) -> ProviderError {
        ProviderError {
            model: self.name.clone(),
            kind: FailureKind::Permanent,
            status: None,
            retry_after: None,
            message: format!("{}: {message}", self.engine.path.display()),
        }
    }

    fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let e = &*self.engine;
        let params = &request.params;
        let prompt = self.prompt_ids(request).map_err(|err| ProviderError {
            model: self.name.clone(),
            kind: FailureKind::Permanent,
            status: None,
            retry_after: None,
            message: err.to_string(),
        })?;
        if prompt.len() >= e.context_length {
            return Err(self.error(format!(
                "the prompt is {} tokens, the context {} tokens",
                prompt.len(),
                e.context_length
            )));
        }
        let room = e.context_length - prompt.len();
        let max_tokens = params.max_tokens.map_or(room, |m| (m as usize).min(room));
        let temperature = params.temperature.unwrap_or(0.0);
        let sampling = if temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            match params.top_p {
                Some(p) if p < 1.0 => Sampling::TopP { p, temperature },
                _ => Sampling::All { temperature },
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(params.seed.unwrap_or(e.seed), sampling);
        let stops: Vec<&str> = params
            .stop
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let streamed = params.stream.unwrap_or(false);

        // Poisoning only means an earlier request panicked mid-answer; the cache is reset below.
        let mut weights = e
            .weights
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Timed from here: waiting for the previous request is the trial's queue, not the model.
        let started = Instant::now();
        let mut step = |weights: &mut Weights, ids: &[u32], pos: usize| {
            let logits = weights
                .forward(ids, pos)
                .map_err(|err| self.error(format!("forward pass: {err}")))?;
            sampler
                .sample(&logits)
                .map_err(|err| self.error(format!("sampling: {err}")))
        };
        weights.clear_kv_cache();
        let mut next = step(&mut weights, &prompt, 0)?;
        let first_token = Instant::now();
        let mut generated: Vec<u32> = Vec::new();
        let mut content = String::new();
        let mut finish = "length";
        let mut end_token = 0;
        while generated.len() < max_tokens {
            if e.vocab.stop_ids.contains(&next) {
                // Counted, as llama.cpp counts it: computing it took a forward pass.
                end_token = 1;
                finish = "stop";
                break;
            }
            generated.push(next);
            if !stops.is_empty() {
                content = e.vocab.decode(&generated).map_err(|err| self.error(err))?;
                if let Some(cut) = stops.iter().filter_map(|s| content.find(s)).min() {
                    content.truncate(cut);
                    finish = "stop";
                    break;
                }
            }
            if generated.len() == max_tokens {
                break;
            }
            next = step(&mut weights, &[next], prompt.len() + generated.len() - 1)?;
        }
        drop(weights);
        if stops.is_empty() {
            // With stop strings the text is decoded after every token already.
            content = e.vocab.decode(&generated).map_err(|err| self.error(err))?;
        }
        let latency_ms = ms(started.elapsed());
        let output = (generated.len() + end_token) as u64;
        let (ttft_ms, tokens_per_s) = if streamed {
            // As the HTTP client measures a stream: rate after the first token.
            let ttft = ms(first_token - started);
            let gen_ms = latency_ms - ttft;
            let rate = (gen_ms > 0.0 && output > 1).then(|| (output - 1) as f64 * 1000.0 / gen_ms);
            (Some(ttft), rate)
        } else {
            let rate =
                (latency_ms > 0.0 && output > 0).then(|| output as f64 * 1000.0 / latency_ms);
            (None, rate)
        };
        Ok(ChatResponse {
            content,
            finish_reason: Some(finish.to_string()),
            input_tokens: prompt.len() as u64,
            output_tokens: output,
            usage: UsageSource::Reported,
            streamed,
            ttft_ms,
            latency_ms,
            tokens_per_s,
            attempts: 1,
        })
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl ChatModel for LocalModel {
    fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        self.generate(request)
    }
}
