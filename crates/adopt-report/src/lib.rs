//! The readiness report (`adopt report`): reads the summaries the other stages leave in the run
//! directory and answers, for a manager, whether the organisation's data is ready for LLMs.
//! Each area gets a verdict (ready, needs attention, blocked, not run), one plain sentence, and
//! the next actions; the result renders as a self-contained HTML page, Markdown and JSON.
//!
//! ```no_run
//! use adopt_report::{build, write_report, ReadinessInputs};
//! # fn main() -> adopt_report::Result<()> {
//! let run_dir = std::path::Path::new("adopt-run");
//! let inputs = ReadinessInputs::load(run_dir)?; // the caller adds the inventory's documents
//! let readiness = build(&inputs);
//! write_report(run_dir, &readiness)?; // adopt-run/report/index.html, readiness.md, readiness.json
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

mod html;
pub mod inputs;
mod markdown;
mod readiness;
mod svg;
mod units;

pub use html::{escape, render_html};
pub use inputs::{
    AgreementSummary, CleanSummary, DocSummary, GroupSummary, HostedCostSummary, Inventory,
    KbSummary, LabelAgreementSummary, LabelFunctionSummary, LabelSummary, LoadLevelSummary,
    LoadSummary, MissingModel, OperatorSummary, PiiSummary, QuarantineItem, ReadinessInputs,
    RunInfo, ScenarioSummary, TableSummary, TrialCandidate, TrialSummary,
};
pub use markdown::render_markdown;
pub use readiness::{
    build, Action, BarChart, Chart, DataTable, Figure, Readiness, ScatterChart, ScatterPoint,
    Section, ValueScale, Verdict,
};

/// Failures reading stage summaries or writing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}{}: not a summary this version understands: {source}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        /// Line, for JSON Lines files.
        line: Option<usize>,
        source: serde_json::Error,
    },
    #[error("{path}: cannot write the report: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, ReportError>;

/// The report serialised as pretty JSON (what `readiness.json` holds).
pub fn render_json(r: &Readiness) -> String {
    // Plain data with string keys: serialisation cannot fail.
    serde_json::to_string_pretty(r).expect("readiness serialises")
}

/// Writes `report/index.html`, `report/readiness.md` and `report/readiness.json` under
/// `run_dir`. Each file is written to a temporary name and renamed, so a reader never sees
/// half a report.
pub fn write_report(run_dir: &Path, readiness: &Readiness) -> Result<()> {
    let dir = adopt_core::RunDir::new(run_dir).report_dir();
    for (name, body) in [
        ("index.html", render_html(readiness)),
        ("readiness.md", render_markdown(readiness)),
        ("readiness.json", render_json(readiness)),
    ] {
        let path = dir.join(name);
        adopt_core::layout::write_atomic(&path, body.as_bytes())
            .map_err(|source| ReportError::Write { path, source })?;
    }
    Ok(())
}
