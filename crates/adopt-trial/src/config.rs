//! The trial file as written by people: a `[trial]` table, standalone or inside a pipeline file.
//! These types only describe; [`TrialConfig::validate`] checks everything at once and
//! [`crate::plan::TrialPlan`] holds the resolved settings the run uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalogue::{PriceCatalogue, PriceEntry};
use crate::error::{Result, TrialError};
use crate::provider::ProviderKind;

/// A model-size trial: which models to try, on which of the enterprise's tasks, and what counts as
/// good enough.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrialConfig {
    /// A name for the trial, shown in the report.
    #[serde(default)]
    pub name: Option<String>,
    /// Currency every cost is reported in (ISO code, e.g. "CNY", "USD").
    #[serde(default = "default_currency")]
    pub currency: String,
    /// How many units of `currency` one unit of another currency is worth, e.g. `{ USD = 7.2 }`;
    /// needed for every model priced in another currency.
    #[serde(default)]
    pub exchange_rates: BTreeMap<String, f64>,
    /// Tasks per month expected in production, for the monthly cost projection (a task may override).
    #[serde(default)]
    pub monthly_volume: Option<u64>,
    /// Seed of the bootstrap resampling, so that confidence intervals repeat from run to run.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Number of bootstrap resamples behind each confidence interval.
    #[serde(default = "default_resamples")]
    pub bootstrap_resamples: usize,
    /// Confidence level of the quality intervals, between 0 and 1.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Which model the recommendation picks among those that meet the quality bar.
    #[serde(default)]
    pub prefer: Preference,
    /// Folder of the response cache; share it between runs (and out dirs) so re-runs cost nothing.
    /// Relative to the trial file; default: `cache/` in the output folder.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Request parameters for every model and task unless a model or task overrides them.
    #[serde(default)]
    pub defaults: RequestParams,
    /// What quality is good enough.
    #[serde(default)]
    pub quality_bar: QualityBar,
    /// Prices added to, or replacing (same `id`), the catalogue shipped with adopt.
    #[serde(default)]
    pub prices: Vec<PriceEntry>,
    /// The models to try.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// The task suites every model runs.
    #[serde(default)]
    pub tasks: Vec<TaskConfig>,
    /// An LLM that grades answers against a rubric, in addition to the automatic metrics.
    #[serde(default)]
    pub judge: Option<JudgeConfig>,
    /// Hosted models (price catalogue ids, e.g. "deepseek-v2") whose list price for the same
    /// work is shown beside the models tried: each task's measured tokens per item at that
    /// price. Nothing is sent to them; their quality is not measured.
    #[serde(default)]
    pub cost_comparison: Vec<String>,
    /// Latency under load (`[trial.load]`): TTFT, inter-token latency, throughput and goodput of
    /// each model's endpoint at several concurrency levels or request rates.
    #[serde(default)]
    pub load: Option<crate::load::LoadConfig>,
    /// Folder that relative paths are resolved against: the trial file's folder.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

fn default_currency() -> String {
    "CNY".into()
}
fn default_seed() -> u64 {
    42
}
fn default_resamples() -> usize {
    1000
}
fn default_confidence() -> f64 {
    0.95
}

/// Which qualifying model to recommend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preference {
    /// Fewest parameters (ties and unknown sizes broken by cost): what to self-host.
    #[default]
    Smallest,
    /// Lowest cost per task: what to buy.
    Cheapest,
    /// Lowest p95 latency.
    Fastest,
}

/// Sampling and length settings sent with each request. Unset fields are left to the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequestParams {
    /// Sampling temperature; 0 makes answers (nearly) repeatable, which a trial wants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Most tokens to generate per answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling seed, for servers that honour it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Stream the answer (SSE), which is needed to measure time to first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Strings that end generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
}

