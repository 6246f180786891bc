//! The trial stage on a run directory: runs the model-size sweep into `<run>/trial/`, adds
//! `items.parquet`, and writes `trial/summary.json` for the readiness report.

use std::path::{Path, PathBuf};

use adopt_collect::store::write_parquet_atomic;
use adopt_core::{Reporter, RunDir, Stage, StageContext, StageSummary};
use adopt_trial::{TrialConfig, TrialOptions, TrialReport};
use polars::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum TrialStageError {
    #[error(transparent)]
    Trial(#[from] adopt_trial::TrialError),
    #[error(transparent)]
    Collect(#[from] adopt_collect::CollectError),
    #[error(transparent)]
    Local(#[from] adopt_local::LocalError),
    #[error("{path}: {reason}")]
    Output { path: PathBuf, reason: String },
}

pub(crate) fn load(section: &mut crate::config::Section<'_>, pipeline: &mut crate::Pipeline) {
    // The typed parse reports unknown keys with their lines; the trial crate's own reader then
    // resolves its paths and defaults.
    if section.parse::<TrialConfig>().is_none() {
        return;
    }
    let base = section.base.to_path_buf();
    match TrialConfig::from_toml_str(section.text(), base) {
        Ok(config) => {
            if let Err(adopt_trial::TrialError::InvalidConfig(errors)) =
                adopt_trial::TrialPlan::new(&config).map(|_| ())
            {
                for e in errors {
                    section.error(e);
                }
            }
            pipeline.trial = Some(config);
        }
        Err(e) => section.error(e.to_string()),
    }
}

pub(crate) fn plan<'a>(
    pipeline: &'a crate::Pipeline,
    _tools: &crate::stages::Tools<'a>,
) -> Option<Box<dyn Stage + 'a>> {
    Some(Box::new(TrialStage {
        config: pipeline.trial.as_ref()?,
        kb: pipeline.kb.as_ref(),
    }))
}

/// The trial keeps its own resumable log and response cache: re-running it after a kill sends
/// only the requests that never completed, and a finished sweep costs nothing. It runs every
/// time.
struct TrialStage<'a> {
    config: &'a TrialConfig,
    /// The kb stage's settings, when the pipeline builds one: RAG questions retrieve from it.
    kb: Option<&'a crate::KbStageSettings>,
}

impl Stage for TrialStage<'_> {
    fn name(&self) -> &'static str {
        "trial"
    }

    fn settings(&self) -> Vec<u8> {
        crate::stages::settings_bytes(self.config)
    }

    fn skippable(&self) -> bool {
        false
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<StageSummary, adopt_core::StageError> {
        let mut opts = TrialOptions::default();
        if let (Some(settings), true) = (self.kb, uses_kb_context(self.config)) {
            let dense = match settings.embeddings {
                crate::Embeddings::Off => None,
                _ => ctx.embedder.clone(),
            };
            let source = crate::KbContext::open(ctx.run_dir, settings, dense, KB_CONTEXT_CHUNKS)?;
            opts.context_source = Some(std::sync::Arc::new(source));
        }
        let report = trial_run_dir(ctx.run_dir, self.config, &opts, ctx.reporter)?;
        Ok(report
            .recommendations
            .iter()
            .map(|r| r.sentence.clone())
            .collect::<Vec<_>>()
            .join(" ")
            .into())
    }
}

/// Chunks of retrieved context each RAG question of a trial gets from the knowledge base.
pub const KB_CONTEXT_CHUNKS: usize = 3;

