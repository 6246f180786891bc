//! What the report reads: one optional summary per stage.
//!
//! Every struct here mirrors a JSON file another stage writes (or, for the inventory, a summary
//! the caller computes from `documents.parquet`). Every field is defaulted and unknown fields are
//! ignored, so an older run directory, a stage that has not run, or a stage that gained a field
//! since this crate was written never stops the report: a missing stage is `None` and its
//! section says how to run it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adopt_core::RunDir;
use serde::{Deserialize, Serialize};

use crate::{ReportError, Result};

/// Everything the readiness report is built from. `None` means the stage has not run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadinessInputs {
    /// About the run itself (shown in the page header).
    pub run: RunInfo,
    /// Collected documents and quarantined files (from `adopt collect`).
    pub inventory: Option<Inventory>,
    /// `clean/report.json` (from `adopt clean`).
    pub clean: Option<CleanSummary>,
    /// Labelling coverage and annotator agreement (from `adopt label`).
    pub label: Option<LabelSummary>,
    /// Retrieval quality of the knowledge base (from `adopt kb eval`).
    pub kb: Option<KbSummary>,
    /// Model-size trial and recommendation (from `adopt trial`).
    pub trial: Option<TrialSummary>,
}

/// Facts about the run shown in the header; all optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    /// Organisation the report is for ("Example Bank").
    pub organisation: Option<String>,
    /// The run directory, as the user typed it.
    pub run_dir: Option<String>,
    /// When the report was made (the caller's clock; this crate reads none, so reports are
    /// reproducible in tests).
    pub generated_at: Option<String>,
    /// Version of `adopt` that made it.
    pub adopt_version: Option<String>,
}

/// The collected corpus, summarised by the caller from `documents.parquet` and
/// `quarantine.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inventory {
    pub documents: Vec<DocSummary>,
    pub quarantine: Vec<QuarantineItem>,
}

/// One collected document, without its text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocSummary {
    pub source_path: String,
    pub department: Option<String>,
    /// Format name as `adopt_core::Format::as_str` spells it ("pdf", "xlsx").
    pub format: String,
    /// Pages, sheets or other units.
    pub page_count: u32,
    /// Units with no text: for a PDF, pages that are images only (scans) until OCR runs.
    pub empty_units: u32,
    /// Tables extracted from the document.
    pub n_tables: u32,
    /// Text encoding detected for plain-text formats ("UTF-8", "GB18030").
    pub encoding: Option<String>,
    pub byte_size: u64,
    pub n_chars: u64,
    /// Number of reader warnings.
    pub warnings: u32,
    /// Pages (or images) read by OCR, and those of them read with low confidence.
    pub ocr_pages: u32,
    pub ocr_low_confidence: u32,
}

/// A file `adopt collect` could not read (one line of `quarantine.jsonl`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuarantineItem {
    pub path: String,
    pub department: Option<String>,
    pub format: Option<String>,
    /// Short kind: "encrypted", "unreadable", "timeout", "out-of-memory", ...
    pub kind: String,
    pub reason: String,
}

/// `clean/report.json` as `adopt clean` writes it: the document report with the table profiles
/// flattened into the same object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CleanSummary {
    pub docs_in: u64,
    pub docs_kept: u64,
    pub docs_dropped: u64,
    pub docs_changed: u64,
    pub docs_redacted: u64,
    pub operators: Vec<OperatorSummary>,
    pub by_department: BTreeMap<String, GroupSummary>,
    pub by_format: BTreeMap<String, GroupSummary>,
    pub pii: PiiSummary,
    pub languages: BTreeMap<String, u64>,
    pub duplicate_clusters: u64,
    pub tables: Vec<TableSummary>,
}

/// What one cleaning operator did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OperatorSummary {
    pub name: String,
    pub docs_in: u64,
    pub docs_out: u64,
    pub changed: u64,
    pub dropped: u64,
    pub drop_reasons: BTreeMap<String, u64>,
    pub counters: BTreeMap<String, u64>,
}

/// Cleaning outcome for one department or format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupSummary {
    pub docs_in: u64,
    pub kept: u64,
    pub changed: u64,
    pub redacted: u64,
    pub dropped: u64,
    pub drop_reasons: BTreeMap<String, u64>,
}

