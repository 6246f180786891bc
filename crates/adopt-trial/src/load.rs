//! Latency under load: each model's endpoint driven at several concurrency levels (closed loop:
//! N streams, each sending its next request as soon as its previous one ends, like vLLM's
//! `--max-concurrency` and GuideLLM's `concurrent` profile) or request rates (open loop: Poisson
//! arrivals whatever the backlog, like vLLM's `--request-rate`), streamed, one attempt per request
//! and never from the cache.
//!
//! Per request, on the client's clock, as vLLM's `benchmark_serving.py` and GuideLLM define them:
//! - **TTFT**: request sent to the first chunk carrying text.
//! - **ITL** (inter-token latency): the gaps between consecutive text chunks, pooled over a
//!   level's requests (vLLM's `itl`; a chunk carrying several tokens is one gap).
//! - **TPOT**: (E2E - TTFT) / (output tokens - 1), a request's mean inter-token latency (vLLM's
//!   `tpot`, GuideLLM's per-request "inter-token latency"); the `itl-ms` objective is checked
//!   against it, as vLLM's `--goodput tpot:` and GuideLLM's `tpot_ms` objective are.
//! - **E2E**: request sent to the last byte of the answer.
//!
//! Per level: duration is first send to last completion; request throughput = completed /
//! duration; output tokens/s = output tokens of completed requests / duration; goodput =
//! completed requests meeting every objective / duration (vLLM's `request_goodput`); SLO
//! attainment = those / requests sent, failures counting against (GuideLLM). Mean, median and
//! p99 use linear interpolation (numpy's default). Output tokens are the server's usage counts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adopt_core::Reporter;
use serde::{Deserialize, Serialize};

use crate::config::{RequestParams, TrialConfig};
use crate::error::{FailureKind, ProviderError, Result, TrialError};
use crate::plan::{ModelPlan, TrialPlan};
use crate::provider::{ChatModel, ChatRequest, Message, OpenAiCompatible, TimedResponse};
use crate::report::ModelFailure;
use crate::stats::{percentile, SplitMix64};
use crate::tasks::TaskSuite;
use crate::tokenize::estimate_tokens;

/// Files a load test writes in the trial's output folder.
pub mod files {
    /// The summary ([`super::LoadReport`]): settings, one row per model and level, failures.
    pub const SUMMARY: &str = "load_summary.json";
    /// One flat row per model and level ([`super::LoadLevel`]); the trial stage adds Parquet.
    pub const LEVELS: &str = "load.jsonl";
    /// One flat row per request ([`super::LoadRequest`]).
    pub const REQUESTS: &str = "load_requests.jsonl";
    /// TTFT per level, and throughput against latency.
    pub const CHART: &str = "load.svg";
}

/// Concurrency levels measured when `[trial.load]` gives neither levels nor rates.
pub const DEFAULT_CONCURRENCY: [usize; 4] = [1, 2, 4, 8];

/// The `[trial.load]` table: how hard to drive each endpoint, with which prompts, and what
/// latency is good enough.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoadConfig {
    /// Closed-loop levels: this many requests in flight at once (default [1, 2, 4, 8] unless
    /// `rates` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Vec<usize>>,
    /// Open-loop levels: requests per second, arriving as a Poisson process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<f64>,
    /// Requests measured per level (default: 4 per concurrent stream and at least 16; 16 per
    /// rate). With `duration-secs` alone, a level sends until the time is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<usize>,
    /// Longest time a level sends new requests, in seconds; requests in flight then finish and
    /// count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Where the prompts come from.
    #[serde(default)]
    pub prompts: LoadPrompts,
    /// With `prompts = "tasks"`: the tasks whose items are sent, in turn (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<String>>,
    /// With `prompts = "synthetic"`: prompt length in tokens (estimated; default 256). Each
    /// prompt is distinct, so a server's prefix cache does not flatter it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u32>,
    /// Most tokens per answer (`max-tokens`): default 128 for synthetic prompts, the task's own
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u32>,
    /// Send `ignore_eos`, so that every answer runs to `output-tokens` (vLLM, SGLang and
    /// llama.cpp accept it; hosted APIs may reject it).
    #[serde(default)]
    pub ignore_eos: bool,
    /// The models to measure (default: every swept model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Requests sent to each model before its first level and not measured (default 1): they
    /// check the endpoint and warm it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<usize>,
    /// Seed of the arrivals and the synthetic prompts (default: the trial's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Service-level objectives that goodput counts against.
    #[serde(default)]
    pub slo: Slo,
}

