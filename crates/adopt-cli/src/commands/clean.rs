//! `adopt clean`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use adopt_clean::CleanConfig;

use crate::reporter::TerminalReporter;
use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// TOML settings: a pipeline file (its [clean] table is used) or a file of clean settings
    /// alone. Every operator is on with sensible thresholds when no file is given.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Print the report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Reads clean settings from a pipeline file's `[clean]` table, or from a file that holds only
/// clean settings.
pub fn load_config(path: &std::path::Path) -> anyhow::Result<CleanConfig> {
    super::load_section(path, "clean")
}

pub fn run(cli: &Cli, args: &CleanArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => load_config(p)?,
        None => CleanConfig::default(),
    };
    let run_dir = cli.run_dir(None);
    let reporter = TerminalReporter::new(cli.quiet);
    let report = adopt_pipeline::clean_run_dir(&run_dir, &config, &reporter)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let d = &report.documents;
    writeln!(
        out,
        "cleaned {} documents: {} kept ({} changed, {} with PII redacted), {} dropped, {} duplicate clusters",
        d.docs_in, d.docs_kept, d.docs_changed, d.docs_redacted, d.docs_dropped, d.duplicate_clusters
    )?;
    for op in &d.operators {
        if op.dropped > 0 || op.changed > 0 {
            let why: Vec<String> = op
                .drop_reasons
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            writeln!(
                out,
                "  {:<14} changed {:>5}  dropped {:>5}{}",
                op.name,
                op.changed,
                op.dropped,
                if why.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", why.join(", "))
                }
            )?;
        }
    }
    if !d.pii.by_kind.is_empty() {
        let kinds: Vec<String> = d
            .pii
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(out, "PII found: {}", kinds.join(", "))?;
    }
    let issues: usize = report.tables.iter().map(|t| t.issues.len()).sum();
    writeln!(
        out,
        "{} tables profiled, {} findings",
        report.tables.len(),
        issues
    )?;
    writeln!(
        out,
        "report: {}",
        run_dir.clean_dir().join("report.md").display()
    )?;
    Ok(ExitCode::SUCCESS)
}
