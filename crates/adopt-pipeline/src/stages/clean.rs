//! The clean stage on a run directory: reads what collect wrote, cleans it, and commits
//! `clean/` (documents, dropped, tables, report) in one rename so that a kill leaves either
//! the old outputs or the new ones.

use std::path::{Path, PathBuf};

use adopt_collect::store::{self, documents_frame, tables_frame, write_parquet_atomic};
use adopt_core::{Document, Reporter, RunDir, Stage, StageContext, StageSummary};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use adopt_clean::pii::PiiDetector;
use adopt_clean::tables::{self, TableProfile};
use adopt_clean::{CleanConfig, CleanOutput, CleanReport, Cleaner};

/// Everything `adopt clean` reports: the document report plus a profile of every table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageReport {
    #[serde(flatten)]
    pub documents: CleanReport,
    pub tables: Vec<TableProfile>,
}

/// Failures of the stage as a whole (bad settings, unreadable inputs, unwritable outputs).
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Config(#[from] adopt_clean::CleanError),
    #[error("{0}: no collected documents here; run `adopt collect` first")]
    NoInput(PathBuf),
    #[error(transparent)]
    Collect(#[from] adopt_collect::CollectError),
    #[error("{path}: {reason}")]
    Output { path: PathBuf, reason: String },
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> StageError {
    StageError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Runs `adopt clean` on `run_dir`.
pub fn clean_run_dir(
    run_dir: &RunDir,
    config: &CleanConfig,
    reporter: &dyn Reporter,
) -> Result<StageReport, StageError> {
    let cleaner = Cleaner::new(config)?;
    if !run_dir.documents().exists() {
        return Err(StageError::NoInput(run_dir.root().to_path_buf()));
    }
    let docs = store::read_documents(&run_dir.documents(), Some(&run_dir.tables_index()))?;
    let output = cleaner.run(docs, reporter);

    let staging = run_dir
        .fresh_staging("clean")
        .map_err(|e| out_err(&run_dir.staging("clean"), e))?;
    std::fs::create_dir_all(staging.join("tables")).map_err(|e| out_err(&staging, e))?;

    let pii = if config.pii.enabled {
        Some(PiiDetector::new(&config.pii).map_err(adopt_clean::CleanError::InvalidConfig)?)
    } else {
        None
    };
    let redact_tables = config.pii.enabled && config.pii.mode != adopt_clean::PiiMode::Report;
    let mut profiles = Vec::new();
    reporter.start(
        "tables",
        output.kept.iter().map(|d| d.doc.tables.len() as u64).sum(),
    );
    for kept in &output.kept {
        for t in &kept.doc.tables {
            let src = run_dir.tables_dir().join(&t.file);
            let mut df = store::read_parquet(&src)?;
            let mut profile = tables::profile(
                &df,
                pii.as_ref(),
                &t.table_id,
                &kept.doc.source_path,
                kept.doc.department.as_deref(),
                &t.unit,
            );
            if let Some(pii) = &pii {
                let mut copy = df.clone();
                profile.pii_counts =
                    tables::redact(&mut copy, pii).map_err(|e| out_err(&src, e))?;
                if redact_tables {
                    df = copy;
                }
            }
            write_parquet_atomic(
                &staging.join("tables").join(&t.file),
                &mut df,
                "clean table",
            )?;
            profiles.push(profile);
            reporter.advance(&t.table_id);
        }
    }
    reporter.finish();

    write_documents(&staging, &output)?;
    let report = StageReport {
        documents: output.report.clone(),
        tables: profiles,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| out_err(&staging, e))?;
    std::fs::write(staging.join("report.json"), json).map_err(|e| out_err(&staging, e))?;
    std::fs::write(staging.join("report.md"), markdown(&report))
        .map_err(|e| out_err(&staging, e))?;

    run_dir
        .commit_staging("clean", &run_dir.clean_dir())
        .map_err(|(path, e)| out_err(&path, e))?;
    Ok(report)
}

pub(crate) fn load(section: &mut crate::config::Section<'_>, pipeline: &mut crate::Pipeline) {
    let Some(c) = section.parse::<CleanConfig>() else {
        return;
    };
    if let Err(adopt_clean::CleanError::InvalidConfig(errors)) = c.validate() {
        for e in errors {
            section.error(e);
        }
    }
    pipeline.clean = Some(c);
}

pub(crate) fn plan<'a>(
    pipeline: &'a crate::Pipeline,
    _tools: &crate::stages::Tools<'a>,
) -> Option<Box<dyn Stage + 'a>> {
    Some(Box::new(CleanStage(pipeline.clean.as_ref()?)))
}

struct CleanStage<'a>(&'a CleanConfig);

