//! From per-item results to per-(model, task) figures: quality with a seeded bootstrap
//! interval, speed percentiles, tokens and cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Metric;
use crate::error::FailureKind;
use crate::plan::ModelPlan;
use crate::provider::{ChatResponse, UsageSource};
use crate::stats::{bootstrap_ci, percentile};
use crate::tasks::{ItemScores, TaskSuite};

/// The outcome of one (model, task, item): written to `results.jsonl` as soon as it is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub model: String,
    pub task: String,
    pub item: String,
    /// Cache key of the request: a record only counts as done while the prompt, parameters and
    /// endpoint that produced it are unchanged.
    pub key: String,
    /// The answer and its timings; `None` when the request failed.
    pub response: Option<ChatResponse>,
    pub scores: ItemScores,
    /// The judge's grade (0..=1), when the task is judged and the judge answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<f64>,
    /// QA with context: whether the context the model saw holds a reference answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_hit: Option<bool>,
    /// QA with context: the judge's groundedness (0..=1), the share of the answer's claims the
    /// context supports, when the task is judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groundedness: Option<f64>,
    /// The reference answer, as text.
    pub expected: String,
    /// Served from the response cache (no cost in this run).
    pub cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<FailureKind>,
}

impl ItemRecord {
    /// The item's value of `metric`; failed requests score 0 (a model that fails a task has not
    /// done it), ungraded items have no judge value.
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        if metric == Metric::Judge {
            return self.judge;
        }
        if self.response.is_none() {
            return Some(0.0);
        }
        self.scores.metrics.get(&metric).copied()
    }
}

/// Figures of one model on one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelTaskMetrics {
    pub model: String,
    pub task: String,
    /// Items in the suite.
    pub items: usize,
    /// Items answered (not failed).
    pub answered: usize,
    pub errors: usize,
    /// Answers that began by repeating the prompt ([`crate::score::echoes_prompt`]): a base
    /// model with no chat tuning does that; they score as empty answers.
    #[serde(default)]
    pub echoed: usize,
    /// The metric quality is measured with.
    pub metric: Metric,
    /// Mean of the metric over items (failed items count 0).
    pub quality: f64,
    /// Bootstrap confidence interval of `quality`.
    pub quality_low: f64,
    pub quality_high: f64,
    /// Every metric computed for the task kind (and the judge's mean when judged).
    pub all_metrics: BTreeMap<Metric, f64>,
    /// Median time to first token (streamed answers only).
    pub ttft_p50_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    /// Median generation speed.
    pub tokens_per_s_p50: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Answers whose token counts are our estimate because the server sent no usage.
    pub usage_estimated: usize,
    /// Cost of 1,000 tasks in the report currency; `None` without a price.
    pub cost_per_1k: Option<f64>,
    /// Tasks per month the projection uses.
    pub monthly_volume: Option<u64>,
    /// Projected monthly cost at that volume.
    pub monthly_cost: Option<f64>,
    /// QA with context: share of items whose context holds a reference answer at all (what
    /// retrieval, or the data, gave the model to work with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_hit_rate: Option<f64>,
    /// QA with context: wrong answers (task metric below 0.5) although the context held a
    /// reference answer: the model's errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_errors_with_answer_in_context: Option<usize>,
    /// QA with context: wrong answers whose context held no reference answer: retrieval's misses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_with_answer_missing: Option<usize>,
    /// Mean groundedness the judge gave (share of claims the context supports), when graded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groundedness: Option<f64>,
}

/// An answer counts as wrong for blame when it scores below this on the task's metric: 0 on the
/// all-or-nothing metrics, less than half the reference's tokens for token F1.
pub const WRONG_BELOW: f64 = 0.5;

