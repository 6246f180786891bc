//! QA pairs written by a chat model. Each record is cut into chunks (paragraphs, then sentences)
//! and every chunk goes to an OpenAI-compatible endpoint, configured exactly like a trial model
//! (`[[trial.models]]`), with a Chinese or an English prompt asking for question/answer pairs
//! whose answers are copied from the chunk. Replies are parsed leniently; [`generate_qa_set`]
//! then applies the same filters as to the extractive generator, so a model that paraphrases or
//! invents answers costs requests, never wrong pairs.
//!
//! [`build_qa_set`] picks the generator from `[qa]`, and falls back to the extractive one, with a
//! warning and a note in the report, when the endpoint cannot be reached at all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use adopt_core::Reporter;
use adopt_trial::{ChatModel, ChatRequest, Endpoint, Message, ModelConfig, OpenAiCompatible};
use adopt_trial::{ProviderError, RequestParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::functions::is_cjk;
use crate::qa::{generate_qa_set, ExtractiveQaGenerator, QaFallback, QaGeneratorKind, QaSet};
use crate::{LabelError, LabelRecord, QaConfig, QaGenerator, QaPair, Result};

/// `max-tokens` of a QA request unless the endpoint's `params` say otherwise: room for a handful
/// of short pairs in JSON, and a cap on what a rambling model can cost.
pub const DEFAULT_MAX_TOKENS: u32 = 512;

/// Settings of the LLM generator, `[label.qa.llm]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LlmQaConfig {
    /// Question/answer pairs asked for per chunk.
    #[serde(default = "default_pairs")]
    pub pairs_per_chunk: usize,
    /// Longest chunk sent in one request, in characters. Records are cut at line breaks, then at
    /// sentence ends (。！？；!?), and only where neither is found mid-sentence.
    #[serde(default = "default_max_chunk_chars")]
    pub max_chunk_chars: usize,
    /// Chunks shorter than this (in characters, after trimming) are not sent: a title or a page
    /// number is not worth a request.
    #[serde(default = "default_min_chunk_chars")]
    pub min_chunk_chars: usize,
    /// The chat model, written as a `[[trial.models]]` entry: `name`, `provider`, `model`,
    /// `base-url`, `api-key-env`, timeouts, `concurrency` (requests in flight, default 4),
    /// `max-retries` and `params` (default temperature 0, max-tokens 512, no streaming).
    /// Size and price are accepted and ignored.
    pub endpoint: ModelConfig,
}

fn default_pairs() -> usize {
    3
}
fn default_max_chunk_chars() -> usize {
    1500
}
fn default_min_chunk_chars() -> usize {
    20
}

// `ModelConfig` has no `PartialEq`; its serialised form stands in for it.
impl PartialEq for LlmQaConfig {
    fn eq(&self, other: &Self) -> bool {
        self.pairs_per_chunk == other.pairs_per_chunk
            && self.max_chunk_chars == other.max_chunk_chars
            && self.min_chunk_chars == other.min_chunk_chars
            && serde_json::to_value(&self.endpoint).ok()
                == serde_json::to_value(&other.endpoint).ok()
    }
}

impl LlmQaConfig {
    /// Checks the settings the way the trial checks a model, adding every problem to `errors`.
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        let at = "qa.llm";
        if !(1..=20).contains(&self.pairs_per_chunk) {
            errors.push(format!(
                "{at}.pairs-per-chunk {} is outside 1..=20",
                self.pairs_per_chunk
            ));
        }
        if self.max_chunk_chars < 100 {
            errors.push(format!(
                "{at}.max-chunk-chars {} is too small (at least 100)",
                self.max_chunk_chars
            ));
        }
        if self.min_chunk_chars > self.max_chunk_chars {
            errors.push(format!(
                "{at}: min-chunk-chars ({}) > max-chunk-chars ({})",
                self.min_chunk_chars, self.max_chunk_chars
            ));
        }
        let m = &self.endpoint;
        let at = "qa.llm.endpoint";
        if m.name.trim().is_empty() {
            errors.push(format!("{at}.name is empty"));
        }
        m.validate_endpoint(at, errors);
        if m.base_url
            .as_deref()
            .is_some_and(|u| u.starts_with("local:"))
        {
            errors.push(format!(
                "{at}: a local: model runs in-process for trials only; QA generation needs an \
                 http:// or https:// endpoint"
            ));
        }
    }

    /// The endpoint with defaults filled in, as the trial resolves a model (`TrialPlan`).
    pub fn resolved_endpoint(&self) -> Endpoint {
        let m = &self.endpoint;
        let base_url = m
            .base_url
            .as_deref()
            .or(m.provider.default_base_url())
            .unwrap_or_default();
        m.endpoint(base_url)
    }

    /// Request parameters: the endpoint's `params`, over repeatable, capped, unstreamed answers.
    pub fn request_params(&self) -> RequestParams {
        self.endpoint.params.or(&RequestParams {
            temperature: Some(0.0),
            max_tokens: Some(DEFAULT_MAX_TOKENS),
            stream: Some(false),
            ..RequestParams::default()
        })
    }
}