/// Which prompts a load test sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadPrompts {
    /// The trial's own task items, as the sweep sends them, cycled.
    #[default]
    Tasks,
    /// Generated prompts of `input-tokens`, answered with up to `output-tokens`.
    Synthetic,
}

/// Latency a request must stay within to count towards goodput; unset objectives do not apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Slo {
    /// Time to first token, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Mean inter-token latency of the request (TPOT), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_ms: Option<f64>,
    /// End-to-end latency, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ms: Option<f64>,
}

impl Slo {
    pub fn is_set(&self) -> bool {
        self.ttft_ms.is_some() || self.itl_ms.is_some() || self.e2e_ms.is_some()
    }

    /// Whether a completed request met every objective; one whose TTFT is unknown (the server
    /// did not stream) fails a TTFT objective. Answers of one token have a TPOT of 0, as vLLM
    /// counts them.
    fn met(&self, ttft: Option<f64>, tpot: Option<f64>, e2e: f64) -> bool {
        let within = |v: Option<f64>, limit: Option<f64>| match limit {
            None => true,
            Some(l) => v.is_some_and(|v| v <= l),
        };
        within(ttft, self.ttft_ms)
            && within(Some(tpot.unwrap_or(0.0)), self.itl_ms)
            && within(Some(e2e), self.e2e_ms)
    }
}

/// One level of load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// This many requests in flight at once.
    Concurrency(usize),
    /// Requests per second, Poisson arrivals.
    Rate(f64),
}

impl Level {
    /// "c=4" or "2 req/s".
    pub fn label(&self) -> String {
        match self {
            Level::Concurrency(n) => format!("c={n}"),
            Level::Rate(r) => format!("{r} req/s"),
        }
    }
}

fn is_local(url: Option<&str>) -> bool {
    url.is_some_and(|u| u.starts_with("local:"))
}

impl LoadConfig {
    /// The levels, concurrency first.
    pub fn levels(&self) -> Vec<Level> {
        let conc = match (&self.concurrency, self.rates.is_empty()) {
            (Some(c), _) => c.clone(),
            (None, true) => DEFAULT_CONCURRENCY.to_vec(),
            (None, false) => Vec::new(),
        };
        conc.into_iter()
            .map(Level::Concurrency)
            .chain(self.rates.iter().map(|&r| Level::Rate(r)))
            .collect()
    }

    /// Requests sent at `level`; `None` means "until `duration-secs` is up".
    pub fn requests_for(&self, level: Level) -> Option<usize> {
        match (self.requests, self.duration_secs) {
            (Some(n), _) => Some(n),
            (None, Some(_)) => None,
            (None, None) => Some(match level {
                Level::Concurrency(n) => (4 * n).max(16),
                Level::Rate(_) => 16,
            }),
        }
    }

    /// The names of the models measured.
    pub fn model_names<'a>(&'a self, trial: &'a TrialConfig) -> Vec<&'a str> {
        match &self.models {
            Some(m) => m.iter().map(String::as_str).collect(),
            None => trial.swept_models().map(|m| m.name.as_str()).collect(),
        }
    }

