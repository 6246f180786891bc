//! The run directory: every stage reads its inputs from, and writes its outputs to, one folder.
//!
//! ```text
//! adopt-run/
//!   documents.parquet     collect: one row per document
//!   tables.parquet        collect: index of extracted tables with provenance
//!   tables/               collect: one Parquet file per table
//!   quarantine.jsonl      collect: files that could not be read, with the reason
//!   collect-state.json    collect: content hashes for incremental re-runs
//!   clean/                clean: cleaned documents, tables and the data-quality report
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

    /// Scratch space for a stage's in-progress outputs; renamed into place when complete.
    pub fn staging(&self, stage: &str) -> PathBuf {
        self.root.join(format!(".staging-{stage}"))
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