/// What the LLM generator sent and got back. `chunks = requests + skipped`,
/// `requests = replies + failed`, and `unparseable <= replies`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmQaStats {
    /// The endpoint's `name`.
    pub model: String,
    pub base_url: String,
    /// Chunks cut from the records (those under `min-chunk-chars` not counted).
    pub chunks: usize,
    /// Requests sent (retries of one request count once).
    pub requests: usize,
    /// Requests that got an answer.
    pub replies: usize,
    /// Requests that failed after their retries.
    pub failed: usize,
    /// Chunks not sent because the endpoint had failed many times in a row.
    pub skipped: usize,
    /// Replies holding no JSON array (or objects) of question/answer pairs.
    pub unparseable: usize,
    /// Parsed items without a usable question and answer.
    pub invalid_items: usize,
    /// Pairs proposed (before [`generate_qa_set`]'s filters).
    pub candidates: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Sum of request latencies, in seconds.
    pub request_seconds: f64,
    /// The first failure's message (API keys never appear in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// The start of the first unparseable reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unparseable_example: Option<String>,
}

/// At most `n` requests in flight, however many threads ask (rayon may run several batches at
/// once, and each batch has its own workers).
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Permit<'a>(&'a Gate);

impl Gate {
    fn new(n: usize) -> Self {
        Gate {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    fn enter(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// Asks a chat model for QA pairs, chunk by chunk, with bounded concurrency.
pub struct LlmQaGenerator {
    name: String,
    model_name: String,
    base_url: String,
    model: Box<dyn ChatModel>,
    params: RequestParams,
    pairs_per_chunk: usize,
    max_chunk_chars: usize,
    min_chunk_chars: usize,
    max_answer_chars: usize,
    concurrency: usize,
    gate: Gate,
    /// Failures since the last answer; past [`Self::breaker`] the remaining chunks are skipped,
    /// so a server that dies mid-run does not cost every chunk its full retry schedule.
    failing: AtomicUsize,
    stats: Mutex<LlmQaStats>,
}

impl std::fmt::Debug for LlmQaGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmQaGenerator")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl LlmQaGenerator {
    /// A client of `llm.endpoint`. Fails when the API-key variable is unset; nothing is sent yet
    /// (see [`LlmQaGenerator::check_endpoint`]).
    pub fn new(llm: &LlmQaConfig, qa: &QaConfig) -> Result<Self> {
        let endpoint = llm.resolved_endpoint();
        let base_url = endpoint.base_url.clone();
        let client = OpenAiCompatible::new(endpoint).map_err(|e| endpoint_error(&base_url, e))?;
        Ok(Self::with_model(llm, qa, &base_url, Box::new(client)))
    }

    /// A generator over any [`ChatModel`]; `base_url` is only reported.
    pub fn with_model(
        llm: &LlmQaConfig,
        qa: &QaConfig,
        base_url: &str,
        model: Box<dyn ChatModel>,
    ) -> Self {
        let concurrency = llm.endpoint.concurrency.unwrap_or(4).max(1);
        let model_name = llm.endpoint.name.clone();
        LlmQaGenerator {
            name: format!("llm:{model_name}"),
            stats: Mutex::new(LlmQaStats {
                model: model_name.clone(),
                base_url: base_url.to_owned(),
                ..LlmQaStats::default()
            }),
            model_name,
            base_url: base_url.to_owned(),
            model,
            params: llm.request_params(),
            pairs_per_chunk: llm.pairs_per_chunk,
            max_chunk_chars: llm.max_chunk_chars,
            min_chunk_chars: llm.min_chunk_chars,
            max_answer_chars: qa.max_answer_chars,
            concurrency,
            gate: Gate::new(concurrency),
            failing: AtomicUsize::new(0),
        }
    }

    /// One tiny request (a one-token answer), so that an endpoint that is down, refuses the key
    /// or does not know the model is found before any chunk is sent.
    pub fn check_endpoint(&self) -> Result<()> {
        let request = ChatRequest {
            messages: vec![Message::user("Reply with OK.")],
            params: RequestParams {
                max_tokens: Some(1),
                ..self.params.clone()
            },
        };
        self.model
            .chat(&request)
            .map(|_| ())
            .map_err(|e| endpoint_error(&self.base_url, e))
    }

    /// What was sent and received so far.
    pub fn stats(&self) -> LlmQaStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn breaker(&self) -> usize {
        (2 * self.concurrency).max(4)
    }

    fn record_stats(&self, update: impl FnOnce(&mut LlmQaStats)) {
        update(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Candidates from one chunk of `record`.
    fn ask(&self, record: &LabelRecord, chunk: &str) -> Vec<QaPair> {
        if self.failing.load(Ordering::Relaxed) >= self.breaker() {
            self.record_stats(|s| s.skipped += 1);
            return Vec::new();
        }
        let _permit = self.gate.enter();
        // Others may have tripped the breaker while this one waited for a permit.
        if self.failing.load(Ordering::Relaxed) >= self.breaker() {
            self.record_stats(|s| s.skipped += 1);
            return Vec::new();
        }
        let request = ChatRequest {
            messages: qa_prompt(chunk, self.pairs_per_chunk, self.max_answer_chars),
            params: self.params.clone(),
        };
        let response = match self.model.chat(&request) {
            Ok(r) => r,
            Err(e) => {
                self.failing.fetch_add(1, Ordering::Relaxed);
                self.record_stats(|s| {
                    s.requests += 1;
                    s.failed += 1;
                    s.first_error.get_or_insert_with(|| e.to_string());
                });
                return Vec::new();
            }
        };
        self.failing.store(0, Ordering::Relaxed);
        let parsed = parse_qa_reply(&response.content);
        let mut pairs = Vec::new();
        let mut invalid = 0;
        if let Some(items) = &parsed {
            for item in items {
                match item {
                    Some((question, answer)) => pairs.push(QaPair {
                        question: question.clone(),
                        answers: vec![answer.clone()],
                        doc: record.file_name().to_owned(),
                        record_id: record.id.clone(),
                        method: self.name.clone(),
                        chunk: Some(chunk.to_owned()),
                    }),
                    None => invalid += 1,
                }
            }
        }
        self.record_stats(|s| {
            s.requests += 1;
            s.replies += 1;
            s.input_tokens += response.input_tokens;
            s.output_tokens += response.output_tokens;
            s.request_seconds += response.latency_ms / 1000.0;
            s.invalid_items += invalid;
            s.candidates += pairs.len();
            if parsed.is_none() {
                s.unparseable += 1;
                s.unparseable_example
                    .get_or_insert_with(|| response.content.chars().take(200).collect());
            }
        });
        pairs
    }
}

fn endpoint_error(base_url: &str, e: ProviderError) -> LabelError {
    LabelError::QaEndpoint {
        model: e.model.clone(),
        url: base_url.to_owned(),
        message: e.message,
        transient: e.kind == adopt_trial::FailureKind::Transient,
    }
}

impl QaGenerator for LlmQaGenerator {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(&self, record: &LabelRecord) -> Result<Vec<QaPair>> {
        let mut out = self.generate_batch(std::slice::from_ref(record))?;
        Ok(out.pop().unwrap_or_default())
    }

    fn batch_size(&self) -> usize {
        2 * self.concurrency
    }

    /// Every chunk of `records` on up to `concurrency` threads; request failures are counted in
    /// [`LlmQaGenerator::stats`], not returned, so one bad chunk does not stop the set.
    fn generate_batch(&self, records: &[LabelRecord]) -> Result<Vec<Vec<QaPair>>> {
        let jobs: Vec<(usize, &str)> = records
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                split_chunks(&r.text, self.max_chunk_chars)
                    .into_iter()
                    .filter(|c| c.chars().count() >= self.min_chunk_chars.max(1))
                    .map(move |c| (i, c))
            })
            .collect();
        self.record_stats(|s| s.chunks += jobs.len());
        let results: Vec<Mutex<Vec<QaPair>>> =
            jobs.iter().map(|_| Mutex::new(Vec::new())).collect();
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..self.concurrency.min(jobs.len()) {
                scope.spawn(|| loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(i, chunk)) = jobs.get(j) else {
                        break;
                    };
                    let pairs = self.ask(&records[i], chunk);
                    *results[j].lock().unwrap_or_else(|e| e.into_inner()) = pairs;
                });
            }
        });
        let mut out: Vec<Vec<QaPair>> = vec![Vec::new(); records.len()];
        for ((i, _), pairs) in jobs.iter().zip(results) {
            out[*i].extend(pairs.into_inner().unwrap_or_else(|e| e.into_inner()));
        }
        Ok(out)
    }
}

