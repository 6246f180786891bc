//! Pipeline files: one TOML file names the stages to run (collect, clean, ...) and their
//! settings. This crate parses and validates such a file, reporting every error with its line
//! before anything runs, and runs the stages in order, recording what finished so that a run
//! killed at any moment can be finished by running the same command again. Each stage lives in
//! one file of [`stages`], listed once in [`stages::REGISTRY`].

pub mod config;
pub mod runner;
pub mod stages;

pub use config::{load, load_str, Diagnostic, Diagnostics, Pipeline, Section};
pub use runner::{run, RunError, RunOutcome, StageOutcome, StageStatus};
pub use stages::clean::{
    clean_run_dir, StageError as CleanStageError, StageReport as CleanStageReport,
};
pub use stages::collect::CollectSettings;
pub use stages::kb::{
    kb_run_dir, Backend, Embeddings, KbContext, KbStageError, KbStageReport, KbStageSettings,
};
pub use stages::label::{label_run_dir, stage_documents, LabelSettings, LabelStageError};
pub use stages::report::{report_run_dir, ReportSettings, ReportStageError};
pub use stages::trial::{trial_run_dir, TrialStageError, KB_CONTEXT_CHUNKS};
pub use stages::{StageEntry, Tools, REGISTRY};