    /// Checks the table against the trial, adding every problem to `errors`.
    pub fn validate(&self, trial: &TrialConfig, errors: &mut Vec<String>) {
        let at = "load";
        if let Some(c) = &self.concurrency {
            if c.is_empty() && self.rates.is_empty() {
                errors.push(format!(
                    "{at}.concurrency: give at least one level (or rates)"
                ));
            }
            for &n in c {
                if !(1..=4096).contains(&n) {
                    errors.push(format!("{at}.concurrency: level {n} is outside 1..=4096"));
                }
            }
        }
        for &r in &self.rates {
            if !(r.is_finite() && r > 0.0) {
                errors.push(format!(
                    "{at}.rates: {r} requests per second must be positive"
                ));
            }
        }
        if self.requests == Some(0) {
            errors.push(format!("{at}.requests must be at least 1"));
        }
        if let Some(d) = self.duration_secs {
            if !(d.is_finite() && d > 0.0) {
                errors.push(format!("{at}.duration-secs {d} must be positive"));
            }
        }
        for (name, v) in [
            ("input-tokens", self.input_tokens),
            ("output-tokens", self.output_tokens),
        ] {
            if v == Some(0) {
                errors.push(format!("{at}.{name} must be at least 1"));
            }
        }
        match self.prompts {
            LoadPrompts::Tasks => {
                if self.input_tokens.is_some() {
                    errors.push(format!(
                        "{at}.input-tokens only applies to prompts = \"synthetic\""
                    ));
                }
                for t in self.tasks.iter().flatten() {
                    if !trial.tasks.iter().any(|task| &task.name == t) {
                        errors.push(format!("{at}.tasks: {t:?} is not one of [[trial.tasks]]"));
                    }
                }
                if self.tasks.as_ref().is_some_and(Vec::is_empty) {
                    errors.push(format!("{at}.tasks is empty"));
                }
            }
            LoadPrompts::Synthetic => {
                if self.tasks.is_some() {
                    errors.push(format!("{at}.tasks only applies to prompts = \"tasks\""));
                }
            }
        }
        for (name, v) in [
            ("ttft-ms", self.slo.ttft_ms),
            ("itl-ms", self.slo.itl_ms),
            ("e2e-ms", self.slo.e2e_ms),
        ] {
            if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                errors.push(format!("{at}.slo.{name} must be a positive number of ms"));
            }
        }
        if self.models.as_ref().is_some_and(Vec::is_empty) {
            errors.push(format!("{at}.models is empty"));
        }
        let above_one = self.levels().iter().any(|l| match l {
            Level::Concurrency(n) => *n > 1,
            Level::Rate(_) => true,
        });
        for name in self.model_names(trial) {
            match trial.models.iter().find(|m| m.name == name) {
                None => errors.push(format!(
                    "{at}.models: {name:?} is not one of [[trial.models]]"
                )),
                Some(m) if m.judge_only => errors.push(format!(
                    "{at}.models: {name} is judge-only; measure the models of the sweep"
                )),
                Some(m) if is_local(m.base_url.as_deref()) && above_one => errors.push(format!(
                    "{at}: model {name} runs in-process (base-url local:...), one request at a \
                     time, so it can be measured at concurrency 1 only: set concurrency = [1] \
                     without rates, or leave it out with load.models"
                )),
                Some(_) => {}
            }
        }
    }
}

/// Figures of one model at one level: a flat row of `load.parquet`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadLevel {
    pub model: String,
    /// "c=4" or "2 req/s".
    pub level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Requests per second offered (open loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Requests sent.
    pub requests: usize,
    pub completed: usize,
    pub errors: usize,
    /// First send to last completion, seconds.
    pub duration_s: f64,
    /// Completed requests per second.
    pub request_throughput: f64,
    /// Output tokens of completed requests per second.
    pub output_tokens_per_s: f64,
    /// Input and output tokens per second.
    pub total_tokens_per_s: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_mean_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_p99_ms: Option<f64>,
    /// Pooled gaps between text chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_mean_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_p99_ms: Option<f64>,
    /// Per-request mean inter-token latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_mean_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_p99_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_mean_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_p99_ms: Option<f64>,
    /// Completed requests meeting every objective; `None` without objectives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<usize>,
    /// Those per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput: Option<f64>,
    /// Those over requests sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_attainment: Option<f64>,
}