/// Runs the trial. Results are appended item by item (the trial crate's own resumable log), so a
/// killed sweep picks up where it stopped and answered prompts are served from the cache.
pub fn trial_run_dir(
    run_dir: &RunDir,
    config: &TrialConfig,
    opts: &TrialOptions,
    reporter: &dyn Reporter,
) -> Result<TrialReport, TrialStageError> {
    let dir = run_dir.trial_dir();
    let mut config = bind_run_paths(config, run_dir, reporter)?;
    // Catalogue models (`local:<id>`) that are not installed are left out, each said in one
    // line, rather than failing the run: the report tells how to fetch them.
    let missing = adopt_local::uninstalled_models(&config);
    let mut notes = Vec::new();
    let mut missing_models = Vec::new();
    for (name, entry, why) in &missing {
        let line = format!(
            "model {name}: {} is {why}; left out of the trial (install it with `{}`)",
            entry.id,
            entry.fetch_command()
        );
        reporter.warn(&format!("trial: {line}"));
        notes.push(line);
        missing_models.push(adopt_report::MissingModel {
            model: name.clone(),
            size: entry.size.clone(),
            reason: why.clone(),
            fetch: entry.fetch_command(),
        });
    }
    config
        .models
        .retain(|m| !missing.iter().any(|(name, _, _)| *name == m.name));
    if !config.models.iter().any(|m| !m.judge_only) {
        // Nothing left to try: say so in the summary, and leave earlier results alone.
        let report = TrialReport {
            name: config.name.clone(),
            currency: config.currency.clone(),
            notes,
            ..TrialReport::default()
        };
        if !opts.dry_run {
            write_summary(&dir, &report, missing_models)?;
        }
        return Ok(report);
    }
    // Models with base-url = "local:PATH" run in-process (candle, GGUF files).
    let mut opts = opts.clone();
    if !opts.dry_run {
        for (name, client) in adopt_local::local_clients(&config)? {
            opts.clients.entry(name).or_insert(client);
        }
    }
    let mut report = adopt_trial::run_trial(&config, &dir, reporter, &opts)?;
    report.notes.extend(notes);
    report.hosted = adopt_trial::compare::hosted_costs(&config, &report);
    if !opts.dry_run {
        let items = dir.join("items.jsonl");
        if items.exists() {
            items_parquet(&items, &dir.join("items.parquet"))?;
        }
        load_parquet(&dir, &report)?;
        write_summary(&dir, &report, missing_models)?;
    }
    Ok(report)
}

fn write_summary(
    dir: &Path,
    report: &TrialReport,
    missing_models: Vec<adopt_report::MissingModel>,
) -> Result<(), TrialStageError> {
    let mut summary = trial_summary(report);
    summary.missing_models = missing_models;
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| out_err(dir, e))?;
    adopt_core::layout::write_atomic(&dir.join("summary.json"), &json).map_err(|e| out_err(dir, e))
}

/// The trial with its `run:` task paths pointing into `run_dir`. A task whose file an earlier
/// stage did not write (no document got a label, no QA pair was generated) is left out with a
/// warning; only when that leaves no task is it an error.
pub fn bind_run_paths(
    config: &TrialConfig,
    run_dir: &RunDir,
    reporter: &dyn Reporter,
) -> Result<TrialConfig, TrialStageError> {
    let mut config = config.clone();
    let mut missing = Vec::new();
    for t in &mut config.tasks {
        let Some(rest) = t
            .path
            .to_str()
            .and_then(|p| p.strip_prefix(adopt_trial::RUN_PATH_PREFIX))
        else {
            continue;
        };
        let path = std::path::absolute(run_dir.root().join(rest))
            .map_err(|e| out_err(run_dir.root(), e))?;
        if !path.is_file() {
            missing.push((t.name.clone(), path.clone()));
        }
        t.path = path;
    }
    if missing.len() == config.tasks.len() {
        if let Some((task, path)) = missing.into_iter().next() {
            return Err(out_err(
                &path,
                format!(
                    "task {task}: no such file in the run directory (the stage that writes it has not run)"
                ),
            ));
        }
        return Ok(config);
    }
    for (task, path) in &missing {
        reporter.warn(&format!(
            "trial: task {task} left out: {} was not written by an earlier stage",
            path.display()
        ));
    }
    config
        .tasks
        .retain(|t| !missing.iter().any(|(name, _)| *name == t.name));
    Ok(config)
}

