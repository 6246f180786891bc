//! The collect stage: reads the sources into `documents.parquet` and `tables/`. It is
//! incremental by content hash (adopt-collect keeps `collect-state.json`), so it runs every
//! time and an unchanged corpus costs one pass of hashing.

use std::path::PathBuf;

use adopt_collect::{CollectOptions, CollectSummary, Extractor};
use adopt_core::{Stage, StageContext, StageError, StageSummary};
use serde::{Deserialize, Serialize};

use crate::config::{lexical_join, Section};
use crate::stages::Tools;
use crate::Pipeline;

/// `[collect]`: where documents come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CollectSettings {
    /// Files and folders to read, relative to the pipeline file. In a folder, the first level
    /// of subfolders names the department.
    pub sources: Vec<PathBuf>,
    /// Department of every file, instead of the folder names.
    #[serde(default)]
    pub department: Option<String>,
    /// Seconds one file may take before it is quarantined.
    #[serde(default = "default_timeout")]
    pub file_timeout: u64,
    /// Memory one file may use, in MiB, before it is quarantined.
    #[serde(default = "default_memory")]
    pub file_memory: u64,
    /// Files read at once; 0 means one per core.
    #[serde(default)]
    pub jobs: usize,
    /// When OCR reads scanned PDF pages and image files: "auto" (image files, and PDF pages
    /// without a usable text layer that carry images), "off", or "force" (also pages whose images
    /// cover half the page or more, replacing their text layer).
    #[serde(default)]
    pub ocr: adopt_collect::OcrMode,
}

fn default_timeout() -> u64 {
    120
}

fn default_memory() -> u64 {
    4096
}

pub(crate) fn load(section: &mut Section<'_>, pipeline: &mut Pipeline) {
    let Some(mut c) = section.parse::<CollectSettings>() else {
        return;
    };
    if c.sources.is_empty() {
        section.error("sources: name at least one file or folder".into());
    }
    for s in &mut c.sources {
        let resolved = if s.is_absolute() {
            s.clone()
        } else {
            lexical_join(section.base, s)
        };
        if !resolved.exists() {
            section.error(format!("sources: {} does not exist", resolved.display()));
        }
        *s = resolved;
    }
    pipeline.collect = Some(c);
}

pub(crate) fn plan<'a>(pipeline: &'a Pipeline, tools: &Tools<'a>) -> Option<Box<dyn Stage + 'a>> {
    let settings = pipeline.collect.as_ref()?;
    Some(Box::new(CollectStage {
        settings,
        extractor: tools.extractor,
    }))
}

struct CollectStage<'a> {
    settings: &'a CollectSettings,
    extractor: &'a dyn Extractor,
}

impl Stage for CollectStage<'_> {
    fn name(&self) -> &'static str {
        "collect"
    }

    fn settings(&self) -> Vec<u8> {
        crate::stages::settings_bytes(self.settings)
    }

    fn skippable(&self) -> bool {
        false
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<StageSummary, StageError> {
        let c = self.settings;
        let opts = CollectOptions {
            sources: c.sources.clone(),
            department: c.department.clone(),
            full: false,
            threads: c.jobs,
            ocr: c.ocr,
        };
        let summary = adopt_collect::collect(ctx.run_dir, &opts, self.extractor, ctx.reporter)?;
        Ok(summary_line(&summary).into())
    }
}

/// One line about a collect run, for people.
pub fn summary_line(summary: &CollectSummary) -> String {
    let mut line = format!(
        "{} files: {} read, {} unchanged, {} quarantined, {} removed; {} documents, {} tables",
        summary.found,
        summary.read,
        summary.unchanged,
        summary.quarantined,
        summary.removed,
        summary.documents,
        summary.tables
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
}