impl Stage for CleanStage<'_> {
    fn name(&self) -> &'static str {
        "clean"
    }

    fn settings(&self) -> Vec<u8> {
        crate::stages::settings_bytes(self.0)
    }

    fn inputs(&self, ctx: &StageContext<'_>) -> Vec<PathBuf> {
        vec![ctx.run_dir.documents(), ctx.run_dir.tables_index()]
    }

    fn outputs(&self, run_dir: &RunDir) -> Vec<PathBuf> {
        vec![run_dir.clean_report()]
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<StageSummary, adopt_core::StageError> {
        let report = clean_run_dir(ctx.run_dir, self.0, ctx.reporter)?;
        let d = &report.documents;
        Ok(format!(
            "{} documents: {} kept ({} with PII redacted), {} dropped; {} tables profiled",
            d.docs_in,
            d.docs_kept,
            d.docs_redacted,
            d.docs_dropped,
            report.tables.len()
        )
        .into())
    }
}

fn write_documents(dir: &Path, output: &CleanOutput) -> Result<(), StageError> {
    let docs: Vec<Document> = output.kept.iter().map(|k| k.doc.clone()).collect();
    let path = dir.join("documents.parquet");
    let mut df = documents_frame(&docs).map_err(|e| out_err(&path, e))?;
    let k = &output.kept;
    let list = |name: &str, lists: Vec<Vec<String>>| -> Column {
        let series: Vec<Series> = lists
            .into_iter()
            .map(|l| Series::new(PlSmallStr::EMPTY, l))
            .collect();
        if series.is_empty() {
            Series::new_empty(name.into(), &DataType::List(Box::new(DataType::String)))
                .into_column()
        } else {
            Series::new(name.into(), series).into_column()
        }
    };
    let extra = vec![
        Column::new(
            "lang".into(),
            k.iter().map(|d| d.lang.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "lang_confidence".into(),
            k.iter().map(|d| d.lang_confidence).collect::<Vec<_>>(),
        ),
        Column::new(
            "dup_cluster".into(),
            k.iter().map(|d| d.dup_cluster.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "pii_counts".into(),
            k.iter()
                .map(|d| serde_json::to_string(&d.pii_counts).unwrap_or_default())
                .collect::<Vec<_>>(),
        ),
        list(
            "changed_by",
            k.iter().map(|d| d.changed_by.clone()).collect(),
        ),
    ];
    df.hstack_mut(&extra).map_err(|e| out_err(&path, e))?;
    write_parquet_atomic(&path, &mut df, "clean documents")?;

    let index = dir.join("tables.parquet");
    let mut tf = tables_frame(&docs).map_err(|e| out_err(&index, e))?;
    write_parquet_atomic(&index, &mut tf, "clean table index")?;

    let d = &output.dropped;
    let dropped_path = dir.join("dropped.parquet");
    let mut dropped = DataFrame::new(
        d.len(),
        vec![
            Column::new(
                "doc_id".into(),
                d.iter().map(|x| x.doc_id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "source_path".into(),
                d.iter().map(|x| x.source_path.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "department".into(),
                d.iter()
                    .map(|x| x.department.as_deref())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "format".into(),
                d.iter().map(|x| x.format.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "operator".into(),
                d.iter().map(|x| x.operator.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "reason".into(),
                d.iter().map(|x| x.reason.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "detail".into(),
                d.iter().map(|x| x.detail.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "dup_cluster".into(),
                d.iter()
                    .map(|x| x.dup_cluster.as_deref())
                    .collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(|e| out_err(&dropped_path, e))?;
    write_parquet_atomic(&dropped_path, &mut dropped, "dropped documents")?;
    Ok(())
}

fn markdown(report: &StageReport) -> String {
    use std::fmt::Write as _;
    let mut md = report.documents.to_markdown();
    let _ = writeln!(md, "\n## Tables\n");
    if report.tables.is_empty() {
        let _ = writeln!(md, "No tables.");
        return md;
    }
    let _ = writeln!(md, "| table | source | unit | rows | cols | duplicate rows | PII | findings |\n|---|---|---|---:|---:|---:|---|---|");
    for t in &report.tables {
        let pii: Vec<String> = t
            .pii_counts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            t.table_id,
            t.source_path,
            t.unit,
            t.n_rows,
            t.n_cols,
            t.duplicate_rows,
            pii.join(", "),
            t.issues.join("; ").replace('|', "\\|")
        );
    }
    md
}
