//! The report stage: gathers every stage's summary from the run directory and writes the
//! readiness report (`report/index.html`, `readiness.md`, `readiness.json`).

use std::path::PathBuf;

use adopt_core::{RunDir, Stage, StageContext, StageSummary, UNIT_SEPARATOR};
use adopt_report::{DocSummary, Inventory, Readiness, ReadinessInputs};
use serde::{Deserialize, Serialize};

/// `[report]`: who the report is for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportSettings {
    /// Organisation named in the report's title ("Example Bank").
    #[serde(default)]
    pub organisation: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportStageError {
    #[error(transparent)]
    Report(#[from] adopt_report::ReportError),
    #[error(transparent)]
    Collect(#[from] adopt_collect::CollectError),
    #[error("{0}: nothing to report on; run `adopt collect` first")]
    NoInput(PathBuf),
}

pub(crate) fn load(section: &mut crate::config::Section<'_>, pipeline: &mut crate::Pipeline) {
    pipeline.report = section.parse::<ReportSettings>();
}

pub(crate) fn plan<'a>(
    pipeline: &'a crate::Pipeline,
    _tools: &crate::stages::Tools<'a>,
) -> Option<Box<dyn Stage + 'a>> {
    Some(Box::new(ReportStage(pipeline.report.as_ref()?)))
}

/// The report is cheap and reads every stage's summary: it runs every time, last.
struct ReportStage<'a>(&'a ReportSettings);

impl Stage for ReportStage<'_> {
    fn name(&self) -> &'static str {
        "report"
    }

    fn settings(&self) -> Vec<u8> {
        crate::stages::settings_bytes(self.0)
    }

    fn skippable(&self) -> bool {
        false
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<StageSummary, adopt_core::StageError> {
        let readiness = report_run_dir(ctx.run_dir, self.0)?;
        Ok(format!(
            "{}: {}",
            readiness.overall.label(),
            ctx.run_dir.report_dir().join("index.html").display()
        )
        .into())
    }
}

/// Builds and writes the readiness report of `run_dir`.
pub fn report_run_dir(
    run_dir: &RunDir,
    settings: &ReportSettings,
) -> Result<Readiness, ReportStageError> {
    if !run_dir.documents().exists() {
        return Err(ReportStageError::NoInput(run_dir.root().to_path_buf()));
    }
    let mut inputs = ReadinessInputs::load(run_dir.root())?;
    let docs = adopt_collect::read_documents(&run_dir.documents(), Some(&run_dir.tables_index()))?;
    let documents = docs
        .iter()
        .map(|d| DocSummary {
            source_path: d.source_path.clone(),
            department: d.department.clone(),
            format: d.format.as_str().to_string(),
            page_count: d.page_count,
            empty_units: d
                .text
                .split(UNIT_SEPARATOR)
                .filter(|u| u.trim().is_empty())
                .count() as u32,
            n_tables: d.tables.len() as u32,
            encoding: d.encoding.clone(),
            byte_size: d.byte_size,
            n_chars: d.text.chars().count() as u64,
            warnings: d.warnings.len() as u32,
            ocr_pages: ocr_notes(d).count() as u32,
            ocr_low_confidence: ocr_notes(d)
                .filter(|c| adopt_core::document::ocr_note::is_low(*c))
                .count() as u32,
        })
        .collect();
    let quarantine = inputs
        .inventory
        .take()
        .map(|i| i.quarantine)
        .unwrap_or_default();
    inputs.inventory = Some(Inventory {
        documents,
        quarantine,
    });
    inputs.run.organisation = settings.organisation.clone();
    inputs.run.generated_at = Some(chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string());
    inputs.run.adopt_version = Some(env!("CARGO_PKG_VERSION").to_string());
    let readiness = adopt_report::build(&inputs);
    adopt_report::write_report(run_dir.root(), &readiness)?;
    Ok(readiness)
}

/// The OCR confidences collect noted in a document's warnings, one per OCRed page.
fn ocr_notes(d: &adopt_core::Document) -> impl Iterator<Item = Option<f32>> + '_ {
    d.warnings
        .iter()
        .filter_map(|w| adopt_core::document::ocr_note::parse(w))
}
