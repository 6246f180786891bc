//! Runs a pipeline's stages in order and records what finished in `run-state.json`.
//!
//! One loop over the registry: each stage commits its own outputs atomically (files written
//! then renamed, or a staging folder renamed into place). The state file records, per stage, a
//! fingerprint of its settings and inputs once its outputs are committed, so a re-run skips
//! stages that are up to date and redoes the one that was interrupted. Stages that are
//! incremental by themselves or cheap (collect, trial, report) run every time.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use adopt_collect::Extractor;
use adopt_core::layout::write_atomic;
use adopt_core::{Reporter, RunDir, StageContext, StageError};
use serde::{Deserialize, Serialize};

use crate::config::Pipeline;
use crate::stages::{Tools, REGISTRY};

#[derive(Debug, Default, Serialize, Deserialize)]
struct RunState {
    stages: BTreeMap<String, StageRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StageRecord {
    fingerprint: String,
}

/// What happened to one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageOutcome {
    pub stage: &'static str,
    pub status: StageStatus,
    /// One line for people.
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    Ran,
    UpToDate,
}

/// The outcome of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub pipeline: String,
    pub stages: Vec<StageOutcome>,
}

/// A stage failed; the stages before it are committed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{stage}: {source}")]
    Stage {
        stage: &'static str,
        #[source]
        source: StageError,
    },
    #[error("{path}: {source}")]
    State {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `pipeline` into `run_dir`: every stage of the registry the file configures, in order.
/// `extractor` reads files for collect (the CLI passes one that isolates each file in a worker
/// process).
pub fn run(
    pipeline: &Pipeline,
    run_dir: &RunDir,
    extractor: &dyn Extractor,
    embedder: Option<Arc<dyn adopt_core::Embedder>>,
    reporter: &dyn Reporter,
) -> Result<RunOutcome, RunError> {
    std::fs::create_dir_all(run_dir.root()).map_err(|source| RunError::State {
        path: run_dir.root().to_path_buf(),
        source,
    })?;
    let state_path = run_dir.run_state();
    let mut state: RunState = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut outcome = RunOutcome {
        pipeline: pipeline.name.clone(),
        stages: Vec::new(),
    };
    let tools = Tools { extractor };
    let ctx = StageContext {
        run_dir,
        reporter,
        embedder,
    };
    for entry in REGISTRY {
        let Some(stage) = (entry.plan)(pipeline, &tools) else {
            continue;
        };
        let name = stage.name();
        let failed = |source| RunError::Stage {
            stage: name,
            source,
        };
        if !stage.skippable() {
            let summary = stage.run(&ctx).map_err(failed)?;
            outcome.stages.push(StageOutcome {
                stage: name,
                status: StageStatus::Ran,
                summary: summary.line,
            });
            continue;
        }
        let fingerprint = stage.fingerprint(&ctx);
        let done = state
            .stages
            .get(name)
            .is_some_and(|r| r.fingerprint == fingerprint)
            && stage.outputs(run_dir).iter().all(|p| p.exists());
        if done {
            outcome.stages.push(StageOutcome {
                stage: name,
                status: StageStatus::UpToDate,
                summary: "up to date".into(),
            });
            continue;
        }
        // Forget the old record first: if this run is killed, the next one redoes the stage.
        state.stages.remove(name);
        save(&state_path, &state)?;
        let summary = stage.run(&ctx).map_err(failed)?;
        state
            .stages
            .insert(name.into(), StageRecord { fingerprint });
        save(&state_path, &state)?;
        outcome.stages.push(StageOutcome {
            stage: name,
            status: StageStatus::Ran,
            summary: summary.line,
        });
    }
    Ok(outcome)
}

fn save(path: &Path, state: &RunState) -> Result<(), RunError> {
    let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    write_atomic(path, &bytes).map_err(|source| RunError::State {
        path: path.to_path_buf(),
        source,
    })
}