/// One request of a load test: a flat row of `load_requests.parquet`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadRequest {
    pub model: String,
    pub level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Order of sending within the level.
    pub index: usize,
    /// When it was sent, ms after the level began.
    pub sent_ms: f64,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ms: Option<f64>,
    /// Text chunks received.
    pub chunks: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Token counts are our estimate (the server sent no usage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_estimated: Option<bool>,
    /// Met every objective; `None` without objectives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything a load test found (`load_summary.json`, and `load` in the trial report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Hash of the settings, endpoints and prompts: figures with the same fingerprint are reused
    /// instead of measured again.
    pub fingerprint: String,
    /// Taken from an earlier run's `load_summary.json`.
    pub reused: bool,
    /// The prompts, in words.
    pub prompts: String,
    pub slo: Slo,
    pub levels: Vec<LoadLevel>,
    /// Models that could not be measured (`skipped_items` counts the levels left out).
    pub failures: Vec<ModelFailure>,
    pub notes: Vec<String>,
}

/// What one model is sent: request `i` of a level.
enum PromptSource {
    Tasks(Vec<ChatRequest>),
    Synthetic {
        seed: u64,
        input_tokens: u32,
        params: RequestParams,
    },
}

impl PromptSource {
    fn request(&self, i: usize) -> ChatRequest {
        match self {
            PromptSource::Tasks(items) => items[i % items.len()].clone(),
            PromptSource::Synthetic {
                seed,
                input_tokens,
                params,
            } => ChatRequest {
                messages: vec![Message::user(synthetic_prompt(*seed, i, *input_tokens))],
                params: params.clone(),
            },
        }
    }
}

/// Short words that are one token in the usual BPE vocabularies, so the estimate holds.
const WORDS: [&str; 48] = [
    "the", "cat", "sat", "on", "a", "red", "mat", "and", "dog", "ran", "to", "big", "old", "sun",
    "sky", "sea", "day", "way", "man", "can", "one", "two", "six", "ten", "box", "fox", "hat",
    "bag", "cup", "pen", "map", "key", "car", "bus", "job", "law", "tax", "fee", "sum", "net",
    "pay", "buy", "new", "low", "top", "end", "set", "run",
];

