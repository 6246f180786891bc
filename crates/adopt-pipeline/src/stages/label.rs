//! The label stage on a run directory: labels the cleaned documents (or the collected ones when
//! clean was not run) and commits `label/` in one rename.

use std::path::{Path, PathBuf};

use adopt_collect::store::{read_documents, write_parquet_atomic};
use adopt_core::{Document, Embedder, Reporter, RunDir, Stage, StageContext, StageSummary};
use adopt_label::{LabelConfig, LabelOutput, LabelRecord, LabelReport};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// `[label]`: the label stage's settings plus where human annotations come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LabelSettings {
    /// Annotation export (Label Studio JSON or CSV `annotator,id,label`) to import, relative to
    /// the pipeline file.
    #[serde(default)]
    pub annotations: Option<PathBuf>,
    #[serde(flatten)]
    pub config: adopt_label::LabelConfig,
}

pub(crate) fn load(section: &mut crate::config::Section<'_>, pipeline: &mut crate::Pipeline) {
    let Some(mut l) = section.parse::<LabelSettings>() else {
        return;
    };
    if let Err(adopt_label::LabelError::InvalidConfig(errors)) = l.config.validate() {
        for e in errors {
            section.error(e);
        }
    }
    if let Some(a) = &mut l.annotations {
        let resolved = if a.is_absolute() {
            a.clone()
        } else {
            section.base.join(&*a)
        };
        if !resolved.exists() {
            section.error(format!(
                "annotations: {} does not exist",
                resolved.display()
            ));
        }
        *a = resolved;
    }
    pipeline.label = Some(l);
}

pub(crate) fn plan<'a>(
    pipeline: &'a crate::Pipeline,
    _tools: &crate::stages::Tools<'a>,
) -> Option<Box<dyn Stage + 'a>> {
    Some(Box::new(LabelStage(pipeline.label.as_ref()?)))
}

struct LabelStage<'a>(&'a LabelSettings);

impl Stage for LabelStage<'_> {
    fn name(&self) -> &'static str {
        "label"
    }

    fn settings(&self) -> Vec<u8> {
        crate::stages::settings_bytes(self.0)
    }

    fn inputs(&self, ctx: &StageContext<'_>) -> Vec<PathBuf> {
        vec![
            ctx.run_dir.stage_documents(),
            self.0.annotations.clone().unwrap_or_default(),
        ]
    }

    fn outputs(&self, run_dir: &RunDir) -> Vec<PathBuf> {
        vec![run_dir.label_dir().join("report.json")]
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<StageSummary, adopt_core::StageError> {
        let report = label_run_dir(
            ctx.run_dir,
            &self.0.config,
            self.0.annotations.as_deref(),
            ctx.embedder.as_deref(),
            ctx.reporter,
        )?;
        Ok(label_line(&report).into())
    }
}

/// One line about a label run, for people.
pub fn label_line(report: &LabelReport) -> String {
    let labelled: usize = report.by_label.values().sum();
    let qa = report.qa.as_ref().map_or(0, |q| q.kept);
    format!(
        "{} records, {} labelled, {} sent for annotation, {} QA pairs",
        report.records, labelled, report.annotation_tasks, qa
    )
}

