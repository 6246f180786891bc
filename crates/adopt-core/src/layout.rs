//! The run directory: every stage reads its inputs from, and writes its outputs to, one folder.
//!
//! This type is the one place that layout is written down: stages, the report and the CLI ask it
//! for paths instead of joining names of their own.
//!
//! ```text
//! adopt-run/
//!   documents.parquet     collect: one row per document
//!   tables.parquet        collect: index of extracted tables with provenance
//!   tables/               collect: one Parquet file per table
//!   quarantine.jsonl      collect: files that could not be read, with the reason
//!   collect-state.json    collect: content hashes for incremental re-runs
//!   clean/                clean: cleaned documents and tables, report.json / report.md
//!   label/                label: labels, annotation tasks, QA pairs, summary.json
//!   kb/                   kb: index/, manifest.json, backend.json, build.json, eval.json
//!   trial/                trial: items.jsonl, results, summary.json
//!   report/               report: index.html, readiness.md, readiness.json
//!   run-state.json        adopt run: each finished stage's fingerprint
//! ```

use std::path::{Path, PathBuf};

/// Paths inside a run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    pub const DEFAULT: &'static str = "adopt-run";

    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn documents(&self) -> PathBuf {
        self.root.join("documents.parquet")
    }

    pub fn tables_index(&self) -> PathBuf {
        self.root.join("tables.parquet")
    }

    pub fn tables_dir(&self) -> PathBuf {
        self.root.join("tables")
    }

    pub fn quarantine(&self) -> PathBuf {
        self.root.join("quarantine.jsonl")
    }

    pub fn collect_state(&self) -> PathBuf {
        self.root.join("collect-state.json")
    }

    pub fn clean_dir(&self) -> PathBuf {
        self.root.join("clean")
    }

    /// `clean/report.json`: the data-quality report, written last by clean.
    pub fn clean_report(&self) -> PathBuf {
        self.clean_dir().join("report.json")
    }

    /// The documents file the stages after clean work on, with its tables index: clean's output
    /// when it exists, else collect's; `None` when neither stage has run.
    pub fn stage_input(&self) -> Option<(PathBuf, PathBuf)> {
        let clean = self.clean_dir();
        if clean.join("documents.parquet").exists() {
            Some((
                clean.join("documents.parquet"),
                clean.join("tables.parquet"),
            ))
        } else if self.documents().exists() {
            Some((self.documents(), self.tables_index()))
        } else {
            None
        }
    }

    /// The documents file of [`RunDir::stage_input`]; an empty path (an input that hashes as
    /// missing) when no stage has written one.
    pub fn stage_documents(&self) -> PathBuf {
        self.stage_input().map(|(docs, _)| docs).unwrap_or_default()
    }

    pub fn label_dir(&self) -> PathBuf {
        self.root.join("label")
    }

    /// `label/summary.json`: what the report reads of the label stage.
    pub fn label_summary(&self) -> PathBuf {
        self.label_dir().join("summary.json")
    }

    pub fn kb_dir(&self) -> PathBuf {
        self.root.join("kb")
    }

    /// `kb/eval.json`: retrieval quality, what the report reads of the kb stage.
    pub fn kb_eval(&self) -> PathBuf {
        self.kb_dir().join("eval.json")
    }

    pub fn trial_dir(&self) -> PathBuf {
        self.root.join("trial")
    }

    /// `trial/summary.json`: what the report reads of the trial.
    pub fn trial_summary(&self) -> PathBuf {
        self.trial_dir().join("summary.json")
    }

    /// `report/`: the readiness report.
    pub fn report_dir(&self) -> PathBuf {
        self.root.join("report")
    }

    /// `run-state.json`: the fingerprint of every stage `adopt run` finished.
    pub fn run_state(&self) -> PathBuf {
        self.root.join("run-state.json")
    }

    /// Scratch space for a stage's in-progress outputs; renamed into place when complete.
    pub fn staging(&self, stage: &str) -> PathBuf {
        self.root.join(format!(".staging-{stage}"))
    }

    /// An empty [`RunDir::staging`] folder for `stage` (what a killed run left there is gone).
    pub fn fresh_staging(&self, stage: &str) -> std::io::Result<PathBuf> {
        let staging = self.staging(stage);
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        Ok(staging)
    }

    /// Commits `stage`'s staging folder as `target`: the old outputs are moved aside, the new
    /// ones renamed in, then the old dropped, so a kill at any moment leaves either the old
    /// outputs or the new ones in `target`, never a mix. On error, the path that failed.
    pub fn commit_staging(
        &self,
        stage: &str,
        target: &Path,
    ) -> Result<(), (PathBuf, std::io::Error)> {
        let staging = self.staging(stage);
        let old = self.root.join(format!(".{stage}-old"));
        let _ = std::fs::remove_dir_all(&old);
        if target.exists() {
            std::fs::rename(target, &old).map_err(|e| (target.to_path_buf(), e))?;
        }
        std::fs::rename(&staging, target).map_err(|e| (target.to_path_buf(), e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

/// Environment variable that moves the model cache (embedding model, ONNX Runtime, chat models).
pub const MODEL_CACHE_ENV: &str = "ADOPT_MODEL_CACHE";

/// Where `adopt models fetch` installs models: `$ADOPT_MODEL_CACHE`, else
/// `~/.cache/adopt/models`. Shared by every run directory on the machine, unlike the run
/// directory itself.
pub fn model_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODEL_CACHE_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("adopt").join("models")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename, so a
/// reader (or a resumed run after a kill) sees either the old file or the new one, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