/// A distinct prompt of about `tokens` tokens (chat framing included) for request `i`.
fn synthetic_prompt(seed: u64, i: usize, tokens: u32) -> String {
    let mut rng = SplitMix64::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut s = format!("Request {i}. Write a long story that uses these words:");
    // 7 tokens of framing: 4 for the message, 3 for the reply's start.
    while estimate_tokens(&s) + 7 < u64::from(tokens) {
        s.push(' ');
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    s
}

fn prompts_for(
    model: &ModelPlan,
    cfg: &LoadConfig,
    plan: &TrialPlan,
    suites: &[TaskSuite],
    seed: u64,
) -> PromptSource {
    let stream = |mut p: RequestParams, max: Option<u32>| {
        p.stream = Some(true);
        if let Some(m) = max {
            p.max_tokens = Some(m);
        }
        p
    };
    match cfg.prompts {
        LoadPrompts::Synthetic => {
            let mut params = stream(model.params.clone(), Some(cfg.output_tokens.unwrap_or(128)));
            params.temperature.get_or_insert(0.0);
            PromptSource::Synthetic {
                seed,
                input_tokens: cfg.input_tokens.unwrap_or(256),
                params,
            }
        }
        LoadPrompts::Tasks => {
            let chosen: Vec<(usize, &TaskSuite)> = suites
                .iter()
                .enumerate()
                .filter(|(_, s)| cfg.tasks.as_ref().is_none_or(|t| t.contains(&s.name)))
                .collect();
            let longest = chosen.iter().map(|(_, s)| s.items.len()).max().unwrap_or(0);
            let mut items = Vec::new();
            // In turn: item 0 of every task, then item 1, ...
            for i in 0..longest {
                for (ti, suite) in &chosen {
                    if let Some(item) = suite.items.get(i) {
                        let params =
                            stream(model.params_for(&plan.config.tasks[*ti]), cfg.output_tokens);
                        items.push(ChatRequest {
                            messages: item.messages.clone(),
                            params,
                        });
                    }
                }
            }
            PromptSource::Tasks(items)
        }
    }
}

/// A completed or failed request, as measured.
struct Sample {
    index: usize,
    sent_ms: f64,
    outcome: std::result::Result<TimedResponse, ProviderError>,
}

/// Runs one level against `client` and returns its samples and its duration in seconds.
fn run_level(
    client: &dyn ChatModel,
    prompts: &PromptSource,
    level: Level,
    cap: Option<usize>,
    duration: Option<Duration>,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> (Vec<Sample>, f64) {
    let samples = Mutex::new(Vec::new());
    let start = Instant::now();
    let one = |i: usize| {
        let request = prompts.request(i);
        let sent = start.elapsed();
        let outcome = client.chat_timed(&request);
        samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Sample {
                index: i,
                sent_ms: sent.as_secs_f64() * 1000.0,
                outcome,
            });
        progress();
    };
    let past_deadline = |t: Instant| duration.is_some_and(|d| t >= start + d);
    match level {
        Level::Concurrency(n) => {
            let next = AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(|| loop {
                        if past_deadline(Instant::now()) {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if cap.is_some_and(|c| i >= c) {
                            break;
                        }
                        one(i);
                    });
                }
            });
        }
        Level::Rate(rate) => {
            let mut rng = SplitMix64::new(seed);
            std::thread::scope(|s| {
                let mut t = 0.0f64;
                for i in 0.. {
                    let at = start + Duration::from_secs_f64(t);
                    if cap.is_some_and(|c| i >= c) || past_deadline(at) {
                        break;
                    }
                    if let Some(wait) = at.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let one = &one;
                    s.spawn(move || one(i));
                    // Exponential gaps make Poisson arrivals (vLLM's burstiness 1).
                    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    t += -(1.0 - u).ln() / rate;
                }
            });
        }
    }
    let mut samples = samples.into_inner().unwrap_or_else(|p| p.into_inner());
    samples.sort_by_key(|s| s.index);
    (samples, start.elapsed().as_secs_f64())
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The level's row and its requests' rows.
fn summarise(
    model: &str,
    level: Level,
    samples: &[Sample],
    duration_s: f64,
    slo: &Slo,
) -> (LoadLevel, Vec<LoadRequest>) {
    let (concurrency, rate) = match level {
        Level::Concurrency(n) => (Some(n), None),
        Level::Rate(r) => (None, Some(r)),
    };
    let mut rows = Vec::with_capacity(samples.len());
    let (mut ttft, mut tpot, mut e2e, mut itl) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut input, mut output, mut good) = (0u64, 0u64, 0usize);
    for s in samples {
        let mut row = LoadRequest {
            model: model.to_string(),
            level: level.label(),
            concurrency,
            rate,
            index: s.index,
            sent_ms: s.sent_ms,
            ..LoadRequest::default()
        };
        match &s.outcome {
            Ok(t) => {
                let r = &t.response;
                let first = r.ttft_ms;
                let per_token = first
                    .filter(|_| r.output_tokens > 1)
                    .map(|f| (r.latency_ms - f) / (r.output_tokens - 1) as f64);
                itl.extend(t.chunk_ms.windows(2).map(|w| w[1] - w[0]));
                ttft.extend(first);
                tpot.extend(per_token);
                e2e.push(r.latency_ms);
                input += r.input_tokens;
                output += r.output_tokens;
                let met = slo
                    .is_set()
                    .then(|| slo.met(first, per_token, r.latency_ms));
                good += usize::from(met == Some(true));
                row = LoadRequest {
                    ok: true,
                    ttft_ms: first,
                    tpot_ms: per_token,
                    e2e_ms: Some(r.latency_ms),
                    chunks: t.chunk_ms.len(),
                    input_tokens: Some(r.input_tokens),
                    output_tokens: Some(r.output_tokens),
                    usage_estimated: Some(r.usage == crate::provider::UsageSource::Estimated),
                    good: met,
                    ..row
                };
            }
            Err(e) => {
                row.error = Some(e.message.clone());
                row.good = slo.is_set().then_some(false);
            }
        }
        rows.push(row);
    }
    let completed = e2e.len();
    let per_s = |v: f64| {
        if duration_s > 0.0 {
            v / duration_s
        } else {
            0.0
        }
    };
    let row = LoadLevel {
        model: model.to_string(),
        level: level.label(),
        concurrency,
        rate,
        requests: samples.len(),
        completed,
        errors: samples.len() - completed,
        duration_s,
        request_throughput: per_s(completed as f64),
        output_tokens_per_s: per_s(output as f64),
        total_tokens_per_s: per_s((input + output) as f64),
        input_tokens: input,
        output_tokens: output,
        ttft_mean_ms: mean(&ttft),
        ttft_p50_ms: percentile(&ttft, 0.5),
        ttft_p99_ms: percentile(&ttft, 0.99),
        itl_mean_ms: mean(&itl),
        itl_p50_ms: percentile(&itl, 0.5),
        itl_p99_ms: percentile(&itl, 0.99),
        tpot_mean_ms: mean(&tpot),
        tpot_p50_ms: percentile(&tpot, 0.5),
        tpot_p99_ms: percentile(&tpot, 0.99),
        e2e_mean_ms: mean(&e2e),
        e2e_p50_ms: percentile(&e2e, 0.5),
        e2e_p99_ms: percentile(&e2e, 0.99),
        good: slo.is_set().then_some(good),
        goodput: slo.is_set().then(|| per_s(good as f64)),
        slo_attainment: slo
            .is_set()
            .then(|| good as f64 / samples.len().max(1) as f64),
    };
    (row, rows)
}

