//! Pipeline files: one TOML file names the stages to run (collect, clean, ...) and their
//! settings. This crate parses and validates such a file, reporting every error with its line
//! before anything runs, and runs the stages in order, recording what finished so that a run
//! killed at any moment can be finished by running the same command again.

pub mod config;
pub mod kb_stage;
pub mod label_stage;
pub mod report_stage;
pub mod runner;
pub mod trial_stage;

pub use config::{load, load_str, CollectSettings, Diagnostic, Diagnostics, Pipeline};
pub use kb_stage::{
    kb_dir, kb_run_dir, Backend, Embeddings, KbContext, KbStageError, KbStageReport,
    KbStageSettings,
};
pub use label_stage::{label_run_dir, stage_documents, LabelStageError};
pub use report_stage::{report_run_dir, ReportSettings, ReportStageError};
pub use runner::{run, RunError, RunOutcome, StageOutcome, StageStatus};
pub use trial_stage::{trial_dir, trial_run_dir, TrialStageError};
