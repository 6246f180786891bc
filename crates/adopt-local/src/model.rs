//! [`LocalModel`]: a GGUF model loaded in this process and answering [`ChatRequest`]s, one at a
//! time (a single KV cache behind a mutex).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use adopt_trial::provider::UsageSource;
use adopt_trial::{ChatModel, ChatRequest, ChatResponse, FailureKind, ProviderError};
use candle_core::quantized::gguf_file;
use candle_transformers::generation::{LogitsProcessor, Sampling};

use crate::decoder::{Decoder, Family};
use crate::error::{LocalError, Result};
use crate::template::ChatTemplate;
use crate::threads;
use crate::vocab::{self, Vocabulary};

/// How to load and run a local model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LocalOptions {
    /// CPU threads. The engine runs on one pool of threads per process, sized when the first
    /// model loads (from this, else `CANDLE_NUM_THREADS`, else the physical cores); models
    /// loaded later share it, whatever they ask for.
    pub threads: Option<usize>,
    /// Most tokens of prompt plus answer; lower than the model's own context saves memory on
    /// long answers and refuses long prompts early.
    pub context_length: Option<usize>,
    /// Sampling seed when the request gives none (temperature > 0 only).
    pub seed: Option<u64>,
    /// Prompt format instead of the one detected from the file ("chatml").
    pub chat_template: Option<String>,
    /// A `tokenizer.json` to use instead of rebuilding the tokenizer from the file's metadata.
    pub tokenizer_json: Option<PathBuf>,
}

/// Context when the file does not say.
const DEFAULT_CONTEXT: usize = 4096;
const DEFAULT_SEED: u64 = 42;

/// Timings of one greedy run ([`LocalModel::time_greedy`]), counted as llama.cpp's server
/// counts its `timings`: the prompt pass (which yields the first answer token) apart from the
/// rest, whose rate is `generated_tokens` over `generate_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub prompt_tokens: usize,
    pub prompt_ms: f64,
    pub generated_tokens: usize,
    pub generate_ms: f64,
}

impl Timing {
    pub fn prompt_tokens_per_s(&self) -> f64 {
        self.prompt_tokens as f64 * 1000.0 / self.prompt_ms
    }

    pub fn generated_tokens_per_s(&self) -> f64 {
        self.generated_tokens as f64 * 1000.0 / self.generate_ms
    }
}

/// What is shared by every name a model file is given in a trial.
struct Engine {
    path: PathBuf,
    weights: Mutex<Decoder>,
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
    /// Loads a GGUF file (architectures llama, qwen2, qwen3, gemma3) with its tokenizer and
    /// chat template. The model's name, in errors, is the file name until [`LocalModel::named`].
    pub fn load(path: &Path, opts: &LocalOptions) -> Result<Self> {
        let model_err = |message: String| LocalError::Model {
            path: path.to_path_buf(),
            message,
        };
        let threads = threads::configure(opts.threads);
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
                &arch,
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

        let Some(family) = Family::of(&arch) else {
            return Err(model_err(format!(
                "architecture {arch:?} is not supported in-process (llama, qwen2, qwen3, \
                 gemma3); serve it with llama.cpp and use its http:// URL instead"
            )));
        };
        let weights = Decoder::from_gguf(&content, &mut file, family, &arch, threads)
            .map_err(|e| model_err(format!("cannot load {arch} weights: {e}")))?;
        let context_length = [trained_context, opts.context_length]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(DEFAULT_CONTEXT);
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

    /// Runs the token ids `prompt` (as [`LocalModel::prompt_ids`] gives them), then greedy
    /// decoding for `answer_tokens` tokens whatever they are, end of turn included: a benchmark
    /// of the engine, comparable with a llama.cpp request with `ignore_eos`.
    pub fn time_greedy(&self, prompt: &[u32], answer_tokens: usize) -> Result<Timing> {
        let e = &*self.engine;
        let fail = |err: candle_core::Error| LocalError::Generation {
            path: e.path.clone(),
            message: err.to_string(),
        };
        if prompt.is_empty() || prompt.len() + answer_tokens > e.context_length {
            return Err(LocalError::Generation {
                path: e.path.clone(),
                message: format!(
                    "{} prompt and {answer_tokens} answer tokens do not fit the context of {}",
                    prompt.len(),
                    e.context_length
                ),
            });
        }
        let mut weights = e
            .weights
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let argmax = |logits: candle_core::Tensor| -> Result<u32> {
            logits
                .argmax(0)
                .and_then(|t| t.to_scalar::<u32>())
                .map_err(fail)
        };
        weights.clear();
        let started = Instant::now();
        let mut next = argmax(weights.forward(prompt).map_err(fail)?)?;
        let prompt_done = Instant::now();
        for _ in 1..answer_tokens {
            next = argmax(weights.forward(&[next]).map_err(fail)?)?;
        }
        let done = Instant::now();
        Ok(Timing {
            prompt_tokens: prompt.len(),
            prompt_ms: ms(prompt_done - started),
            generated_tokens: answer_tokens,
            generate_ms: ms(done - prompt_done),
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

    /// Answers `request`; with `on_text`, the answer is decoded after every token and handed on
    /// as it grows (less what could still turn out to be a stop string or half a character).
    fn generate(
        &self,
        request: &ChatRequest,
        mut on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<ChatResponse, ProviderError> {
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
        let hold = stops.iter().map(|s| s.len() - 1).max().unwrap_or(0);
        let mut sent = 0;

        // Poisoning only means an earlier request panicked mid-answer; the cache is reset below.
        let mut weights = e
            .weights
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Timed from here: waiting for the previous request is the trial's queue, not the model.
        let started = Instant::now();
        let mut step = |weights: &mut Decoder, ids: &[u32]| {
            let logits = weights
                .forward(ids)
                .map_err(|err| self.error(format!("forward pass: {err}")))?;
            sampler
                .sample(&logits)
                .map_err(|err| self.error(format!("sampling: {err}")))
        };
        weights.clear();
        let mut next = step(&mut weights, &prompt)?;
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
            if !stops.is_empty() || on_text.is_some() {
                content = e.vocab.decode(&generated).map_err(|err| self.error(err))?;
            }
            if !stops.is_empty() {
                if let Some(cut) = stops.iter().filter_map(|s| content.find(s)).min() {
                    content.truncate(cut);
                    finish = "stop";
                    break;
                }
            }
            if let Some(relay) = on_text.as_mut() {
                let mut end = content.len().saturating_sub(hold);
                if content.ends_with('\u{FFFD}') {
                    // The token ends inside a character: wait for the rest of it.
                    end = end.min(content.len() - '\u{FFFD}'.len_utf8());
                }
                let end = floor_char(&content, end);
                if end > sent && content.is_char_boundary(sent) {
                    relay(&content[sent..end]);
                    sent = end;
                }
            }
            if generated.len() == max_tokens {
                break;
            }
            next = step(&mut weights, &[next])?;
        }
        drop(weights);
        if stops.is_empty() && on_text.is_none() {
            // Otherwise the text is decoded after every token already.
            content = e.vocab.decode(&generated).map_err(|err| self.error(err))?;
        }
        if let Some(relay) = on_text.as_mut() {
            if content.len() > sent && content.is_char_boundary(sent) {
                relay(&content[sent..]);
            }
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

/// The largest char boundary of `s` at or below `i`.
fn floor_char(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl ChatModel for LocalModel {
    fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        self.generate(request, None)
    }

    fn chat_streamed(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<ChatResponse, ProviderError> {
        self.generate(request, Some(on_text))
    }
}