/// The client a load test uses for `model`: the one given (in-process engines, tests), or an
/// HTTP client whose connection pool fits the highest level and whose requests carry the
/// table's extra fields.
fn load_client(
    model: &ModelPlan,
    cfg: &LoadConfig,
    given: &HashMap<String, Arc<dyn ChatModel>>,
) -> std::result::Result<Arc<dyn ChatModel>, ProviderError> {
    if let Some(c) = given.get(&model.name) {
        return Ok(c.clone());
    }
    let mut endpoint = model.endpoint.clone();
    let widest = cfg
        .levels()
        .iter()
        .map(|l| match l {
            Level::Concurrency(n) => *n,
            Level::Rate(r) => (r.ceil() as usize).clamp(1, 64),
        })
        .max()
        .unwrap_or(1);
    endpoint.concurrency = endpoint.concurrency.max(widest);
    if cfg.ignore_eos {
        endpoint
            .extra_body
            .insert("ignore_eos".into(), serde_json::Value::Bool(true));
    }
    Ok(Arc::new(OpenAiCompatible::new(endpoint)?))
}

/// What the figures depend on: the table, the seed, and each measured model's endpoint and
/// prompts.
fn fingerprint(cfg: &LoadConfig, seed: u64, models: &[(&ModelPlan, PromptSource)]) -> String {
    let models: Vec<serde_json::Value> = models
        .iter()
        .map(|(m, p)| {
            let sample: Vec<ChatRequest> = match p {
                PromptSource::Tasks(items) => items.clone(),
                PromptSource::Synthetic { .. } => vec![p.request(0)],
            };
            serde_json::json!({
                "name": m.name,
                "base_url": m.endpoint.base_url,
                "model": m.endpoint.model,
                "prompts": adopt_core::ContentHash::of(
                    serde_json::to_string(&sample).unwrap_or_default().as_bytes()
                )
                .hex(),
            })
        })
        .collect();
    let canonical = serde_json::json!({ "v": 1, "load": cfg, "seed": seed, "models": models });
    adopt_core::ContentHash::of(canonical.to_string().as_bytes()).hex()
}

