//! `adopt label`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::reporter::TerminalReporter;
use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct LabelArgs {
    /// TOML settings: a pipeline file (its [label] table is used) or a file of label settings
    /// alone: labels, [[functions]], [model], [annotation], [qa].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Annotations to import: a Label Studio JSON export or a CSV of annotator,id,label.
    #[arg(long, value_name = "FILE")]
    annotations: Option<PathBuf>,

    /// Print the report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
}

fn load_config(
    path: &std::path::Path,
) -> anyhow::Result<(adopt_label::LabelConfig, Option<PathBuf>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not valid TOML", path.display()))?;
    let mut section = match value.get("label") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => anyhow::bail!("{}: [label] must be a table", path.display()),
        None => value,
    };
    let annotations = section
        .remove("annotations")
        .and_then(|v| v.as_str().map(PathBuf::from))
        .map(|p| path.parent().unwrap_or(std::path::Path::new(".")).join(p));
    let config: adopt_label::LabelConfig = section
        .try_into()
        .with_context(|| format!("{}: invalid label settings", path.display()))?;
    Ok((config, annotations))
}

/// The default embedding model, loaded only when a similarity function needs one (loading
/// takes seconds and hundreds of MB).
pub fn embedder_for(
    config: &adopt_label::LabelConfig,
) -> anyhow::Result<Option<adopt_embed::FastEmbedder>> {
    let needs = config
        .functions
        .iter()
        .any(|f| matches!(f, adopt_label::FunctionConfig::Similarity(_)));
    if !needs {
        return Ok(None);
    }
    let e = adopt_embed::FastEmbedder::load_default()
        .context("a similarity labelling function needs the embedding model")?;
    Ok(Some(e))
}

pub fn run(cli: &Cli, args: &LabelArgs) -> anyhow::Result<ExitCode> {
    let (config, from_file) = match &args.config {
        Some(p) => load_config(p)?,
        None => (adopt_label::LabelConfig::default(), None),
    };
    let annotations = args.annotations.clone().or(from_file);
    let run_dir = cli.run_dir(None);
    let reporter = TerminalReporter::new(cli.quiet);
    let report =
        adopt_pipeline::label_run_dir(&run_dir, &config, annotations.as_deref(), None, &reporter)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{}",
        adopt_pipeline::stages::label::label_line(&report)
    )?;
    writeln!(out, "outputs: {}", run_dir.label_dir().display())?;
    Ok(ExitCode::SUCCESS)
}