/// Measures `model` on `suite` from its item records (one per item, in any order).
pub fn measure(
    model: &ModelPlan,
    suite: &TaskSuite,
    records: &[&ItemRecord],
    monthly_volume: Option<u64>,
    resamples: usize,
    seed: u64,
    confidence: f64,
) -> ModelTaskMetrics {
    let n = records.len();
    let answered: Vec<&ChatResponse> = records.iter().filter_map(|r| r.response.as_ref()).collect();
    let labels = &suite.labels;
    let quality_of = |metric: Metric, idx: &[usize]| -> f64 {
        if metric == Metric::MacroF1 {
            return macro_f1(idx.iter().map(|&i| records[i]), labels);
        }
        let vals: Vec<f64> = idx
            .iter()
            .filter_map(|&i| records[i].metric(metric))
            .collect();
        if vals.is_empty() {
            0.0
        } else {
            vals.iter().sum::<f64>() / vals.len() as f64
        }
    };
    let all: Vec<usize> = (0..n).collect();
    let mut all_metrics = BTreeMap::new();
    for &m in crate::config::Metric::for_kind(suite.kind) {
        all_metrics.insert(m, quality_of(m, &all));
    }
    if suite.kind == crate::config::TaskKind::Classification {
        all_metrics.insert(Metric::MacroF1, quality_of(Metric::MacroF1, &all));
    }
    if records.iter().any(|r| r.judge.is_some()) {
        all_metrics.insert(Metric::Judge, quality_of(Metric::Judge, &all));
    }
    let metric = suite.metric;
    let quality = quality_of(metric, &all);
    // Seed per (model, task) so intervals repeat, yet differ between cells.
    let cell_seed = seed
        ^ adopt_core::ContentHash::of(format!("{}\u{0}{}", model.name, suite.name).as_bytes()).0[0]
            as u64;
    let (lo, hi) = bootstrap_ci(n, resamples, cell_seed, confidence, |idx| {
        quality_of(metric, idx)
    });

    let lat: Vec<f64> = answered.iter().map(|r| r.latency_ms).collect();
    let ttft: Vec<f64> = answered.iter().filter_map(|r| r.ttft_ms).collect();
    let tps: Vec<f64> = answered.iter().filter_map(|r| r.tokens_per_s).collect();
    let input_tokens: u64 = answered.iter().map(|r| r.input_tokens).sum();
    let output_tokens: u64 = answered.iter().map(|r| r.output_tokens).sum();
    // Blame: of the answered items whose context is known, which wrong ones had the answer there.
    let with_context: Vec<&ItemRecord> = records
        .iter()
        .copied()
        .filter(|r| r.response.is_some() && r.context_hit.is_some())
        .collect();
    let blame = |hit: bool| {
        (!with_context.is_empty()).then(|| {
            with_context
                .iter()
                .filter(|r| r.context_hit == Some(hit))
                .filter(|r| r.metric(metric).is_some_and(|v| v < WRONG_BELOW))
                .count()
        })
    };
    let hits = records.iter().filter(|r| r.context_hit.is_some()).count();
    let context_hit_rate = (hits > 0).then(|| {
        records
            .iter()
            .filter(|r| r.context_hit == Some(true))
            .count() as f64
            / hits as f64
    });
    let grounded: Vec<f64> = records.iter().filter_map(|r| r.groundedness).collect();
    let groundedness =
        (!grounded.is_empty()).then(|| grounded.iter().sum::<f64>() / grounded.len() as f64);
    let cost_per_task = if answered.is_empty() {
        None
    } else {
        let k = answered.len() as f64;
        let mean_lat = lat.iter().sum::<f64>() / k;
        model.request_cost(input_tokens as f64 / k, output_tokens as f64 / k, mean_lat)
    };
    ModelTaskMetrics {
        model: model.name.clone(),
        task: suite.name.clone(),
        items: n,
        answered: answered.len(),
        errors: n - answered.len(),
        echoed: records.iter().filter(|r| r.scores.echoed).count(),
        metric,
        quality,
        quality_low: lo,
        quality_high: hi,
        all_metrics,
        ttft_p50_ms: percentile(&ttft, 0.5),
        latency_p50_ms: percentile(&lat, 0.5),
        latency_p95_ms: percentile(&lat, 0.95),
        tokens_per_s_p50: percentile(&tps, 0.5),
        input_tokens,
        output_tokens,
        usage_estimated: answered
            .iter()
            .filter(|r| r.usage == UsageSource::Estimated)
            .count(),
        cost_per_1k: cost_per_task.map(|c| c * 1000.0),
        monthly_volume,
        monthly_cost: cost_per_task.and_then(|c| monthly_volume.map(|v| c * v as f64)),
        context_hit_rate,
        model_errors_with_answer_in_context: blame(true),
        errors_with_answer_missing: blame(false),
        groundedness,
    }
}

/// Macro-F1 over the labels that occur (as gold or prediction) in the sample; an unparseable
/// answer is a wrong prediction for its gold label.
fn macro_f1<'a>(records: impl Iterator<Item = &'a ItemRecord>, labels: &[String]) -> f64 {
    let mut tp: BTreeMap<&str, f64> = BTreeMap::new();
    let mut fp: BTreeMap<&str, f64> = BTreeMap::new();
    let mut fne: BTreeMap<&str, f64> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in records {
        let gold = r.expected.as_str();
        let pred = r.response.as_ref().and(r.scores.predicted_label.as_deref());
        seen.insert(gold);
        match pred {
            Some(p) if p == gold => *tp.entry(gold).or_default() += 1.0,
            Some(p) => {
                seen.insert(p);
                *fp.entry(p).or_default() += 1.0;
                *fne.entry(gold).or_default() += 1.0;
            }
            None => *fne.entry(gold).or_default() += 1.0,
        }
    }
    let used: Vec<&str> = labels
        .iter()
        .map(String::as_str)
        .filter(|l| seen.contains(l))
        .collect();
    if used.is_empty() {
        return 0.0;
    }
    let f1s = used.iter().map(|l| {
        let t = tp.get(l).copied().unwrap_or(0.0);
        let denom =
            2.0 * t + fp.get(l).copied().unwrap_or(0.0) + fne.get(l).copied().unwrap_or(0.0);
        if denom == 0.0 {
            0.0
        } else {
            2.0 * t / denom
        }
    });
    f1s.sum::<f64>() / used.len() as f64
}
