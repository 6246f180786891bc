//! `adopt collect`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use adopt_collect::{Budget, CollectOptions, Extractor, InProcessExtractor, SubprocessExtractor};
use adopt_core::RunDir;
use anyhow::Context;

use crate::reporter::TerminalReporter;
use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Files and folders to read. In a folder, the first level of subfolders names the
    /// department (data/risk/q1.pdf belongs to "risk").
    #[arg(required = true, value_name = "SRC")]
    sources: Vec<PathBuf>,

    /// Department of every file read, instead of the folder names.
    #[arg(long, value_name = "NAME")]
    department: Option<String>,

    /// Re-read every file, even those whose content has not changed.
    #[arg(long)]
    full: bool,

    /// Files read at once [default: one per core].
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    jobs: usize,

    /// Seconds one file may take before it is quarantined.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    file_timeout: u64,

    /// Memory one file may use, in MiB, before it is quarantined.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    file_memory: u64,

    /// When OCR reads scanned PDF pages and image files: `auto` (image files, and PDF pages
    /// without a usable text layer that carry images), `off`, or `force` (also pages whose images
    /// cover half the page or more, their text layer replaced). OCR needs `adopt models fetch ocr`.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "off", "force"])]
    ocr: String,

    /// Read files inside this process: faster to start, but a hostile file can hang or
    /// exhaust it. For trusted inputs and debugging.
    #[arg(long)]
    in_process: bool,

    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[arg(long)]
    job: PathBuf,
    #[arg(long)]
    result: PathBuf,
    #[arg(long)]
    memory_mib: u64,
}

pub fn run(cli: &Cli, args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let run_dir = cli.run_dir(None);
    let opts = CollectOptions {
        sources: args.sources.clone(),
        department: args.department.clone(),
        full: args.full,
        threads: args.jobs,
        ocr: adopt_collect::OcrMode::parse(&args.ocr).expect("clap checked the value"),
    };
    let budget = Budget {
        timeout: Duration::from_secs(args.file_timeout.max(1)),
        memory_mib: args.file_memory.max(64),
    };
    let subprocess;
    let extractor: &dyn Extractor = if args.in_process {
        &InProcessExtractor
    } else {
        subprocess = SubprocessExtractor {
            program: std::env::current_exe()
                .context("cannot find the adopt executable to start workers")?,
            args: vec!["__extract-worker".into()],
            budget,
            scratch: run_dir.staging("collect"),
        };
        &subprocess
    };
    let reporter = TerminalReporter::new(cli.quiet);
    let summary = adopt_collect::collect(&run_dir, &opts, extractor, &reporter)?;
    let _ = std::fs::remove_dir_all(run_dir.staging("collect"));

    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "collected {} files: {} read, {} unchanged, {} quarantined, {} removed",
        summary.found, summary.read, summary.unchanged, summary.quarantined, summary.removed
    )?;
    writeln!(
        out,
        "{} now holds {} documents ({} pages or sheets) and {} tables",
        run_dir.root().display(),
        summary.documents,
        summary.pages,
        summary.tables
    )?;
    if summary.ocr_pages > 0 {
        writeln!(
            out,
            "OCR read {} pages ({} with low confidence: see each document's warnings)",
            summary.ocr_pages, summary.ocr_low_confidence
        )?;
    }
    if let Some(why) = &summary.ocr_not_run_reason {
        // One line, never a failure: the scanned pages stay without text.
        writeln!(
            std::io::stderr(),
            "warning: {} documents have scanned pages left unread: {why}",
            summary.ocr_not_run
        )?;
    }
    if summary.quarantined > 0 {
        let kinds: Vec<String> = summary
            .quarantined_by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        writeln!(
            out,
            "quarantined: {} (see {})",
            kinds.join(", "),
            run_dir.quarantine().display()
        )?;
        if !cli.quiet {
            let entries = adopt_collect::store::read_quarantine(&run_dir.quarantine())?;
            for q in entries.iter().take(20) {
                writeln!(out, "  {}: {}", q.path, q.reason)?;
            }
            if entries.len() > 20 {
                writeln!(out, "  ... and {} more", entries.len() - 20)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The extractor collect uses: each file in a worker process (this executable's hidden
/// `__extract-worker` subcommand) under `budget`, unless `in_process` is asked for.
pub fn extractor(
    run_dir: &RunDir,
    budget: Budget,
    in_process: bool,
) -> anyhow::Result<Box<dyn Extractor>> {
    if in_process {
        return Ok(Box::new(InProcessExtractor));
    }
    Ok(Box::new(SubprocessExtractor {
        program: std::env::current_exe()
            .context("cannot find the adopt executable to start workers")?,
        args: vec!["__extract-worker".into()],
        budget,
        scratch: run_dir.staging("collect"),
    }))
}

pub fn worker(args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    adopt_collect::run_worker(&args.job, &args.result, args.memory_mib)
        .with_context(|| format!("worker could not write {}", args.result.display()))?;
    Ok(ExitCode::SUCCESS)
}