/// The QA set `config` asks for: extractive, or from `config.llm`'s model. When the model cannot
/// be reached at all (the check request fails, or every request does), the extractive generator
/// makes the set instead, `reporter` is warned and the report's `fallback` says why.
pub fn build_qa_set(
    config: &QaConfig,
    records: &[LabelRecord],
    reporter: &dyn Reporter,
) -> Result<QaSet> {
    let extractive = || {
        generate_qa_set(
            &ExtractiveQaGenerator::new(config),
            records,
            config,
            reporter,
        )
    };
    let llm = match (config.generator, &config.llm) {
        (QaGeneratorKind::Extractive, _) => return extractive(),
        (QaGeneratorKind::Llm, None) => {
            return Err(LabelError::InvalidConfig(vec![
                "qa: generator = \"llm\" needs a [qa.llm] table".into(),
            ]))
        }
        (QaGeneratorKind::Llm, Some(llm)) => llm,
    };
    let requested = format!("llm:{}", llm.endpoint.name);
    let fall_back = |reason: String, stats: Option<LlmQaStats>| -> Result<QaSet> {
        reporter.warn(&format!(
            "QA set: {reason}; using the extractive generator instead"
        ));
        let mut set = extractive()?;
        set.report.fallback = Some(QaFallback {
            requested: requested.clone(),
            reason,
        });
        set.report.llm = stats;
        Ok(set)
    };
    let generator = match LlmQaGenerator::new(llm, config) {
        Ok(g) => g,
        Err(e) => return fall_back(e.to_string(), None),
    };
    if let Err(e) = generator.check_endpoint() {
        return fall_back(e.to_string(), None);
    }
    let mut set = generate_qa_set(&generator, records, config, reporter)?;
    let stats = generator.stats();
    if stats.requests > 0 && stats.replies == 0 {
        let reason = format!(
            "every request to {} failed ({})",
            stats.base_url,
            stats.first_error.as_deref().unwrap_or("no message")
        );
        return fall_back(reason, Some(stats));
    }
    if stats.failed + stats.skipped > 0 {
        reporter.warn(&format!(
            "QA set: {} of {} chunks got no answer from {} ({} failed, {} skipped); first error: {}",
            stats.failed + stats.skipped,
            stats.chunks,
            generator.model_name,
            stats.failed,
            stats.skipped,
            stats.first_error.as_deref().unwrap_or("none"),
        ));
    }
    if stats.unparseable > 0 {
        reporter.warn(&format!(
            "QA set: {} of {} replies from {} held no JSON list of question/answer pairs and were skipped",
            stats.unparseable, stats.replies, generator.model_name
        ));
    }
    set.report.llm = Some(stats);
    Ok(set)
}

