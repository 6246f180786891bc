//! Runs a pipeline's stages in order and records what finished in `run-state.json`.
//!
//! Each stage commits its own outputs atomically (collect: files written then renamed; clean: a
//! staging folder renamed into place). The state file records, per stage, a fingerprint of its
//! settings and inputs once its outputs are committed, so a re-run skips stages that are up to
//! date and redoes the one that was interrupted. Collect always runs: it is incremental by
//! content hash, so an unchanged corpus costs one pass of hashing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use adopt_collect::{CollectOptions, CollectSummary, Extractor};
use adopt_core::layout::write_atomic;
use adopt_core::{Reporter, RunDir};
use serde::{Deserialize, Serialize};

use crate::config::Pipeline;

#[derive(Debug, Default, Serialize, Deserialize)]
struct RunState {
    stages: BTreeMap<String, StageRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StageRecord {
    fingerprint: String,
}

/// What happened to one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageOutcome {
    pub stage: &'static str,
    pub status: StageStatus,
    /// One line for people.
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    Ran,
    UpToDate,
}

/// The outcome of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub pipeline: String,
    pub stages: Vec<StageOutcome>,
    pub collect: Option<CollectSummary>,
}

/// A stage failed; the stages before it are committed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("collect: {0}")]
    Collect(#[from] adopt_collect::CollectError),
    #[error("clean: {0}")]
    Clean(#[from] adopt_clean::StageError),
    #[error("label: {0}")]
    Label(#[from] crate::LabelStageError),
    #[error("kb: {0}")]
    Kb(#[from] crate::KbStageError),
    #[error("trial: {0}")]
    Trial(#[from] crate::TrialStageError),
    #[error("report: {0}")]
    Report(#[from] crate::ReportStageError),
    #[error("{path}: {source}")]
    State {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `pipeline` into `run_dir`. `extractor` reads files for collect (the CLI passes one that
/// isolates each file in a worker process).
pub fn run(
    pipeline: &Pipeline,
    run_dir: &RunDir,
    extractor: &dyn Extractor,
    embedder: Option<Arc<dyn adopt_core::Embedder>>,
    reporter: &dyn Reporter,
) -> Result<RunOutcome, RunError> {
    std::fs::create_dir_all(run_dir.root()).map_err(|source| RunError::State {
        path: run_dir.root().to_path_buf(),
        source,
    })?;
    let state_path = run_dir.root().join("run-state.json");
    let mut state: RunState = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut outcome = RunOutcome {
        pipeline: pipeline.name.clone(),
        stages: Vec::new(),
        collect: None,
    };

    if let Some(c) = &pipeline.collect {
        let opts = CollectOptions {
            sources: c.sources.clone(),
            department: c.department.clone(),
            full: false,
            threads: c.jobs,
            ocr: c.ocr,
        };
        let summary = adopt_collect::collect(run_dir, &opts, extractor, reporter)?;
        outcome.stages.push(StageOutcome {
            stage: "collect",
            status: StageStatus::Ran,
            summary: {
                let mut line = format!(
                    "{} files: {} read, {} unchanged, {} quarantined, {} removed; {} documents, {} tables",
                    summary.found, summary.read, summary.unchanged, summary.quarantined, summary.removed, summary.documents, summary.tables
                );
                if summary.ocr_pages > 0 {
                    line.push_str(&format!(
                        "; {} pages OCRed ({} low confidence)",
                        summary.ocr_pages, summary.ocr_low_confidence
                    ));
                }
                if let Some(why) = &summary.ocr_not_run_reason {
                    line.push_str(&format!(
                        "; scanned pages of {} documents unread: {why}",
                        summary.ocr_not_run
                    ));
                }
                line
            },
        });
        outcome.collect = Some(summary);
    }

    if let Some(config) = &pipeline.clean {
        let fingerprint = fingerprint(&[
            &serde_json::to_vec(config).unwrap_or_default(),
            &file_hash(&run_dir.documents()),
            &file_hash(&run_dir.tables_index()),
        ]);
        let done = state
            .stages
            .get("clean")
            .is_some_and(|r| r.fingerprint == fingerprint)
            && run_dir.clean_dir().join("report.json").exists();
        if done {
            outcome.stages.push(StageOutcome {
                stage: "clean",
                status: StageStatus::UpToDate,
                summary: "up to date".into(),
            });
        } else {
            // Forget the old record first: if this run is killed, the next one redoes clean.
            state.stages.remove("clean");
            save(&state_path, &state)?;
            let report = adopt_clean::clean_run_dir(run_dir, config, reporter)?;
            state
                .stages
                .insert("clean".into(), StageRecord { fingerprint });
            save(&state_path, &state)?;
            let d = &report.documents;
            outcome.stages.push(StageOutcome {
                stage: "clean",
                status: StageStatus::Ran,
                summary: format!(
                    "{} documents: {} kept ({} with PII redacted), {} dropped; {} tables profiled",
                    d.docs_in,
                    d.docs_kept,
                    d.docs_redacted,
                    d.docs_dropped,
                    report.tables.len()
                ),
            });
        }
    }
    if let Some(settings) = &pipeline.label {
        let inputs = crate::label_stage::stage_input(run_dir)
            .map(|(p, _)| file_hash(&p))
            .unwrap_or_default();
        let annotations = settings
            .annotations
            .as_deref()
            .map(file_hash)
            .unwrap_or_default();
        let fingerprint = fingerprint(&[
            &serde_json::to_vec(settings).unwrap_or_default(),
            &inputs,
            &annotations,
        ]);
        let label_dir = adopt_label::label_dir(run_dir);
        let done = state
            .stages
            .get("label")
            .is_some_and(|r| r.fingerprint == fingerprint)
            && label_dir.join("report.json").exists();
        if done {
            outcome.stages.push(StageOutcome {
                stage: "label",
                status: StageStatus::UpToDate,
                summary: "up to date".into(),
            });
        } else {
            state.stages.remove("label");
            save(&state_path, &state)?;
            let report = crate::label_run_dir(
                run_dir,
                &settings.config,
                settings.annotations.as_deref(),
                embedder.as_deref(),
                reporter,
            )?;
            state
                .stages
                .insert("label".into(), StageRecord { fingerprint });
            save(&state_path, &state)?;
            outcome.stages.push(StageOutcome {
                stage: "label",
                status: StageStatus::Ran,
                summary: label_summary(&report),
            });
        }
    }
    if let Some(settings) = &pipeline.kb {
        let dense = match settings.embeddings {
            crate::Embeddings::Off => None,
            _ => embedder.as_deref(),
        };
        let inputs = crate::label_stage::stage_input(run_dir)
            .map(|(p, _)| file_hash(&p))
            .unwrap_or_default();
        let queries = crate::kb_stage::eval_queries_for(run_dir, settings)
            .map(|p| file_hash(&p))
            .unwrap_or_default();
        let model = dense.map(|e| e.model_id().to_string()).unwrap_or_default();
        let fingerprint = fingerprint(&[
            &serde_json::to_vec(settings).unwrap_or_default(),
            &inputs,
            &queries,
            model.as_bytes(),
        ]);
        let kb_dir = crate::kb_dir(run_dir);
        let done = state
            .stages
            .get("kb")
            .is_some_and(|r| r.fingerprint == fingerprint)
            && kb_dir.join("eval.json").exists()
            && kb_dir.join("manifest.json").exists();
        if done {
            outcome.stages.push(StageOutcome {
                stage: "kb",
                status: StageStatus::UpToDate,
                summary: "up to date".into(),
            });
        } else {
            // The build itself is incremental and idempotent: after a kill it redoes only what
            // the manifest does not yet record.
            state.stages.remove("kb");
            save(&state_path, &state)?;
            let report = crate::kb_run_dir(run_dir, settings, dense, reporter)?;
            state
                .stages
                .insert("kb".into(), StageRecord { fingerprint });
            save(&state_path, &state)?;
            outcome.stages.push(StageOutcome {
                stage: "kb",
                status: StageStatus::Ran,
                summary: kb_summary(&report),
            });
        }
    }

    // The trial keeps its own resumable log and response cache: re-running it after a kill
    // sends only the requests that never completed, and a finished sweep costs nothing.
    if let Some(config) = &pipeline.trial {
        let mut opts = adopt_trial::TrialOptions::default();
        if let (Some(settings), true) = (&pipeline.kb, crate::trial_stage::uses_kb_context(config))
        {
            let dense = match settings.embeddings {
                crate::Embeddings::Off => None,
                _ => embedder.clone(),
            };
            let source = crate::KbContext::open(run_dir, settings, dense, KB_CONTEXT_CHUNKS)?;
            opts.context_source = Some(Arc::new(source));
        }
        let report = crate::trial_run_dir(run_dir, config, &opts, reporter)?;
        outcome.stages.push(StageOutcome {
            stage: "trial",
            status: StageStatus::Ran,
            summary: report
                .recommendations
                .iter()
                .map(|r| r.sentence.clone())
                .collect::<Vec<_>>()
                .join(" "),
        });
    }

    // The report is cheap and reads every stage's summary: it always runs last.
    if let Some(settings) = &pipeline.report {
        let readiness = crate::report_run_dir(run_dir, settings)?;
        outcome.stages.push(StageOutcome {
            stage: "report",
            status: StageStatus::Ran,
            summary: format!(
                "{}: {}",
                readiness.overall.label(),
                run_dir
                    .root()
                    .join(adopt_report::REPORT_DIR)
                    .join("index.html")
                    .display()
            ),
        });
    }
    Ok(outcome)
}

/// Chunks of retrieved context each RAG question of a trial gets from the knowledge base.
pub const KB_CONTEXT_CHUNKS: usize = 3;

/// One line about a kb build, for people.
pub fn kb_summary(report: &crate::KbStageReport) -> String {
    let b = &report.build;
    let mut s = format!(
        "{} documents: {} added, {} changed, {} removed, {} unchanged; {} chunks ({})",
        b.docs_total,
        b.docs_added,
        b.docs_changed,
        b.docs_removed,
        b.docs_unchanged,
        b.chunks_total,
        report
            .model
            .as_deref()
            .map_or("keyword only".to_string(), |m| format!("dense {m} + BM25")),
    );
    if let Some(e) = &report.eval {
        if e.answer_queries > 0 {
            s.push_str(&format!(
                "; {} search on {} questions: hit@1 {:.2}, hit@5 {:.2}, MRR {:.2}",
                e.mode, e.answer_queries, e.hit_at_1, e.hit_at_5, e.mrr
            ));
        }
    }
    s
}

/// One line about a label run, for people.
pub fn label_summary(report: &adopt_label::LabelReport) -> String {
    let labelled: usize = report.by_label.values().sum();
    let qa = report.qa.as_ref().map_or(0, |q| q.kept);
    format!(
        "{} records, {} labelled, {} sent for annotation, {} QA pairs",
        report.records, labelled, report.annotation_tasks, qa
    )
}

fn save(path: &Path, state: &RunState) -> Result<(), RunError> {
    let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    write_atomic(path, &bytes).map_err(|source| RunError::State {
        path: path.to_path_buf(),
        source,
    })
}

fn file_hash(path: &Path) -> Vec<u8> {
    std::fs::read(path)
        .map(|b| blake3::hash(&b).as_bytes().to_vec())
        .unwrap_or_default()
}

fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex()[..32].to_string()
}