#[derive(Debug, thiserror::Error)]
pub enum LabelStageError {
    #[error(transparent)]
    Label(#[from] adopt_label::LabelError),
    #[error(transparent)]
    Collect(#[from] adopt_collect::CollectError),
    #[error("{0}: no documents here; run `adopt collect` (and `adopt clean`) first")]
    NoInput(PathBuf),
    #[error("{path}: {reason}")]
    Output { path: PathBuf, reason: String },
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> LabelStageError {
    LabelStageError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The documents later stages work on (see [`RunDir::stage_input`]), read.
pub fn stage_documents(
    run_dir: &RunDir,
) -> Result<Option<(PathBuf, Vec<Document>)>, adopt_collect::CollectError> {
    let Some((docs, index)) = run_dir.stage_input() else {
        return Ok(None);
    };
    let read = read_documents(&docs, Some(&index))?;
    Ok(Some((docs, read)))
}

/// Runs `adopt label` on `run_dir`.
pub fn label_run_dir(
    run_dir: &RunDir,
    config: &LabelConfig,
    annotations: Option<&Path>,
    embedder: Option<&dyn Embedder>,
    reporter: &dyn Reporter,
) -> Result<LabelReport, LabelStageError> {
    config.validate()?;
    let (_, docs) = stage_documents(run_dir)?
        .ok_or_else(|| LabelStageError::NoInput(run_dir.root().to_path_buf()))?;
    let records: Vec<LabelRecord> = docs.iter().map(LabelRecord::from).collect();
    let annotations = match annotations {
        Some(p) => adopt_label::read_annotations(p)?,
        None => Vec::new(),
    };
    let output = adopt_label::run(config, &records, &annotations, embedder, reporter)?;

    let staging = run_dir
        .fresh_staging("label")
        .map_err(|e| out_err(&run_dir.staging("label"), e))?;
    adopt_label::write_outputs(&staging, &output)?;
    write_labels_parquet(&staging.join("labels.parquet"), &output, &docs)?;
    write_classify_jsonl(&staging.join(CLASSIFY_FILE), &output, &docs)?;
    let summary = label_summary(&output.report);
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| out_err(&staging, e))?;
    std::fs::write(staging.join("summary.json"), json).map_err(|e| out_err(&staging, e))?;

    run_dir
        .commit_staging("label", &run_dir.label_dir())
        .map_err(|(path, e)| out_err(&path, e))?;
    Ok(output.report)
}

/// The label stage as the readiness report reads it (`label/summary.json`).
fn label_summary(report: &LabelReport) -> adopt_report::LabelSummary {
    let totals = report.totals.as_ref();
    let agreement = report
        .agreement
        .as_ref()
        .and_then(|a| serde_json::to_value(a).ok())
        .and_then(|v| serde_json::from_value(v).ok());
    adopt_report::LabelSummary {
        records: report.records as u64,
        coverage: totals.map(|t| t.coverage),
        overlap: totals.map(|t| t.overlap),
        conflict: totals.map(|t| t.conflict),
        labelled: Some(report.by_label.values().sum::<usize>() as u64),
        label_counts: report
            .by_label
            .iter()
            .map(|(k, v)| (k.clone(), *v as u64))
            .collect(),
        functions: report
            .functions
            .iter()
            .map(|f| adopt_report::LabelFunctionSummary {
                name: f.name.clone(),
                coverage: f.coverage,
                conflicts: f.conflicts,
                empirical_accuracy: f.empirical_accuracy,
            })
            .collect(),
        agreement,
    }
}

/// `label/classify.jsonl`: the labelled documents as a classification task for the trial
/// (`{"id","text","label"}`, the text's opening only, so prompts stay short on small models).
pub const CLASSIFY_FILE: &str = "classify.jsonl";

/// Characters of each document the classification task shows: the opening says what a
/// document is about, and a prompt of a few hundred tokens keeps a CPU trial quick.
const CLASSIFY_CHARS: usize = 300;

fn write_classify_jsonl(
    path: &Path,
    output: &LabelOutput,
    docs: &[Document],
) -> Result<(), LabelStageError> {
    let mut out = String::new();
    for r in &output.records {
        let (Some(label), Some(doc)) = (&r.label, docs.iter().find(|d| d.doc_id == r.id)) else {
            continue;
        };
        let text: String = doc
            .text
            .split_whitespace()
            .flat_map(|w| w.chars().chain(std::iter::once(' ')))
            .take(CLASSIFY_CHARS)
            .collect();
        let text = match doc.title.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(title) => format!("{}\n{}", title.trim(), text.trim_end()),
            None => text.trim_end().to_string(),
        };
        let line = serde_json::json!({ "id": r.id, "text": text, "label": label });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    if out.is_empty() {
        return Ok(());
    }
    std::fs::write(path, out).map_err(|e| out_err(path, e))
}

/// `label/labels.parquet`: one row per document with its label, probability, where the label
/// came from, and one `p_<label>` column per label.
fn write_labels_parquet(
    path: &Path,
    output: &LabelOutput,
    docs: &[Document],
) -> Result<(), LabelStageError> {
    let r = &output.records;
    let source_of = |id: &str| {
        docs.iter()
            .find(|d| d.doc_id == id)
            .map(|d| d.source_path.as_str())
    };
    let mut columns = vec![
        Column::new(
            "doc_id".into(),
            r.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "source_path".into(),
            r.iter().map(|x| source_of(&x.id)).collect::<Vec<_>>(),
        ),
        Column::new(
            "label".into(),
            r.iter().map(|x| x.label.as_deref()).collect::<Vec<_>>(),
        ),
        Column::new(
            "probability".into(),
            r.iter().map(|x| x.probability).collect::<Vec<_>>(),
        ),
        Column::new(
            "votes".into(),
            r.iter().map(|x| x.votes as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "source".into(),
            r.iter()
                .map(|x| {
                    serde_json::to_value(x.source)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>(),
        ),
    ];
    for (i, name) in output.labels.names().iter().enumerate() {
        columns.push(Column::new(
            format!("p_{name}").into(),
            r.iter()
                .map(|x| x.probabilities.get(i).copied())
                .collect::<Vec<_>>(),
        ));
    }
    let mut df = DataFrame::new(r.len(), columns).map_err(|e| out_err(path, e))?;
    write_parquet_atomic(path, &mut df, "labels")?;
    Ok(())
}