/// Whether any task retrieves its context from the knowledge base.
pub fn uses_kb_context(config: &TrialConfig) -> bool {
    config
        .tasks
        .iter()
        .any(|t| t.context == adopt_trial::ContextMode::Source)
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> TrialStageError {
    TrialStageError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// One row per (model, task item) as a table a user can open.
fn items_parquet(jsonl: &Path, out: &Path) -> Result<(), TrialStageError> {
    let bytes = std::fs::read(jsonl).map_err(|e| out_err(jsonl, e))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let mut df = JsonReader::new(std::io::Cursor::new(bytes))
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .map_err(|e| out_err(jsonl, e))?;
    write_parquet_atomic(out, &mut df, "trial items")?;
    Ok(())
}

/// The trial as the readiness report reads it.
pub fn trial_summary(report: &TrialReport) -> adopt_report::TrialSummary {
    let params = |name: &str| {
        report
            .models
            .iter()
            .find(|m| m.name == name)
            .and_then(|m| m.parameters)
            .map(|p| p / 1e9)
    };
    let scenarios = report
        .recommendations
        .iter()
        .map(|rec| {
            let chosen = rec
                .chosen
                .as_deref()
                .and_then(|m| report.metrics_for(m, &rec.task));
            let candidates = report
                .metrics
                .iter()
                .filter(|m| m.task == rec.task)
                .map(|m| adopt_report::TrialCandidate {
                    model: m.model.clone(),
                    params_b: params(&m.model),
                    quality: Some(m.quality),
                    cost_per_1k_tasks: m.cost_per_1k,
                    context_hit_rate: m.context_hit_rate,
                    model_errors_with_answer_in_context: m.model_errors_with_answer_in_context,
                    errors_with_answer_missing: m.errors_with_answer_missing,
                    groundedness: m.groundedness,
                    echoed: m.echoed,
                    answered: m.answered,
                })
                .collect();
            adopt_report::ScenarioSummary {
                scenario: rec.task.clone(),
                metric: chosen.map(|m| format!("{:?}", m.metric).to_lowercase()),
                quality_bar: Some(rec.threshold),
                recommended_model: rec.chosen.clone(),
                params_b: rec.chosen.as_deref().and_then(params),
                quality: chosen.map(|m| m.quality),
                cost_per_1k_tasks: chosen.and_then(|m| m.cost_per_1k),
                monthly_tasks: chosen.and_then(|m| m.monthly_volume),
                monthly_cost: chosen.and_then(|m| m.monthly_cost),
                sentence: Some(rec.sentence.clone()),
                candidates,
            }
        })
        .collect();
    let hosted = report
        .hosted
        .iter()
        .map(|h| adopt_report::HostedCostSummary {
            scenario: h.task.clone(),
            model: h.price_id.clone(),
            vendor: h.vendor.clone(),
            list_price: format!(
                "{} / {} {} per million tokens in / out ({})",
                h.input_per_m, h.output_per_m, h.list_currency, h.as_of
            ),
            cost_per_1k_tasks: h.cost_per_1k,
            monthly_cost: h.monthly_cost,
        })
        .collect();
    adopt_report::TrialSummary {
        currency: Some(report.currency.clone()),
        scenarios,
        hosted,
        load: report.load.as_ref().map(load_summary),
        ..Default::default()
    }
}

/// `load.parquet` (one row per model and level) and `load_requests.parquet` (one per request),
/// from the load test's JSONL rows.
fn load_parquet(dir: &Path, report: &TrialReport) -> Result<(), TrialStageError> {
    use adopt_trial::load::files;
    if report.load.as_ref().is_none_or(|l| l.reused) {
        return Ok(());
    }
    for (rows, table) in [
        (files::LEVELS, "load.parquet"),
        (files::REQUESTS, "load_requests.parquet"),
    ] {
        let rows = dir.join(rows);
        let Ok(bytes) = std::fs::read(&rows) else {
            continue;
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // The whole file sets the schema: a failed request's `error` may first show up late.
        let mut df = JsonReader::new(std::io::Cursor::new(bytes))
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(None)
            .finish()
            .map_err(|e| out_err(&rows, e))?;
        write_parquet_atomic(&dir.join(table), &mut df, "trial load")?;
    }
    Ok(())
}

/// The load test as the readiness report reads it.
fn load_summary(load: &adopt_trial::LoadReport) -> adopt_report::LoadSummary {
    adopt_report::LoadSummary {
        prompts: Some(load.prompts.clone()),
        slo_ttft_ms: load.slo.ttft_ms,
        slo_itl_ms: load.slo.itl_ms,
        slo_e2e_ms: load.slo.e2e_ms,
        levels: load
            .levels
            .iter()
            .map(|l| adopt_report::LoadLevelSummary {
                model: l.model.clone(),
                level: l.level.clone(),
                concurrency: l.concurrency.map(|c| c as u64),
                rate: l.rate,
                completed: l.completed as u64,
                errors: l.errors as u64,
                request_throughput: Some(l.request_throughput),
                output_tokens_per_s: Some(l.output_tokens_per_s),
                ttft_p50_ms: l.ttft_p50_ms,
                ttft_p99_ms: l.ttft_p99_ms,
                itl_p50_ms: l.itl_p50_ms,
                itl_p99_ms: l.itl_p99_ms,
                e2e_p50_ms: l.e2e_p50_ms,
                e2e_p99_ms: l.e2e_p99_ms,
                goodput: l.goodput,
                slo_attainment: l.slo_attainment,
            })
            .collect(),
        failures: load
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.model, f.message))
            .collect(),
    }
}