/// Measures latency under load for the trial's `[trial.load]` table (or the defaults), writing
/// [`files`] into `out_dir`. Figures of an earlier run with the same fingerprint are reused unless
/// `again`.
pub fn measure_load(
    plan: &TrialPlan,
    suites: &[TaskSuite],
    given: &HashMap<String, Arc<dyn ChatModel>>,
    out_dir: &Path,
    again: bool,
    reporter: &dyn Reporter,
) -> Result<LoadReport> {
    let config = &plan.config;
    let cfg = config.load.clone().unwrap_or_default();
    // `--load` without a table: the defaults must fit the trial too (local models).
    let mut errors = Vec::new();
    cfg.validate(config, &mut errors);
    if !errors.is_empty() {
        return Err(TrialError::InvalidConfig(errors));
    }
    let seed = cfg.seed.unwrap_or(config.seed);
    let models: Vec<(&ModelPlan, PromptSource)> = cfg
        .model_names(config)
        .into_iter()
        .filter_map(|name| plan.model(name))
        .map(|m| (m, prompts_for(m, &cfg, plan, suites, seed)))
        .collect();
    let print = fingerprint(&cfg, seed, &models);
    let summary_path = out_dir.join(files::SUMMARY);
    if !again {
        if let Ok(bytes) = std::fs::read(&summary_path) {
            if let Ok(mut prev) = serde_json::from_slice::<LoadReport>(&bytes) {
                if prev.fingerprint == print {
                    prev.reused = true;
                    return Ok(prev);
                }
            }
        }
    }
    let levels = cfg.levels();
    let mut report = LoadReport {
        fingerprint: print,
        reused: false,
        prompts: match cfg.prompts {
            LoadPrompts::Synthetic => format!(
                "synthetic: about {} input tokens, up to {} output tokens{}",
                cfg.input_tokens.unwrap_or(256),
                cfg.output_tokens.unwrap_or(128),
                if cfg.ignore_eos { ", ignore_eos" } else { "" }
            ),
            LoadPrompts::Tasks => format!(
                "task items ({}), cycled",
                cfg.tasks
                    .clone()
                    .unwrap_or_else(|| suites.iter().map(|s| s.name.clone()).collect())
                    .join(", ")
            ),
        },
        slo: cfg.slo,
        ..LoadReport::default()
    };
    let mut requests = Vec::new();
    for (model, prompts) in &models {
        if matches!(prompts, PromptSource::Tasks(items) if items.is_empty()) {
            continue;
        }
        let client = match load_client(model, &cfg, given) {
            Ok(c) => c,
            Err(e) => {
                report.failures.push(ModelFailure {
                    model: model.name.clone(),
                    message: e.message,
                    skipped_items: levels.len(),
                });
                continue;
            }
        };
        // Warm-up, like vLLM's initial test prompt: a failing endpoint is reported, not timed.
        let warm = (0..cfg.warmup.unwrap_or(1))
            .map(|i| client.chat_timed(&prompts.request(usize::MAX - i)))
            .find_map(|r| r.err());
        if let Some(e) = warm {
            reporter.warn(&format!(
                "load {}: warm-up failed: {}",
                model.name, e.message
            ));
            report.failures.push(ModelFailure {
                model: model.name.clone(),
                message: format!("warm-up request failed: {}", e.message),
                skipped_items: levels.len(),
            });
            continue;
        }
        let total: usize = levels.iter().filter_map(|&l| cfg.requests_for(l)).sum();
        reporter.start(&format!("load {}", model.name), total as u64);
        for (li, &level) in levels.iter().enumerate() {
            let label = format!("{} {}", model.name, level.label());
            let (samples, duration_s) = run_level(
                client.as_ref(),
                prompts,
                level,
                cfg.requests_for(level),
                cfg.duration_secs.map(Duration::from_secs_f64),
                seed ^ li as u64,
                &|| reporter.advance(&label),
            );
            let (row, rows) = summarise(&model.name, level, &samples, duration_s, &cfg.slo);
            let permanent = samples
                .iter()
                .filter_map(|s| s.outcome.as_ref().err())
                .find(|e| e.kind == FailureKind::Permanent);
            report.levels.push(row);
            requests.extend(rows);
            if let Some(e) = permanent {
                reporter.warn(&format!("load {}: stopped: {}", model.name, e.message));
                report.failures.push(ModelFailure {
                    model: model.name.clone(),
                    message: e.message.clone(),
                    skipped_items: levels.len() - li - 1,
                });
                break;
            }
        }
        reporter.finish();
    }
    if requests.iter().any(|r| r.usage_estimated == Some(true)) {
        report.notes.push(
            "some answers came without a usage object: their output tokens are estimated from the text"
                .into(),
        );
    }
    if requests.iter().any(|r| r.ok && r.chunks == 0) {
        report.notes.push(
            "some answers came without streamed chunks (an in-process engine, or a server that \
             ignored `stream`): they have no ITL samples"
                .into(),
        );
    }
    write_load(out_dir, &report, &requests)?;
    Ok(report)
}

fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut bytes = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut bytes, r).map_err(|e| TrialError::io(path, e.into()))?;
        bytes.push(b'\n');
    }
    adopt_core::layout::write_atomic(path, &bytes).map_err(|e| TrialError::io(path, e))
}

fn write_load(out_dir: &Path, report: &LoadReport, requests: &[LoadRequest]) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|e| TrialError::io(out_dir, e))?;
    write_jsonl(&out_dir.join(files::LEVELS), &report.levels)?;
    write_jsonl(&out_dir.join(files::REQUESTS), requests)?;
    let chart = out_dir.join(files::CHART);
    adopt_core::layout::write_atomic(&chart, crate::svg::render_load_svg(report).as_bytes())
        .map_err(|e| TrialError::io(&chart, e))?;
    // The summary last: its fingerprint says the files beside it are complete.
    let path = out_dir.join(files::SUMMARY);
    let json = serde_json::to_vec_pretty(report).map_err(|e| TrialError::io(&path, e.into()))?;
    adopt_core::layout::write_atomic(&path, &json).map_err(|e| TrialError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{ChatResponse, UsageSource};

    fn ok(ttft: f64, e2e: f64, tokens: u64, chunks: &[f64]) -> Sample {
        Sample {
            index: 0,
            sent_ms: 0.0,
            outcome: Ok(TimedResponse {
                response: ChatResponse {
                    content: "x".into(),
                    finish_reason: Some("stop".into()),
                    input_tokens: 10,
                    output_tokens: tokens,
                    usage: UsageSource::Reported,
                    streamed: true,
                    ttft_ms: Some(ttft),
                    latency_ms: e2e,
                    tokens_per_s: None,
                    attempts: 1,
                },
                chunk_ms: chunks.to_vec(),
            }),
        }
    }

    #[test]
    fn level_figures_follow_the_vllm_definitions() {
        let failed = Sample {
            index: 3,
            sent_ms: 0.0,
            outcome: Err(ProviderError {
                model: "m".into(),
                kind: FailureKind::Transient,
                status: Some(503),
                retry_after: None,
                message: "busy".into(),
            }),
        };
        let samples = vec![
            ok(100.0, 400.0, 4, &[100.0, 200.0, 300.0, 400.0]),
            ok(300.0, 1300.0, 3, &[300.0, 800.0, 1300.0]),
            ok(50.0, 50.0, 1, &[50.0]),
            failed,
        ];
        let slo = Slo {
            ttft_ms: Some(200.0),
            itl_ms: Some(150.0),
            e2e_ms: None,
        };
        let (row, rows) = summarise("m", Level::Concurrency(2), &samples, 2.0, &slo);
        assert_eq!((row.requests, row.completed, row.errors), (4, 3, 1));
        assert_eq!(row.request_throughput, 1.5);
        assert_eq!(row.output_tokens, 8);
        assert_eq!(row.output_tokens_per_s, 4.0);
        // TPOT: (400-100)/3 = 100 and (1300-300)/2 = 500; the one-token answer has none.
        assert_eq!(row.tpot_mean_ms, Some(300.0));
        // ITL: gaps 100, 100, 100, 500, 500, pooled.
        assert_eq!(row.itl_p50_ms, Some(100.0));
        assert_eq!(row.itl_mean_ms, Some(260.0));
        assert_eq!(row.ttft_p50_ms, Some(100.0));
        // Good: the first (TTFT 100, TPOT 100) and the one-token answer (TPOT counts 0).
        assert_eq!(row.good, Some(2));
        assert_eq!(row.goodput, Some(1.0));
        assert_eq!(row.slo_attainment, Some(0.5));
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3].good, Some(false));
        assert!(rows[3].error.is_some());
    }

    #[test]
    fn synthetic_prompts_are_distinct_and_about_the_length_asked() {
        let a = synthetic_prompt(7, 0, 200);
        let b = synthetic_prompt(7, 1, 200);
        assert_ne!(a, b);
        let est = estimate_tokens(&a) + 7;
        assert!((200..=202).contains(&est), "{est}");
    }
}