/// PII counts (never values).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PiiSummary {
    pub docs_with_pii: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_department: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Profile of one extracted table (only the fields the report uses).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableSummary {
    pub table_id: String,
    pub source_path: String,
    pub department: Option<String>,
    pub unit: String,
    pub n_rows: u64,
    pub n_cols: u64,
    pub duplicate_rows: u64,
    pub issues: Vec<String>,
    pub pii_counts: BTreeMap<String, u64>,
}

/// What `adopt label` should write to `label/summary.json`. Names follow adopt-label's
/// `MatrixTotals`, `FunctionSummary` and `AgreementReport`, so those serialise straight in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabelSummary {
    /// Records the labelling functions ran over.
    pub records: u64,
    /// Share of records at least one labelling function voted on (0..=1).
    pub coverage: Option<f64>,
    /// Share of records two or more functions voted on.
    pub overlap: Option<f64>,
    /// Share of records where functions voted different labels.
    pub conflict: Option<f64>,
    /// Records that ended with a label (after the label model or adjudication).
    pub labelled: Option<u64>,
    /// Final labels, by label.
    pub label_counts: BTreeMap<String, u64>,
    /// Per labelling function.
    pub functions: Vec<LabelFunctionSummary>,
    /// Agreement of human annotators, when annotations were imported.
    pub agreement: Option<AgreementSummary>,
}

/// One labelling function's reach.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabelFunctionSummary {
    pub name: String,
    pub coverage: f64,
    pub conflicts: f64,
    pub empirical_accuracy: Option<f64>,
}

/// Inter-annotator agreement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgreementSummary {
    pub annotations: u64,
    pub annotators: Vec<String>,
    /// Items with two or more annotations (agreement is measured on these only).
    pub items_multiply_annotated: u64,
    pub observed_agreement: Option<f64>,
    pub fleiss_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    pub per_label: Vec<LabelAgreementSummary>,
}

/// Agreement on one label ("this label" versus "any other").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabelAgreementSummary {
    pub label: String,
    pub annotations: u64,
    pub fleiss_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
}

/// What `adopt kb eval` should write to `kb/eval.json`: retrieval quality on a question set
/// whose answers are known. Rates are in 0..=1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KbSummary {
    /// Retrieval mode evaluated ("dense", "sparse", "hybrid").
    pub mode: Option<String>,
    pub n_documents: Option<u64>,
    pub n_chunks: u64,
    pub n_queries: u64,
    /// Share of questions whose source is the first result.
    pub hit_at_1: Option<f64>,
    pub hit_at_3: Option<f64>,
    pub hit_at_5: Option<f64>,
    pub hit_at_10: Option<f64>,
    /// Mean reciprocal rank.
    pub mrr: Option<f64>,
    /// nDCG at 10.
    pub ndcg: Option<f64>,
}

/// What `adopt trial` should write to `trial/summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrialSummary {
    /// Currency of every cost ("CNY").
    pub currency: Option<String>,
    pub scenarios: Vec<ScenarioSummary>,
    /// Models the trial file names that were not installed, so were not tried.
    pub missing_models: Vec<MissingModel>,
    /// Hosted models priced for the same work (not tried: quality unknown).
    pub hosted: Vec<HostedCostSummary>,
    /// Latency under load, when the trial measured it.
    pub load: Option<LoadSummary>,
}

/// Latency under load (`adopt trial --load`, or a `[trial.load]` table): one row per model and
/// load level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadSummary {
    /// The prompts sent, in words.
    pub prompts: Option<String>,
    /// Objectives goodput counts against, in milliseconds.
    pub slo_ttft_ms: Option<f64>,
    /// Per-request mean inter-token latency objective.
    pub slo_itl_ms: Option<f64>,
    pub slo_e2e_ms: Option<f64>,
    pub levels: Vec<LoadLevelSummary>,
    /// Models that could not be measured, with why.
    pub failures: Vec<String>,
}

/// One model at one load level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadLevelSummary {
    pub model: String,
    /// "c=4" (requests in flight) or "2 req/s" (arrival rate).
    pub level: String,
    pub concurrency: Option<u64>,
    pub rate: Option<f64>,
    pub completed: u64,
    pub errors: u64,
    /// Completed requests per second.
    pub request_throughput: Option<f64>,
    pub output_tokens_per_s: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p99_ms: Option<f64>,
    /// Gaps between streamed chunks.
    pub itl_p50_ms: Option<f64>,
    pub itl_p99_ms: Option<f64>,
    pub e2e_p50_ms: Option<f64>,
    pub e2e_p99_ms: Option<f64>,
    /// Requests per second meeting every objective.
    pub goodput: Option<f64>,
    /// Share of requests meeting every objective.
    pub slo_attainment: Option<f64>,
}