/// Whether text is mostly Chinese (or Japanese, Korean): more CJK characters than words in
/// other scripts. A CJK character is about a word's worth of text, so "使用 API 部署" is Chinese
/// and "The 华为 phone" is English.
pub fn is_mostly_cjk(text: &str) -> bool {
    let mut cjk = 0usize;
    let mut words = 0usize;
    let mut in_word = false;
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
            in_word = false;
        } else if c.is_alphabetic() {
            if !in_word {
                words += 1;
            }
            in_word = true;
        } else {
            in_word = false;
        }
    }
    cjk > words
}

/// The chat messages asking for `pairs` question/answer pairs about `chunk`, in Chinese for
/// Chinese text and in English otherwise.
pub fn qa_prompt(chunk: &str, pairs: usize, max_answer_chars: usize) -> Vec<Message> {
    if is_mostly_cjk(chunk) {
        vec![
            Message::system("你是为检索评测编写问答数据的助手。只输出 JSON。"),
            Message::user(format!(
                "阅读下面的文本，提出{pairs}个能直接用文本回答的问题。\n\
                 要求：\n\
                 1. 答案必须是从文本中原样复制的一个短语（不超过{max_answer_chars}个字），不要改写或总结。\n\
                 2. 问题要完整，不看原文也能明白问的是什么；问题中不能出现答案。\n\
                 3. 只输出一个 JSON 数组，不要输出其他内容，格式为：\n\
                 [{{\"question\": \"问题\", \"answer\": \"答案\"}}]\n\n\
                 文本：\n{chunk}"
            )),
        ]
    } else {
        vec![
            Message::system(
                "You write question/answer data for evaluating search. Output JSON only.",
            ),
            Message::user(format!(
                "Read the text below and write {pairs} questions that the text answers.\n\
                 Rules:\n\
                 1. Each answer must be a short phrase copied exactly from the text (at most \
                 {max_answer_chars} characters); do not reword or summarise.\n\
                 2. Each question must make sense without the text and must not contain its answer.\n\
                 3. Output only a JSON array, nothing else, in this form:\n\
                 [{{\"question\": \"...\", \"answer\": \"...\"}}]\n\n\
                 Text:\n{chunk}"
            )),
        ]
    }
}

/// One item of a model's reply: its question and answer, or `None` when it lacks either.
pub type QaItem = Option<(String, String)>;

/// The question/answer items of a model's reply: the first JSON array in it (bare, fenced, or
/// amid prose; an object wrapping an array also counts), else every JSON object in it, which
/// salvages the complete items of a reply cut off by `max-tokens`. Each item is `Some((question,
/// answer))` when it has both as non-empty text (keys `question`/`answer`, `q`/`a` or
/// `问题`/`答案`), else `None`. No JSON at all gives `None`.
pub fn parse_qa_reply(reply: &str) -> Option<Vec<QaItem>> {
    let values = json_values(reply);
    let items: Vec<&Value> = match values.iter().find_map(as_item_list) {
        Some(list) => list,
        None => values.iter().filter(|v| v.is_object()).collect(),
    };
    if items.is_empty() {
        return None;
    }
    Some(items.into_iter().map(qa_item).collect())
}