impl RequestParams {
    /// `self`, with unset fields taken from `base`.
    pub fn or(&self, base: &RequestParams) -> RequestParams {
        RequestParams {
            temperature: self.temperature.or(base.temperature),
            top_p: self.top_p.or(base.top_p),
            max_tokens: self.max_tokens.or(base.max_tokens),
            seed: self.seed.or(base.seed),
            stream: self.stream.or(base.stream),
            stop: self.stop.clone().or_else(|| base.stop.clone()),
        }
    }

    fn validate(&self, at: &str, errors: &mut Vec<String>) {
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) {
                errors.push(format!("{at}: temperature {t} is outside 0..=2"));
            }
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                errors.push(format!("{at}: top-p {p} is outside (0, 1]"));
            }
        }
        if self.max_tokens == Some(0) {
            errors.push(format!("{at}: max-tokens must be at least 1"));
        }
    }
}

/// What quality is good enough. With both set, a model must clear both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QualityBar {
    /// Absolute floor on the task's quality metric (0..=1), e.g. 0.8.
    #[serde(default)]
    pub min_quality: Option<f64>,
    /// Floor relative to the best model on the task, e.g. 0.95 for "95% of the best quality".
    /// When neither floor is set, 0.95 of the best is used.
    #[serde(default)]
    pub min_relative: Option<f64>,
}

/// One model to try: where it is served, how big it is and what it costs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelConfig {
    /// The trial's name for this model (unique), used in reports.
    pub name: String,
    /// Serving software or vendor; sets the default base URL and API-key variable.
    pub provider: ProviderKind,
    /// Model id sent in the request (`model` field); Doubao takes the endpoint id here.
    pub model: String,
    /// Base URL of the OpenAI-compatible API, up to and including `/v1` (or the vendor's equivalent).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key. The key itself is never written to
    /// a file, log, cache key or error message.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Parameter count, e.g. "135M", "7B", "72B", "1.5B"; orders models by size.
    #[serde(default)]
    pub size: Option<String>,
    /// Extra HTTP headers sent with each request (not part of the cache key).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Whole-request timeout in seconds (default 120).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Connection timeout in seconds (default 10).
    #[serde(default)]
    pub connect_timeout_secs: Option<f64>,
    /// Longest silence while reading a response, in seconds (default 60); catches stalled streams.
    #[serde(default)]
    pub read_timeout_secs: Option<f64>,
    /// Most requests in flight to this model's endpoint at once (default 4; endpoints shared by
    /// several models use the largest limit given).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Retries after transient failures (default 4).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Ask streaming servers for a final usage chunk (`stream_options.include_usage`); turn off
    /// for servers that reject the option.
    #[serde(default)]
    pub stream_usage: Option<bool>,
    /// Price, given in full here.
    #[serde(default)]
    pub price: Option<PriceSpec>,
    /// Price, taken from the catalogue by id (e.g. "qwen-turbo").
    #[serde(default)]
    pub price_ref: Option<String>,
    /// Request parameters for this model, over the trial's defaults.
    #[serde(default)]
    pub params: RequestParams,
    /// Only used as the judge: not part of the sweep.
    #[serde(default)]
    pub judge_only: bool,
}

/// A price given in the trial file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PriceSpec {
    /// Price per million input (prompt) tokens.
    #[serde(default)]
    pub input_per_m: f64,
    /// Price per million output (completion) tokens.
    #[serde(default)]
    pub output_per_m: f64,
    /// For self-hosted models: cost of the serving machine per hour; turned into a cost per task
    /// from the measured latency and the model's concurrency.
    #[serde(default)]
    pub per_hour: Option<f64>,
    /// Currency of the amounts (default: the trial's currency).
    #[serde(default)]
    pub currency: Option<String>,
    /// When the price was taken, e.g. "2024-06".
    #[serde(default)]
    pub as_of: Option<String>,
}

/// The kind of task a suite holds, which fixes its prompt, its parser and its metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Questions answered from given context (JSONL `{"question","answers",["context"],["doc"]}`).
    #[default]
    RagQa,
    /// Labelled texts (CSV or JSONL `{"text","label"}`).
    Classification,
    /// Texts with the fields to extract (JSONL `{"text","fields":{...}}`).
    Extraction,
}

