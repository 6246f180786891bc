//! The shape every pipeline stage has: a name, the files of the run directory it reads and
//! commits, a fingerprint of its settings, and a `run` that turns a context into a summary.
//!
//! Small, with defaults, in the spirit of swiftide's indexing traits: a stage that reads
//! nothing and always runs implements `name`, `settings` and `run`. The runner (adopt-pipeline)
//! owns the rest: it fingerprints settings plus the contents of [`Stage::inputs`], skips the
//! stage when the last finished run had the same fingerprint and every [`Stage::outputs`] file
//! exists, and otherwise forgets the old record, runs the stage and records the new one, so a
//! run killed at any moment redoes exactly the stage it interrupted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{Embedder, Reporter, RunDir};

/// What a stage is given to run with.
pub struct StageContext<'a> {
    pub run_dir: &'a RunDir,
    pub reporter: &'a dyn Reporter,
    /// The embedding model, when the run loaded one (label's similarity functions, kb's dense
    /// vectors and the trial's retrieved context share it).
    pub embedder: Option<Arc<dyn Embedder>>,
}

/// A stage's failure; its message names the file (and page, row) it came from.
pub type StageError = Box<dyn std::error::Error + Send + Sync>;

/// What one stage did, in one line for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSummary {
    pub line: String,
}

impl From<String> for StageSummary {
    fn from(line: String) -> Self {
        StageSummary { line }
    }
}

/// One stage of a pipeline, holding its settings.
pub trait Stage {
    /// The name of its table in a pipeline file, and of the stage in summaries.
    fn name(&self) -> &'static str;

    /// Its settings, serialised: part of the fingerprint, so changing one redoes the stage.
    fn settings(&self) -> Vec<u8>;

    /// Files whose contents decide whether the stage's outputs are up to date (a missing file
    /// counts as empty). Paths outside the run directory (a QA file, annotations) are allowed.
    fn inputs(&self, _ctx: &StageContext<'_>) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Anything else its outputs depend on that is not a file (the embedding model's id).
    fn extra_fingerprint(&self, _ctx: &StageContext<'_>) -> Option<Vec<u8>> {
        None
    }

    /// Files that exist once the stage has committed its outputs; all must exist to skip it.
    fn outputs(&self, _run_dir: &RunDir) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Whether the runner may skip the stage when its fingerprint is unchanged. Stages that
    /// are incremental by themselves (collect hashes every file; the trial keeps a resumable
    /// log) or cheap (the report) run every time.
    fn skippable(&self) -> bool {
        true
    }

    /// Does the work and commits the outputs (atomically: a staging folder renamed into place,
    /// or files written then renamed).
    fn run(&self, ctx: &StageContext<'_>) -> Result<StageSummary, StageError>;

    /// Settings plus input contents plus [`Stage::extra_fingerprint`], hashed.
    fn fingerprint(&self, ctx: &StageContext<'_>) -> String {
        let settings = self.settings();
        let inputs: Vec<Vec<u8>> = self.inputs(ctx).iter().map(|p| file_hash(p)).collect();
        let extra = self.extra_fingerprint(ctx);
        let mut parts: Vec<&[u8]> = vec![&settings];
        parts.extend(inputs.iter().map(Vec::as_slice));
        if let Some(extra) = &extra {
            parts.push(extra);
        }
        fingerprint(&parts)
    }
}

/// BLAKE3 of a file's contents; empty when it cannot be read (a missing optional input).
pub fn file_hash(path: &Path) -> Vec<u8> {
    std::fs::read(path)
        .map(|b| blake3::hash(&b).as_bytes().to_vec())
        .unwrap_or_default()
}

/// Length-prefixed parts hashed together, as 32 hex characters.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex()[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo(&'static str, PathBuf);

    impl Stage for Echo {
        fn name(&self) -> &'static str {
            "echo"
        }
        fn settings(&self) -> Vec<u8> {
            self.0.as_bytes().to_vec()
        }
        fn inputs(&self, _ctx: &StageContext<'_>) -> Vec<PathBuf> {
            vec![self.1.clone()]
        }
        fn run(&self, _ctx: &StageContext<'_>) -> Result<StageSummary, StageError> {
            Ok(format!("said {}", self.0).into())
        }
    }

    #[test]
    fn the_fingerprint_follows_settings_and_input_contents() {
        let dir = std::env::temp_dir().join(format!("adopt-stage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.txt");
        let run_dir = RunDir::new(&dir);
        let ctx = StageContext {
            run_dir: &run_dir,
            reporter: &crate::NoopReporter,
            embedder: None,
        };
        let missing = Echo("a", input.clone()).fingerprint(&ctx);
        std::fs::write(&input, "one").unwrap();
        let one = Echo("a", input.clone()).fingerprint(&ctx);
        assert_ne!(missing, one, "a new input file changes the fingerprint");
        assert_eq!(one, Echo("a", input.clone()).fingerprint(&ctx));
        assert_ne!(one, Echo("b", input.clone()).fingerprint(&ctx));
        std::fs::write(&input, "two").unwrap();
        assert_ne!(one, Echo("a", input.clone()).fingerprint(&ctx));
        assert_eq!(
            Echo("a", input).run(&ctx).unwrap().line,
            "said a".to_string()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