/// An array of items, or an object holding one (`{"pairs": [...]}`).
fn as_item_list(v: &Value) -> Option<Vec<&Value>> {
    match v {
        Value::Array(a) if !a.is_empty() => Some(a.iter().collect()),
        Value::Object(m) if qa_item(v).is_none() => m.values().find_map(|inner| match inner {
            Value::Array(a) if a.iter().any(Value::is_object) => Some(a.iter().collect()),
            _ => None,
        }),
        _ => None,
    }
}

fn qa_item(v: &Value) -> Option<(String, String)> {
    let m = v.as_object()?;
    let field = |keys: &[&str]| {
        keys.iter().find_map(|k| match m.get(*k)? {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let q = field(&["question", "Question", "q", "问题"])?;
    let a = field(&["answer", "Answer", "a", "答案"])?;
    (!q.is_empty() && !a.is_empty()).then_some((q, a))
}

/// Every top-level JSON array or object in `text`, in order. A bracket that opens nothing
/// parseable is passed over, so the search goes on inside it.
fn json_values(text: &str) -> Vec<Value> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if matches!(bytes[i], b'[' | b'{') {
            if let Some(end) = adopt_trial::score::matching_close(bytes, i) {
                if let Ok(v) = serde_json::from_str::<Value>(&text[i..=end]) {
                    out.push(v);
                    i = end + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Cuts `text` into trimmed, non-empty slices of at most `max_chars` characters: whole lines
/// (paragraphs) where they fit, sentences of longer lines, and hard cuts only inside a
/// sentence longer than `max_chars`. Neighbouring pieces share a chunk while they fit.
pub fn split_chunks(text: &str, max_chars: usize) -> Vec<&str> {
    let max_chars = max_chars.max(1);
    // Pieces as (start, end, chars), contiguous and covering the text.
    let mut pieces: Vec<(usize, usize, usize)> = Vec::new();
    for (start, end) in split_after(text, 0, |c, _| c == '\n') {
        let line = &text[start..end];
        let n = line.chars().count();
        if n <= max_chars {
            pieces.push((start, end, n));
            continue;
        }
        for (s, e) in split_after(line, start, |c, next| {
            matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';')
                || (c == '.' && next.is_none_or(char::is_whitespace))
        }) {
            let sentence = &text[s..e];
            let n = sentence.chars().count();
            if n <= max_chars {
                pieces.push((s, e, n));
                continue;
            }
            let mut cut = s;
            let mut count = 0;
            for (i, _) in sentence.char_indices() {
                if count == max_chars {
                    pieces.push((cut, s + i, count));
                    cut = s + i;
                    count = 0;
                }
                count += 1;
            }
            pieces.push((cut, e, count));
        }
    }
    let mut chunks = Vec::new();
    let mut push = |start: usize, end: usize| {
        let c = text[start..end].trim();
        if !c.is_empty() {
            chunks.push(c);
        }
    };
    let (mut start, mut end, mut chars) = (0, 0, 0);
    for (s, e, n) in pieces {
        if chars + n > max_chars && chars > 0 {
            push(start, end);
            (start, chars) = (s, 0);
        }
        end = e;
        chars += n;
    }
    push(start, end);
    chunks
}

/// Ranges of `text` (offset by `base`) ending just after each character where `ends(c, next)`
/// holds, and the rest.
fn split_after(
    text: &str,
    base: usize,
    ends: impl Fn(char, Option<char>) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if ends(c, chars.peek().map(|&(_, n)| n)) {
            let end = i + c.len_utf8();
            out.push((base + start, base + end));
            start = end;
        }
    }
    if start < text.len() {
        out.push((base + start, base + text.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use adopt_core::NoopReporter;
    use adopt_trial::provider::UsageSource;
    use adopt_trial::{ChatResponse, FailureKind};

    use super::*;

    #[test]
    fn prompt_language_follows_the_text() {
        assert!(is_mostly_cjk(
            "花样游泳为女子水上项目，于1984年成为奥运比赛项目。"
        ));
        assert!(is_mostly_cjk("使用 API 和 GPU 部署大模型"));
        assert!(!is_mostly_cjk("The 华为 phone was released in 2019."));
        assert!(!is_mostly_cjk("Invoices are paid within 30 days."));
        assert!(!is_mostly_cjk("2024-01-01 12:00"));

        let zh = qa_prompt("花样游泳为女子水上项目。", 3, 40);
        assert_eq!(zh.len(), 2);
        assert!(zh[1].content.contains("提出3个"), "{}", zh[1].content);
        assert!(zh[1].content.contains("不超过40个字"));
        assert!(zh[1].content.ends_with("文本：\n花样游泳为女子水上项目。"));
        let en = qa_prompt("Invoices are paid within 30 days.", 2, 25);
        assert!(en[1].content.contains("write 2 questions"));
        assert!(en[1].content.contains("at most 25 characters"));
        assert!(en[1]
            .content
            .ends_with("Text:\nInvoices are paid within 30 days."));
        assert!(en[1]
            .content
            .contains(r#"[{"question": "...", "answer": "..."}]"#));
    }

    fn pairs(reply: &str) -> Option<Vec<QaItem>> {
        parse_qa_reply(reply)
    }

    fn qa(q: &str, a: &str) -> QaItem {
        Some((q.to_owned(), a.to_owned()))
    }

    #[test]
    fn replies_parse_bare_fenced_and_amid_prose() {
        let bare = r#"[{"question": "花样游泳何时成为奥运项目？", "answer": "1984年"}]"#;
        assert_eq!(
            pairs(bare),
            Some(vec![qa("花样游泳何时成为奥运项目？", "1984年")])
        );
        let fenced = "Here you go:\n```json\n[\n  {\"question\": \"Who pays?\", \"answer\": \"the buyer\"},\n  {\"question\": \"Within how long?\", \"answer\": \"30 days\"}\n]\n```\nHope this helps [1].";
        assert_eq!(
            pairs(fenced),
            Some(vec![
                qa("Who pays?", "the buyer"),
                qa("Within how long?", "30 days")
            ])
        );
        // Brackets in prose before the array, and brackets inside strings.
        let prose = r#"以下是问题 [共2个]：[{"question": "运动员有几人（不含教练]？", "answer": "9人"}, {"问题": "领队是谁？", "答案": "白慕炜"}] 完毕"#;
        assert_eq!(
            pairs(prose),
            Some(vec![
                qa("运动员有几人（不含教练]？", "9人"),
                qa("领队是谁？", "白慕炜")
            ])
        );
        // An object wrapping the list, and numbers as answers.
        let wrapped = r#"{"pairs": [{"q": "How many?", "a": 15}]}"#;
        assert_eq!(pairs(wrapped), Some(vec![qa("How many?", "15")]));
        // Objects one per line, no array.
        let lines =
            "{\"question\": \"A?\", \"answer\": \"a\"}\n{\"question\": \"B?\", \"answer\": \"b\"}";
        assert_eq!(pairs(lines), Some(vec![qa("A?", "a"), qa("B?", "b")]));
    }

    #[test]
    fn broken_replies_salvage_what_is_whole_or_give_none() {
        // Cut off by max-tokens: the complete first item survives.
        let cut = r#"[{"question": "A?", "answer": "a"}, {"question": "B?", "ans"#;
        assert_eq!(pairs(cut), Some(vec![qa("A?", "a")]));
        // Items without a question or an answer are reported as invalid.
        let partial = r#"[{"question": "A?", "answer": ""}, {"question": "B?"}, "text", {"question": "C?", "answer": "c"}]"#;
        assert_eq!(pairs(partial), Some(vec![None, None, None, qa("C?", "c")]));
        for broken in [
            "",
            "花样游泳为女子水上项目，于1984年洛杉矶奥运会正式成为奥运比赛项目",
            r#"[{"question": "A?", "answer": }]"#,
            "[]",
            "{}",
            "[1, 2, 3",
        ] {
            let got = pairs(broken);
            assert!(
                got.is_none() || got.as_ref().is_some_and(|v| v.iter().all(Option::is_none)),
                "{broken:?} -> {got:?}"
            );
        }
        assert_eq!(pairs(r#"[{"question": "A?", "answer": }]"#), None);
        assert_eq!(pairs("no json at all"), None);
    }

    /// Chunks are in order, within the limit, trimmed slices of the text that together hold all
    /// of its non-blank characters.
    fn check_chunks(text: &str, max: usize) -> Vec<&str> {
        let chunks = split_chunks(text, max);
        let mut from = 0;
        for c in &chunks {
            assert!(c.chars().count() <= max, "{c:?} over {max}");
            assert_eq!(c.trim(), *c);
            let at = text[from..]
                .find(c)
                .expect("chunk is a slice of the text, in order")
                + from;
            from = at + c.len();
        }
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(squash(&chunks.concat()), squash(text));
        chunks
    }

    #[test]
    fn chunking_prefers_paragraphs_then_sentences() {
        assert_eq!(check_chunks("short text", 100), vec!["short text"]);
        assert!(split_chunks("  \n\n ", 100).is_empty());

        // Paragraphs that fit share a chunk; one that does not starts the next.
        let p1 = "甲".repeat(40);
        let p2 = "乙".repeat(40);
        let p3 = "丙".repeat(40);
        let text = format!("{p1}\n\n{p2}\n{p3}\n");
        let chunks = check_chunks(&text, 90);
        assert_eq!(chunks, vec![format!("{p1}\n\n{p2}"), p3.clone()]);

        // A paragraph longer than the limit is cut after sentence ends, never mid-sentence.
        let sentence = |c: &str| format!("{}。", c.repeat(29));
        let long = [
            sentence("一"),
            sentence("二"),
            sentence("三"),
            sentence("四"),
        ]
        .concat();
        let chunks = check_chunks(&long, 70);
        assert_eq!(
            chunks,
            vec![
                [sentence("一"), sentence("二")].concat(),
                [sentence("三"), sentence("四")].concat()
            ]
        );
        let english =
            "First sentence here. Second one follows! Third? Version 3.5 stays whole. End";
        for c in check_chunks(english, 30) {
            assert!(!c.starts_with('5'), "{c:?}");
        }

        // A sentence longer than the limit is hard cut, on character boundaries.
        let run_on = "字".repeat(25);
        let chunks = check_chunks(&run_on, 10);
        assert_eq!(
            chunks.iter().map(|c| c.chars().count()).collect::<Vec<_>>(),
            vec![10, 10, 5]
        );
    }

    /// A chat model answering from a script, one reply per distinct chunk text.
    struct Scripted {
        reply: fn(&str) -> std::result::Result<String, FailureKind>,
        calls: AtomicU32,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
    }

    impl Scripted {
        fn new(reply: fn(&str) -> std::result::Result<String, FailureKind>) -> Self {
            Scripted {
                reply,
                calls: AtomicU32::new(0),
                in_flight: AtomicUsize::new(0),
                most_in_flight: AtomicUsize::new(0),
            }
        }
    }

    impl ChatModel for &'static Scripted {
        fn chat(&self, request: &ChatRequest) -> std::result::Result<ChatResponse, ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let prompt = &request.messages.last().expect("a user message").content;
            match (self.reply)(prompt) {
                Ok(content) => Ok(ChatResponse {
                    content,
                    finish_reason: Some("stop".into()),
                    input_tokens: 100,
                    output_tokens: 20,
                    usage: UsageSource::Reported,
                    streamed: false,
                    ttft_ms: None,
                    latency_ms: 10.0,
                    tokens_per_s: None,
                    attempts: 1,
                }),
                Err(kind) => Err(ProviderError {
                    model: "scripted".into(),
                    kind,
                    status: Some(503),
                    retry_after: None,
                    message: "HTTP 503: overloaded".into(),
                }),
            }
        }
    }

    fn llm_config(concurrency: usize) -> LlmQaConfig {
        LlmQaConfig {
            pairs_per_chunk: 3,
            max_chunk_chars: 100,
            min_chunk_chars: 5,
            endpoint: ModelConfig {
                name: "scripted".into(),
                model: "scripted".into(),
                base_url: Some("http://127.0.0.1:1/v1".into()),
                concurrency: Some(concurrency),
                ..ModelConfig::default()
            },
        }
    }

    #[test]
    fn generator_counts_requests_replies_and_drops() {
        static MODEL: LazyScripted = LazyScripted::new(|prompt| {
            Ok(if prompt.contains("鸟") {
                "好的：\n```json\n[{\"question\": \"公司成立于哪一年？\", \"answer\": \"2008年\"}, \
                 {\"question\": \"总部在哪里？\", \"answer\": \"北京\"}]\n```"
                    .into()
            } else if prompt.contains("鱼") {
                "I cannot help with that.".into()
            } else {
                r#"[{"question": "员工有多少人？", "answer": "300人"}, {"question": "x"}]"#.into()
            })
        });
        let qa = QaConfig::default();
        let llm = llm_config(3);
        let generator =
            LlmQaGenerator::with_model(&llm, &qa, "http://scripted/v1", Box::new(MODEL.get()));
        // Two chunks: the first line (with the founding year), then a line of filler.
        let a_text = format!(
            "{}公司成立于2008年，总部位于上海。\n{}。",
            "鸟".repeat(60),
            "鸟".repeat(90)
        );
        let mut a = LabelRecord::new("a", a_text);
        a.source_path = "docs/a.txt".into();
        let b = LabelRecord::new("b", format!("{}。该公司有员工300人。", "鱼".repeat(10)));
        let c = LabelRecord::new("c", "该公司有员工300人。");
        let set = generate_qa_set(&generator, &[a, b, c], &qa, &NoopReporter).unwrap();
        let stats = generator.stats();
        assert_eq!(stats.chunks, 4);
        assert_eq!((stats.requests, stats.replies, stats.failed), (4, 4, 0));
        assert_eq!(stats.unparseable, 1);
        assert_eq!(stats.invalid_items, 1);
        assert_eq!(stats.candidates, 5);
        assert_eq!(stats.output_tokens, 80);
        assert!(MODEL.get().most_in_flight.load(Ordering::SeqCst) <= 3);

        let r = &set.report;
        assert_eq!(r.generator, "llm:scripted");
        assert_eq!(r.candidates, stats.candidates);
        assert_eq!(
            r.kept
                + r.dropped_not_verbatim
                + r.dropped_length
                + r.dropped_duplicate
                + r.dropped_ambiguous
                + r.dropped_cap,
            r.candidates
        );
        // "北京" is in no chunk, and "2008年" is in the record but not in its second chunk,
        // whose model reply proposed it too.
        assert_eq!((r.kept, r.dropped_not_verbatim), (2, 3));
        let kept: Vec<(&str, &str)> = set
            .pairs
            .iter()
            .map(|p| (p.record_id.as_str(), p.answers[0].as_str()))
            .collect();
        assert_eq!(kept, vec![("a", "2008年"), ("c", "300人")]);
        assert_eq!(set.pairs[0].doc, "a.txt");
        assert_eq!(set.pairs[0].method, "llm:scripted");
        assert!(set.pairs[0].chunk.as_deref().unwrap().contains("2008年"));
    }

    #[test]
    fn a_failing_endpoint_trips_the_breaker() {
        static MODEL: LazyScripted = LazyScripted::new(|_| Err(FailureKind::Transient));
        let qa = QaConfig::default();
        let generator = LlmQaGenerator::with_model(
            &llm_config(2),
            &qa,
            "http://scripted/v1",
            Box::new(MODEL.get()),
        );
        let records: Vec<LabelRecord> = (0..20)
            .map(|i| LabelRecord::new(format!("r{i}"), "公司成立于2008年，总部位于上海。"))
            .collect();
        let set = generate_qa_set(&generator, &records, &qa, &NoopReporter).unwrap();
        let stats = generator.stats();
        assert!(set.pairs.is_empty());
        assert_eq!(stats.chunks, 20);
        assert_eq!(stats.requests, stats.failed);
        assert_eq!(stats.requests + stats.skipped, stats.chunks);
        assert!(stats.requests < 20 && stats.skipped > 0, "{stats:?}");
        assert!(stats.first_error.as_deref().unwrap().contains("503"));
    }

    /// A `Scripted` model in a static, so that `&'static Scripted` can be boxed as a model and
    /// still be inspected afterwards.
    struct LazyScripted(
        std::sync::OnceLock<Scripted>,
        fn(&str) -> std::result::Result<String, FailureKind>,
    );

    impl LazyScripted {
        const fn new(reply: fn(&str) -> std::result::Result<String, FailureKind>) -> Self {
            LazyScripted(std::sync::OnceLock::new(), reply)
        }
        fn get(&'static self) -> &'static Scripted {
            self.0.get_or_init(|| Scripted::new(self.1))
        }
    }

    #[test]
    fn config_parses_validates_and_resolves() {
        let text = r#"
            generator = "llm"
            max-per-record = 4
            [llm]
            pairs-per-chunk = 2
            [llm.endpoint]
            name = "qwen-7b"
            provider = "vllm"
            model = "Qwen/Qwen2.5-7B-Instruct"
            concurrency = 8
            params = { max-tokens = 300 }
        "#;
        let qa: QaConfig = toml::from_str(text).unwrap();
        let mut errors = Vec::new();
        qa.validate(&mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let llm = qa.llm.as_ref().unwrap();
        assert_eq!((llm.pairs_per_chunk, llm.max_chunk_chars), (2, 1500));
        let endpoint = llm.resolved_endpoint();
        assert_eq!(endpoint.base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(endpoint.concurrency, 8);
        let params = llm.request_params();
        assert_eq!(params.temperature, Some(0.0));
        assert_eq!(params.max_tokens, Some(300));
        assert_eq!(params.stream, Some(false));
        let back: QaConfig = toml::from_str(&toml::to_string(&qa).unwrap()).unwrap();
        assert_eq!(back, qa);

        let hosted: QaConfig = toml::from_str(
            "generator = \"llm\"\n[llm.endpoint]\nname = \"ds\"\nprovider = \"deepseek\"\nmodel = \"deepseek-chat\"",
        )
        .unwrap();
        let endpoint = hosted.llm.unwrap().resolved_endpoint();
        assert_eq!(endpoint.api_key_env.as_deref(), Some("DEEPSEEK_API_KEY"));

        for bad in [
            "generator = \"gpt\"",
            "[llm]\npairs = 3\n[llm.endpoint]\nname = \"x\"\nprovider = \"vllm\"\nmodel = \"m\"",
            "[llm.endpoint]\nname = \"x\"\nprovider = \"vllm\"\nmodel = \"m\"\nbase-ulr = \"http://x\"",
            "[llm]\npairs-per-chunk = 3",
        ] {
            assert!(toml::from_str::<QaConfig>(bad).is_err(), "{bad}");
        }

        let bad: QaConfig = toml::from_str(
            r#"
            generator = "llm"
            [llm]
            pairs-per-chunk = 0
            max-chunk-chars = 10
            [llm.endpoint]
            name = ""
            provider = "openai-compatible"
            model = ""
            api-key-env = "sk-123"
            concurrency = 0
            params = { temperature = 3.0 }
        "#,
        )
        .unwrap();
        let mut errors = Vec::new();
        bad.validate(&mut errors);
        // pairs, chunk size, min > max, name, model, base-url, key variable, concurrency,
        // temperature
        assert_eq!(errors.len(), 9, "{errors:#?}");
        assert!(
            errors.iter().all(|e| e.starts_with("qa.llm")),
            "{errors:#?}"
        );

        let missing: QaConfig = toml::from_str("generator = \"llm\"").unwrap();
        let mut errors = Vec::new();
        missing.validate(&mut errors);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("[qa.llm]"));
    }
}