/// How a task's quality is measured. Each kind has its own; `judge` needs `[trial.judge]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// QA: the normalised answer equals a reference answer.
    ExactMatch,
    /// QA: token-overlap F1 with the best reference (CJK characters are tokens).
    TokenF1,
    /// QA: a reference answer appears inside the model's answer.
    Contains,
    /// Classification: share of items labelled correctly.
    Accuracy,
    /// Classification: F1 averaged over labels, so rare labels count as much as common ones.
    MacroF1,
    /// Extraction: the answer parses as a JSON object.
    JsonValid,
    /// Extraction: share of fields extracted correctly (0 for invalid JSON).
    FieldAccuracy,
    /// The judge model's grade, scaled to 0..=1.
    Judge,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ExactMatch => "exact-match",
            Metric::TokenF1 => "token-f1",
            Metric::Contains => "contains",
            Metric::Accuracy => "accuracy",
            Metric::MacroF1 => "macro-f1",
            Metric::JsonValid => "json-valid",
            Metric::FieldAccuracy => "field-accuracy",
            Metric::Judge => "judge",
        }
    }

    /// The metrics a task kind computes, the default first.
    pub fn for_kind(kind: TaskKind) -> &'static [Metric] {
        match kind {
            TaskKind::RagQa => &[Metric::TokenF1, Metric::ExactMatch, Metric::Contains],
            TaskKind::Classification => &[Metric::Accuracy, Metric::MacroF1],
            TaskKind::Extraction => &[Metric::FieldAccuracy, Metric::JsonValid],
        }
    }
}

/// Where a QA task's context comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextMode {
    /// The record's own `context` field.
    #[default]
    Inline,
    /// The [`crate::ContextSource`] passed to the run (the kb stage's retriever); inline context,
    /// when a record has it, still wins.
    Source,
    /// No context: closed-book questions.
    None,
}

impl ModelConfig {
    /// The checks on the endpoint itself (model id, URL, key variable, size, timeouts,
    /// concurrency, request parameters), not on its price or its place in a trial: shared by
    /// the trial and by every other caller of a model (the label stage's QA generator).
    pub fn validate_endpoint(&self, at: &str, errors: &mut Vec<String>) {
        if self.model.trim().is_empty() {
            errors.push(format!(
                "{at}: `model` (the id sent to the server) is empty"
            ));
        }
        if self.base_url.is_none() && self.provider.default_base_url().is_none() {
            errors.push(format!(
                "{at}: provider {} needs base-url",
                self.provider.as_str()
            ));
        }
        if let Some(url) = &self.base_url {
            // `local:PATH` names a model file run in-process (crate adopt-local), whose
            // caller passes the client in `TrialOptions::clients`.
            let local = url.strip_prefix("local:").is_some_and(|p| !p.is_empty());
            if !(url.starts_with("http://") || url.starts_with("https://") || local) {
                errors.push(format!(
                    "{at}: base-url {url:?} must start with http:// or https:// \
                     (or be local:PATH, a model file run in-process)"
                ));
            }
        }
        if let Some(var) = &self.api_key_env {
            let ok = !var.is_empty()
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !var.starts_with(|c: char| c.is_ascii_digit());
            if !ok {
                errors.push(format!(
                    "{at}: api-key-env must be the NAME of an environment variable, not a key"
                ));
            }
        }
        if let Some(size) = &self.size {
            if parse_size(size).is_none() {
                errors.push(format!(
                    "{at}: size {size:?} is not a parameter count like \"7B\" or \"135M\""
                ));
            }
        }
        for (name, t) in [
            ("timeout-secs", self.timeout_secs),
            ("connect-timeout-secs", self.connect_timeout_secs),
            ("read-timeout-secs", self.read_timeout_secs),
        ] {
            if t.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
                errors.push(format!("{at}: {name} must be positive"));
            }
        }
        if self.concurrency == Some(0) {
            errors.push(format!("{at}: concurrency must be at least 1"));
        }
        self.params.validate(at, errors);
    }

    /// The endpoint this model is reached at, with every default filled in; `base_url` is the
    /// model's own or its provider's default.
    pub fn endpoint(&self, base_url: &str) -> crate::provider::Endpoint {
        use std::time::Duration;
        let secs = |v: Option<f64>, d: u64| {
            v.map(Duration::from_secs_f64)
                .unwrap_or(Duration::from_secs(d))
        };
        let mut endpoint =
            crate::provider::Endpoint::new(&self.name, self.provider, base_url, &self.model);
        endpoint.api_key_env = self
            .api_key_env
            .clone()
            .or(self.provider.default_api_key_env().map(str::to_string));
        endpoint.headers = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        endpoint.timeout = secs(self.timeout_secs, 120);
        endpoint.connect_timeout = secs(self.connect_timeout_secs, 10);
        endpoint.read_timeout = secs(self.read_timeout_secs, 60);
        endpoint.concurrency = self.concurrency.unwrap_or(4).max(1);
        endpoint.retry = crate::provider::RetryPolicy {
            max_retries: self.max_retries.unwrap_or(4),
            ..crate::provider::RetryPolicy::default()
        };
        endpoint.stream_usage = self
            .stream_usage
            .unwrap_or(self.provider.supports_stream_usage());
        endpoint
    }
}