/// What one scenario's work would cost on a hosted API at its list price.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostedCostSummary {
    pub scenario: String,
    /// Price catalogue id ("deepseek-v2").
    pub model: String,
    pub vendor: Option<String>,
    /// The price as listed, with its date.
    pub list_price: String,
    pub cost_per_1k_tasks: f64,
    pub monthly_cost: Option<f64>,
}

/// A model the trial could not try because it is not installed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MissingModel {
    /// The trial's name for it.
    pub model: String,
    pub size: String,
    /// "not installed", or what is wrong with the file.
    pub reason: String,
    /// The command that installs it.
    pub fetch: String,
}

/// One business scenario ("customer-service FAQ", "credit memo summary") and the model it
/// needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScenarioSummary {
    pub scenario: String,
    /// Metric quality is measured in ("accuracy", "F1"), 0..=1.
    pub metric: Option<String>,
    /// Quality the scenario must reach.
    pub quality_bar: Option<f64>,
    /// The smallest model that meets the bar at the lowest cost; `None` when none did.
    pub recommended_model: Option<String>,
    /// Its size in billions of parameters.
    pub params_b: Option<f64>,
    /// Its quality.
    pub quality: Option<f64>,
    /// Its cost per 1,000 tasks.
    pub cost_per_1k_tasks: Option<f64>,
    /// Expected tasks per month, and what they cost with the recommended model.
    pub monthly_tasks: Option<u64>,
    pub monthly_cost: Option<f64>,
    /// The recommendation in one sentence, as the trial stage phrases it.
    pub sentence: Option<String>,
    /// Every model tried (for the quality-versus-cost chart).
    pub candidates: Vec<TrialCandidate>,
}

/// One model tried on a scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrialCandidate {
    pub model: String,
    pub params_b: Option<f64>,
    pub quality: Option<f64>,
    pub cost_per_1k_tasks: Option<f64>,
    /// QA with context: share of questions whose context holds a reference answer at all.
    pub context_hit_rate: Option<f64>,
    /// QA with context: wrong answers although the context held the answer (the model's errors).
    pub model_errors_with_answer_in_context: Option<usize>,
    /// QA with context: wrong answers whose context lacked the answer (retrieval's misses).
    pub errors_with_answer_missing: Option<usize>,
    /// Mean share of the answers' claims their context supports, as the judge graded it.
    pub groundedness: Option<f64>,
    /// Answers that began by repeating the prompt (scored as empty): a base model's habit.
    pub echoed: usize,
    /// Answers the model gave on this scenario.
    pub answered: usize,
}

impl ReadinessInputs {
    /// Reads the stage summaries that exist under `run_dir` (where [`RunDir`] puts them: the
    /// quarantine list, `clean/report.json`, `label/summary.json`, `kb/eval.json`,
    /// `trial/summary.json`; stages that do not exist yet should write theirs there too). A
    /// missing file is
    /// a stage that has not run; a file that does not parse is an error naming it. The
    /// inventory's per-document rows need `documents.parquet` and are left to the caller, but
    /// the quarantine list is read here so an inventory exists even when every file failed.
    pub fn load(run_dir: &Path) -> Result<ReadinessInputs> {
        let run = RunDir::new(run_dir);
        let quarantine = read_quarantine(&run.quarantine())?;
        Ok(ReadinessInputs {
            run: RunInfo {
                run_dir: Some(run_dir.display().to_string()),
                ..RunInfo::default()
            },
            inventory: quarantine.map(|quarantine| Inventory {
                documents: Vec::new(),
                quarantine,
            }),
            clean: read_json(&run.clean_report())?,
            label: read_json(&run.label_summary())?,
            kb: read_json(&run.kb_eval())?,
            trial: read_json(&run.trial_summary())?,
        })
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReportError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse_err(path: &Path, line: Option<usize>, e: serde_json::Error) -> ReportError {
    ReportError::Parse {
        path: PathBuf::from(path),
        line,
        source: e,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    read_optional(path)?
        .map(|s| serde_json::from_str(&s).map_err(|e| parse_err(path, None, e)))
        .transpose()
}

fn read_quarantine(path: &Path) -> Result<Option<Vec<QuarantineItem>>> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| parse_err(path, Some(i + 1), e)))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
