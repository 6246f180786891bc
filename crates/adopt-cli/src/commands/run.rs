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
}

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