/// A task `path` starting with this names a file in the run directory instead of one beside the
/// trial file: `path = "run:label/qa.jsonl"` is the label stage's QA set.
pub const RUN_PATH_PREFIX: &str = "run:";

/// One task suite, built from the enterprise's own data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskConfig {
    /// Name of the scenario (unique), e.g. "contract-extraction".
    pub name: String,
    /// What kind of task the records are.
    pub kind: TaskKind,
    /// Data file (JSONL, or CSV for classification), relative to the trial file; `run:` names a
    /// file in the run directory (`run:label/qa.jsonl`).
    pub path: PathBuf,
    /// Quality metric the recommendation uses (default: the kind's first metric).
    #[serde(default)]
    pub metric: Option<Metric>,
    /// Prompt template replacing the built-in one; placeholders `{question}`, `{context}`,
    /// `{text}`, `{labels}`, `{fields}`.
    #[serde(default)]
    pub prompt: Option<String>,
    /// System message sent before the prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// Where QA context comes from.
    #[serde(default)]
    pub context: ContextMode,
    /// Classification: the allowed labels (default: those found in the data).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Classification: column or key holding the text (default "text").
    #[serde(default)]
    pub text_field: Option<String>,
    /// Classification: column or key holding the label (default "label").
    #[serde(default)]
    pub label_field: Option<String>,
    /// Extraction: the fields to extract (default: every key of the records' `fields`).
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Use only the first N records (quick trials).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Tasks of this kind per month in production (over the trial's `monthly-volume`).
    #[serde(default)]
    pub monthly_volume: Option<u64>,
    /// Absolute quality floor for this task (over the trial's `quality-bar.min-quality`).
    #[serde(default)]
    pub min_quality: Option<f64>,
    /// Typical answer length in tokens, for the dry-run estimate (default by kind).
    #[serde(default)]
    pub expected_output_tokens: Option<u32>,
    /// Request parameters for this task (e.g. `max-tokens`), over the model's.
    #[serde(default)]
    pub params: RequestParams,
}

impl TaskConfig {
    /// The metric that decides.
    pub fn primary_metric(&self) -> Metric {
        self.metric.unwrap_or(Metric::for_kind(self.kind)[0])
    }
}

/// An LLM that grades answers with a rubric.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JudgeConfig {
    /// Name of the judging model among `[[trial.models]]` (mark it `judge-only` to keep it out of
    /// the sweep).
    pub model: String,
    /// What a good answer is, in the enterprise's words; the judge grades against it.
    pub rubric: String,
    /// Highest grade; grades run from 1 to this (default 5).
    #[serde(default)]
    pub scale: Option<u32>,
    /// Tasks the judge grades (default: all).
    #[serde(default)]
    pub tasks: Option<Vec<String>>,
    /// On QA tasks with context, also grade groundedness: is every claim of the answer supported
    /// by the context? (0..=1; one more judge request per answer; default true).
    #[serde(default)]
    pub groundedness: Option<bool>,
}

