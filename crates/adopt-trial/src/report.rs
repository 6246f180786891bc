//! The trial's results: the report (JSON), the flat per-item table (CSV and JSONL; Parquet is
//! written by the report stage from the same records), and the dry-run estimate.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Metric, TaskKind};
use crate::error::{Result, TrialError};
use crate::measure::{ItemRecord, ModelTaskMetrics};
use crate::plan::ResolvedPrice;
use crate::recommend::Recommendation;

/// A model as the report describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub name: String,
    pub provider: String,
    /// Model id sent to the server.
    pub model: String,
    pub base_url: String,
    pub size: Option<String>,
    pub parameters: Option<f64>,
    pub price: Option<ResolvedPrice>,
    pub judge_only: bool,
}

/// A task as the report describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub name: String,
    pub kind: TaskKind,
    pub metric: Metric,
    pub items: usize,
    pub monthly_volume: Option<u64>,
}

/// A model the run stopped using, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFailure {
    pub model: String,
    pub message: String,
    /// Items not attempted after the failure.
    pub skipped_items: usize,
}

/// What this run did, as opposed to what it measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTotals {
    /// Requests sent to model servers (cache misses), judge included.
    pub requests: usize,
    /// Answers served from the response cache.
    pub cache_hits: usize,
    /// Items already done in an earlier (killed) run, taken from `results.jsonl`.
    pub resumed: usize,
    /// Items that failed in this run.
    pub errors: usize,
    /// What this run's requests cost, judge included, in the report currency (models without a
    /// price count 0).
    pub spent: f64,
    /// Wall-clock seconds of the run.
    pub wall_s: f64,
}

/// The estimate for one (model, task) before anything is spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateRow {
    pub model: String,
    pub task: String,
    pub requests: usize,
    /// Requests the cache already answers (free).
    pub cached: usize,
    pub input_tokens: u64,
    /// Output at the task's typical answer length.
    pub output_tokens: u64,
    /// Output if every answer ran to `max-tokens`.
    pub output_tokens_max: u64,
    pub cost: Option<f64>,
    pub cost_max: Option<f64>,
}

/// Token and cost estimate of the whole sweep (`--dry-run`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepEstimate {
    pub rows: Vec<EstimateRow>,
    pub requests: usize,
    pub cached: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Cost at typical answer lengths, priced models only.
    pub cost: f64,
    /// Cost if every answer ran to `max-tokens`.
    pub cost_max: f64,
    /// Models without a price, left out of the cost.
    pub unpriced_models: Vec<String>,
    pub method: String,
}

/// Everything a trial found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialReport {
    pub name: Option<String>,
    /// Currency of every cost in the report.
    pub currency: String,
    pub dry_run: bool,
    pub confidence: f64,
    pub models: Vec<ModelSummary>,
    pub tasks: Vec<TaskSummary>,
    /// Per (model, task).
    pub metrics: Vec<ModelTaskMetrics>,
    /// Per task.
    pub recommendations: Vec<Recommendation>,
    pub estimate: Option<SweepEstimate>,
    pub run: RunTotals,
    pub failures: Vec<ModelFailure>,
    /// Things worth knowing about the figures (estimated usage, missing prices, ...).
    pub notes: Vec<String>,
    /// Latency under load, when `[trial.load]` (or `--load`) asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<crate::load::LoadReport>,
    /// The same work at the list prices of the `cost-comparison` models.
    #[serde(default)]
    pub hosted: Vec<crate::compare::HostedCost>,
}

impl TrialReport {
    pub fn metrics_for(&self, model: &str, task: &str) -> Option<&ModelTaskMetrics> {
        self.metrics
            .iter()
            .find(|m| m.model == model && m.task == task)
    }

    pub fn recommendation(&self, task: &str) -> Option<&Recommendation> {
        self.recommendations.iter().find(|r| r.task == task)
    }
}

/// Writes `report.json`.
pub fn write_report_json(report: &TrialReport, path: &Path) -> Result<()> {
    let json = serde_json::to_vec_pretty(report).map_err(|e| TrialError::io(path, e.into()))?;
    adopt_core::layout::write_atomic(path, &json).map_err(|e| TrialError::io(path, e))
}

/// Writes the flat per-item tables: `items.jsonl` (full records) and `items.csv`.
pub fn write_items(records: &[ItemRecord], jsonl: &Path, csv_path: &Path) -> Result<()> {
    let mut lines = Vec::new();
    for r in records {
        serde_json::to_writer(&mut lines, r).map_err(|e| TrialError::io(jsonl, e.into()))?;
        lines.push(b'\n');
    }
    adopt_core::layout::write_atomic(jsonl, &lines).map_err(|e| TrialError::io(jsonl, e))?;

    let io = |e: csv::Error| TrialError::io(csv_path, std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "model",
        "task",
        "item",
        "exact_match",
        "token_f1",
        "contains",
        "accuracy",
        "predicted_label",
        "json_valid",
        "field_accuracy",
        "judge",
        "context_hit",
        "groundedness",
        "ttft_ms",
        "latency_ms",
        "tokens_per_s",
        "input_tokens",
        "output_tokens",
        "usage",
        "streamed",
        "attempts",
        "cached",
        "error",
        "answer",
        "expected",
    ])
    .map_err(io)?;
    let num = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    for r in records {
        let m = |k: Metric| num(r.scores.metrics.get(&k).copied());
        let resp = r.response.as_ref();
        w.write_record([
            r.model.clone(),
            r.task.clone(),
            r.item.clone(),
            m(Metric::ExactMatch),
            m(Metric::TokenF1),
            m(Metric::Contains),
            m(Metric::Accuracy),
            r.scores.predicted_label.clone().unwrap_or_default(),
            m(Metric::JsonValid),
            m(Metric::FieldAccuracy),
            num(r.judge),
            r.context_hit.map(|h| h.to_string()).unwrap_or_default(),
            num(r.groundedness),
            num(resp.and_then(|x| x.ttft_ms)),
            num(resp.map(|x| x.latency_ms)),
            num(resp.and_then(|x| x.tokens_per_s)),
            resp.map(|x| x.input_tokens.to_string()).unwrap_or_default(),
            resp.map(|x| x.output_tokens.to_string())
                .unwrap_or_default(),
            resp.map(|x| format!("{:?}", x.usage).to_lowercase())
                .unwrap_or_default(),
            resp.map(|x| x.streamed.to_string()).unwrap_or_default(),
            resp.map(|x| x.attempts.to_string()).unwrap_or_default(),
            r.cached.to_string(),
            r.error.clone().unwrap_or_default(),
            resp.map(|x| x.content.clone()).unwrap_or_default(),
            r.expected.clone(),
        ])
        .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| TrialError::io(csv_path, std::io::Error::other(e.to_string())))?;
    adopt_core::layout::write_atomic(csv_path, &bytes).map_err(|e| TrialError::io(csv_path, e))
}
