//! `adopt trial`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use adopt_trial::{TrialConfig, TrialOptions};

use crate::reporter::TerminalReporter;
use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct TrialArgs {
    /// Trial file (TOML): models with size, provider and price, tasks, quality bar, volume. A
    /// pipeline file's [trial] table works too. See crates/adopt-trial/trial.example.toml.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Print the token and cost estimate of the whole sweep and send nothing.
    #[arg(long)]
    dry_run: bool,

    /// Most requests in flight across all endpoints (each endpoint's own limit still applies).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,

    /// Print the report as JSON instead of the summary.
    #[arg(long)]
    json: bool,

    /// Also measure latency under load (TTFT, inter-token latency, throughput and goodput per
    /// concurrency level or request rate), with the file's [trial.load] settings or the defaults,
    /// even when an earlier run's figures still hold.
    #[arg(long)]
    load: bool,
}

pub fn run(cli: &Cli, args: &TrialArgs) -> anyhow::Result<ExitCode> {
    let config = TrialConfig::from_path(&args.file)?;
    let run_dir = cli.run_dir(None);
    let mut opts = TrialOptions {
        dry_run: args.dry_run,
        concurrency: args.concurrency,
        load: args.load,
        ..TrialOptions::default()
    };
    // Questions with context = "source" retrieve from the run's knowledge base.
    if adopt_pipeline::stages::trial::uses_kb_context(&config) {
        let settings = adopt_pipeline::KbStageSettings::default();
        let manifest = adopt_kb::KbPaths::in_run(&run_dir).manifest();
        let built_with = adopt_kb::Manifest::read(&manifest)?.and_then(|m| m.embed_model);
        if built_with.is_none() && !manifest.is_file() {
            anyhow::bail!(
                "{}: tasks with context = \"source\" need a knowledge base; run `adopt kb build` first",
                run_dir.root().display()
            );
        }
        let embedder = match built_with {
            Some(_) => super::kb::embedder_for(adopt_pipeline::Embeddings::On, None, cli.quiet)?,
            None => None,
        };
        let source = adopt_pipeline::KbContext::open(
            &run_dir,
            &settings,
            embedder,
            adopt_pipeline::KB_CONTEXT_CHUNKS,
        )?;
        opts.context_source = Some(std::sync::Arc::new(source));
    }
    let reporter = TerminalReporter::new(cli.quiet);
    let report = adopt_pipeline::trial_run_dir(&run_dir, &config, &opts, &reporter)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(e) = &report.estimate {
        writeln!(out, "{}", serde_json::to_string_pretty(e)?)?;
    }
    for m in &report.metrics {
        writeln!(
            out,
            "  {:<16} {:<20} quality {:.3} [{:.3}, {:.3}]  p95 {:>8}  cost/1k {}",
            m.model,
            m.task,
            m.quality,
            m.quality_low,
            m.quality_high,
            m.latency_p95_ms
                .map_or("-".into(), |v| format!("{v:.0} ms")),
            m.cost_per_1k
                .map_or("-".into(), |v| format!("{v:.4} {}", report.currency)),
        )?;
    }
    for r in &report.recommendations {
        writeln!(out, "{}", r.sentence)?;
    }
    if let Some(load) = &report.load {
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        writeln!(
            out,
            "latency under load ({}{}), ms p50/p99:",
            load.prompts,
            if load.reused {
                "; from an earlier run, --load measures again"
            } else {
                ""
            }
        )?;
        for l in &load.levels {
            writeln!(
                out,
                "  {:<16} {:<10} {:>6.2} req/s {:>7.1} tok/s  TTFT {:>6}/{:<6} ITL {:>5}/{:<5} e2e {:>6}/{:<6}{}{}",
                l.model,
                l.level,
                l.request_throughput,
                l.output_tokens_per_s,
                ms(l.ttft_p50_ms),
                ms(l.ttft_p99_ms),
                ms(l.itl_p50_ms),
                ms(l.itl_p99_ms),
                ms(l.e2e_p50_ms),
                ms(l.e2e_p99_ms),
                l.goodput
                    .map_or(String::new(), |g| format!("  goodput {g:.2}/s")),
                if l.errors > 0 { format!("  {} failed", l.errors) } else { String::new() },
            )?;
        }
        for f in &load.failures {
            writeln!(out, "  not measured: {}: {}", f.model, f.message)?;
        }
    }
    for f in &report.failures {
        writeln!(out, "failed: {f:?}")?;
    }
    writeln!(out, "outputs: {}", run_dir.trial_dir().display())?;
    Ok(ExitCode::SUCCESS)
}