impl JudgeConfig {
    pub fn judges(&self, task: &str) -> bool {
        self.tasks
            .as_ref()
            .is_none_or(|t| t.iter().any(|name| name == task))
    }

    /// Whether answers to `task` (a QA task with context) get a groundedness grade too.
    pub fn grades_groundedness(&self, task: &str) -> bool {
        self.groundedness != Some(false) && self.judges(task)
    }
}

/// Parses a size such as "135M", "7B", "1.5B", "1T" into a parameter count.
pub fn parse_size(size: &str) -> Option<f64> {
    let s = size.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'T' | 't') => (&s[..i], 1e12),
        (i, 'B' | 'b') => (&s[..i], 1e9),
        (i, 'M' | 'm') => (&s[..i], 1e6),
        (i, 'K' | 'k') => (&s[..i], 1e3),
        _ => (s, 1.0),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v * mult)
}

impl TrialConfig {
    /// Reads a trial from a file: its `[trial]` table when it has one (a pipeline file), or the
    /// whole file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrialError::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::from_toml_str(&text, base).map_err(|e| match e {
            TrialError::Parse { message, .. } => TrialError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text; relative paths will be resolved against `base_dir`.
    pub fn from_toml_str(text: &str, base_dir: impl Into<PathBuf>) -> Result<Self> {
        let parse_err = |message: String| TrialError::Parse {
            path: PathBuf::from("<trial>"),
            message,
        };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| parse_err(e.to_string()))?;
        let value = match table.remove("trial") {
            Some(trial) => trial,
            None => toml::Value::Table(table),
        };
        let mut config: TrialConfig = value
            .try_into()
            .map_err(|e: toml::de::Error| parse_err(e.to_string()))?;
        config.base_dir = base_dir.into();
        Ok(config)
    }

    /// Resolves a path from the trial file against its folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The models of the sweep (the judge-only ones left out).
    pub fn swept_models(&self) -> impl Iterator<Item = &ModelConfig> {
        self.models.iter().filter(|m| !m.judge_only)
    }

    /// Checks the whole configuration and reports every problem at once.
    pub fn validate(&self, catalogue: &PriceCatalogue) -> Result<()> {
        let mut errors = Vec::new();
        let bar = |v: f64| (0.0..=1.0).contains(&v);
        if self.swept_models().next().is_none() {
            errors.push("no models to try: add at least one [[trial.models]]".into());
        }
        if self.tasks.is_empty() {
            errors.push("no tasks: add at least one [[trial.tasks]]".into());
        }
        if self.currency.trim().is_empty() {
            errors.push("currency is empty".into());
        }
        for (cur, rate) in &self.exchange_rates {
            if !(rate.is_finite() && *rate > 0.0) {
                errors.push(format!("exchange-rates.{cur}: {rate} must be positive"));
            }
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            errors.push(format!("confidence {} is outside (0, 1)", self.confidence));
        }
        if self.bootstrap_resamples < 10 {
            errors.push(format!(
                "bootstrap-resamples {} is too few (at least 10; 1000 is usual)",
                self.bootstrap_resamples
            ));
        }
        if let Some(q) = self.quality_bar.min_quality {
            if !bar(q) {
                errors.push(format!("quality-bar.min-quality {q} is outside 0..=1"));
            }
        }
        if let Some(q) = self.quality_bar.min_relative {
            if !(q > 0.0 && q <= 1.0) {
                errors.push(format!("quality-bar.min-relative {q} is outside (0, 1]"));
            }
        }
        self.defaults.validate("defaults", &mut errors);
        for p in &self.prices {
            p.validate(&format!("prices[{}]", p.id), &mut errors);
        }
        for id in &self.cost_comparison {
            match catalogue.get(id) {
                None => errors.push(format!(
                    "cost-comparison: {id:?} is not in the price catalogue (known: {})",
                    catalogue.ids().join(", ")
                )),
                Some(p) if p.currency != self.currency && !self.exchange_rates.contains_key(&p.currency) => {
                    errors.push(format!(
                        "cost-comparison: {id} is priced in {} but costs are reported in {}: add exchange-rates = {{ {} = ... }}",
                        p.currency, self.currency, p.currency
                    ))
                }
                Some(_) => {}
            }
        }

        let mut names = BTreeSet::new();
        for (i, m) in self.models.iter().enumerate() {
            let at = if m.name.is_empty() {
                format!("models[{i}]")
            } else {
                format!("model {}", m.name)
            };
            if m.name.trim().is_empty() {
                errors.push(format!("{at}: name is empty"));
            } else if !names.insert(m.name.as_str()) {
                errors.push(format!("{at}: the name is used twice"));
            }
            m.validate_endpoint(&at, &mut errors);
            match (&m.price, &m.price_ref) {
                (Some(_), Some(_)) => {
                    errors.push(format!("{at}: give either price or price-ref, not both"))
                }
                (None, Some(id)) => {
                    if catalogue.get(id).is_none() && !self.prices.iter().any(|p| &p.id == id) {
                        errors.push(format!(
                            "{at}: price-ref {id:?} is not in the catalogue (known: {})",
                            catalogue.ids().join(", ")
                        ));
                    }
                }
                (Some(p), None) => {
                    for (name, v) in [
                        ("input-per-m", p.input_per_m),
                        ("output-per-m", p.output_per_m),
                    ] {
                        if !(v.is_finite() && v >= 0.0) {
                            errors.push(format!("{at}: price.{name} must be 0 or more"));
                        }
                    }
                    if p.per_hour.is_some_and(|h| !(h.is_finite() && h >= 0.0)) {
                        errors.push(format!("{at}: price.per-hour must be 0 or more"));
                    }
                }
                (None, None) => {}
            }
            let currency = match (&m.price, &m.price_ref) {
                (Some(p), _) => p.currency.clone(),
                (None, Some(id)) => self
                    .prices
                    .iter()
                    .find(|p| &p.id == id)
                    .or_else(|| catalogue.get(id))
                    .map(|p| Some(p.currency.clone()))
                    .unwrap_or(None),
                _ => None,
            };
            if let Some(cur) = currency {
                if cur != self.currency && !self.exchange_rates.contains_key(&cur) {
                    errors.push(format!(
                        "{at}: priced in {cur} but costs are reported in {}: add exchange-rates = {{ {cur} = ... }}",
                        self.currency
                    ));
                }
            }
        }

        let mut task_names = BTreeSet::new();
        for (i, t) in self.tasks.iter().enumerate() {
            let at = if t.name.is_empty() {
                format!("tasks[{i}]")
            } else {
                format!("task {}", t.name)
            };
            if t.name.trim().is_empty() {
                errors.push(format!("{at}: name is empty"));
            } else if !task_names.insert(t.name.as_str()) {
                errors.push(format!("{at}: the name is used twice"));
            }
            let path = self.resolve(&t.path);
            // A string prefix: `Path::starts_with` compares whole components ("run:label").
            if t.path
                .to_str()
                .is_some_and(|p| p.starts_with(RUN_PATH_PREFIX))
            {
                // In the run directory: written by an earlier stage, checked when the trial runs.
            } else if !path.is_file() {
                errors.push(format!("{at}: data file {} does not exist", path.display()));
            }
            if let Some(metric) = t.metric {
                let judged = self.judge.as_ref().is_some_and(|j| j.judges(&t.name));
                if metric == Metric::Judge {
                    if !judged {
                        errors.push(format!(
                            "{at}: metric = \"judge\" needs a [trial.judge] that grades this task"
                        ));
                    }
                } else if !Metric::for_kind(t.kind).contains(&metric) {
                    errors.push(format!(
                        "{at}: metric {} does not apply to {:?} tasks (use one of: {})",
                        metric.as_str(),
                        t.kind,
                        Metric::for_kind(t.kind)
                            .iter()
                            .map(|m| m.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            if t.kind != TaskKind::Classification && (t.labels.is_some() || t.label_field.is_some())
            {
                errors.push(format!(
                    "{at}: labels / label-field only apply to classification"
                ));
            }
            if t.kind != TaskKind::Extraction && t.fields.is_some() {
                errors.push(format!("{at}: fields only apply to extraction"));
            }
            if t.kind != TaskKind::RagQa && t.context != ContextMode::Inline {
                errors.push(format!("{at}: context only applies to rag-qa"));
            }
            if t.labels.as_ref().is_some_and(|l| l.len() < 2) {
                errors.push(format!("{at}: give at least two labels"));
            }
            if t.fields.as_ref().is_some_and(|f| f.is_empty()) {
                errors.push(format!("{at}: fields is empty"));
            }
            if t.limit == Some(0) {
                errors.push(format!("{at}: limit must be at least 1"));
            }
            if let Some(q) = t.min_quality {
                if !bar(q) {
                    errors.push(format!("{at}: min-quality {q} is outside 0..=1"));
                }
            }
            t.params.validate(&at, &mut errors);
        }

        if let Some(judge) = &self.judge {
            if !self.models.iter().any(|m| m.name == judge.model) {
                errors.push(format!(
                    "judge: model {:?} is not one of [[trial.models]]",
                    judge.model
                ));
            }
            if judge.rubric.trim().is_empty() {
                errors.push("judge: rubric is empty".into());
            }
            if judge.scale.is_some_and(|s| s < 2) {
                errors.push("judge: scale must be at least 2".into());
            }
            for t in judge.tasks.iter().flatten() {
                if !self.tasks.iter().any(|task| &task.name == t) {
                    errors.push(format!("judge: task {t:?} is not one of [[trial.tasks]]"));
                }
            }
        }

        if let Some(load) = &self.load {
            load.validate(self, &mut errors);
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(TrialError::InvalidConfig(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_trial_file_parses_and_only_lacks_its_data() {
        let text = include_str!("../trial.example.toml");
        let config = TrialConfig::from_toml_str(text, "/nonexistent").unwrap();
        assert_eq!(config.swept_models().count(), 7);
        let catalogue = PriceCatalogue::builtin().with_overrides(&config.prices);
        let TrialError::InvalidConfig(errors) = config.validate(&catalogue).unwrap_err() else {
            panic!("expected validation errors")
        };
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors.iter().all(|e| e.contains("does not exist")));
    }

    #[test]
    fn run_paths_and_cost_comparison_are_checked() {
        let text = r#"
cost-comparison = ["deepseek-v2", "gpt-4o", "no-such-api"]
[[models]]
name = "m"
provider = "llama-cpp"
model = "m"
[[tasks]]
name = "qa"
kind = "rag-qa"
path = "run:label/qa.jsonl"
"#;
        let config = TrialConfig::from_toml_str(text, "/nonexistent").unwrap();
        let TrialError::InvalidConfig(errors) =
            config.validate(&PriceCatalogue::builtin()).unwrap_err()
        else {
            panic!("expected validation errors")
        };
        // The run: file is written by an earlier stage, so it is not looked for here; the
        // unknown API and the USD price without an exchange rate are both reported.
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].contains("gpt-4o") && errors[0].contains("exchange-rates"));
        assert!(errors[1].contains("no-such-api") && errors[1].contains("deepseek-v2"));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("7B"), Some(7e9));
        assert_eq!(parse_size("1.5b"), Some(1.5e9));
        assert_eq!(parse_size("135M"), Some(135e6));
        assert_eq!(parse_size(" 1T "), Some(1e12));
        assert_eq!(parse_size("seven"), None);
        assert_eq!(parse_size("-3B"), None);
    }
}
