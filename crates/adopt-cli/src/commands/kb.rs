//! `adopt kb build|query|eval|status|chunks`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use adopt_core::{Embedder, RunDir};
use adopt_kb::{ChunkFilter, Fusion, KbPaths, KnowledgeBase, Query, SearchMode};
use adopt_pipeline::{Embeddings, KbStageSettings};
use anyhow::Context;

use crate::reporter::TerminalReporter;
use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct KbArgs {
    #[command(subcommand)]
    command: KbCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KbCommand {
    /// Chunk the cleaned documents (collected ones when clean was not run), embed them and
    /// index them in `<run>/kb`. Re-running updates only what changed.
    Build(BuildArgs),
    /// Search the knowledge base and print the best chunks with their source.
    Query(QueryArgs),
    /// Score retrieval on questions with known answers: hit@1/3/5/10, MRR, nDCG@10.
    Eval(EvalArgs),
    /// What the knowledge base holds, checked against the index itself.
    Status(StatusArgs),
    /// List the indexed chunks (as the index stores them) in reading order, to see how the
    /// documents were cut.
    Chunks(ChunksArgs),
}

#[derive(Debug, clap::Args)]
struct ChunksArgs {
    /// Only chunks whose FIELD equals VALUE; FIELD is department, doc_id or source_path.
    /// Repeat for several conditions (all must hold).
    #[arg(long, value_name = "FIELD=VALUE")]
    filter: Vec<String>,

    /// Print each chunk's whole text, not its first 160 characters.
    #[arg(long)]
    full: bool,

    /// Print the chunks as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ModelArgs {
    /// Dense vectors: `auto` (when the model is installed), `on`, or `off` (keyword only).
    #[arg(long, value_name = "WHEN")]
    embeddings: Option<String>,

    /// Embedding model folder [default: $ADOPT_MODEL_DIR, else ~/.cache/adopt/models/...].
    #[arg(long, value_name = "DIR")]
    model_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// TOML settings: a pipeline file (its [kb] table is used) or a file of kb settings alone.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(flatten)]
    model: ModelArgs,

    /// Keep the index on a Qdrant server or cluster (gRPC URL, e.g. http://qdrant:6334)
    /// instead of embedded in the run directory. Later queries use the same place.
    #[arg(long, value_name = "URL")]
    qdrant_url: Option<String>,

    /// Collection on the Qdrant server [default: adopt].
    #[arg(long, value_name = "NAME", requires = "qdrant_url")]
    collection: Option<String>,

    /// Print what the build did as JSON.
    #[arg(long)]
    json: bool,
}

/// How hybrid search fuses, when not as the build recorded.
#[derive(Debug, clap::Args)]
struct FusionArgs {
    /// Hybrid fusion: `confidence` (DBSF with each list weighted by how far its best hit stands
    /// out), `dbsf` (each list's scores scaled by its own spread, then summed) or `rrf`
    /// (reciprocal rank) [default: what the build was configured with, else confidence].
    #[arg(long, value_name = "METHOD")]
    fusion: Option<String>,
}

#[derive(Debug, clap::Args)]
struct QueryArgs {
    /// What to search for.
    #[arg(value_name = "TEXT")]
    text: String,

    /// Chunks to return.
    #[arg(long, default_value_t = 5, value_name = "N")]
    top_k: usize,

    /// `hybrid` (dense + BM25 fused, see --fusion), `dense` or `sparse` [default: hybrid, or
    /// sparse for a keyword-only knowledge base].
    #[arg(long, value_name = "MODE")]
    mode: Option<String>,

    #[command(flatten)]
    fusion: FusionArgs,

    /// Only chunks whose FIELD equals VALUE; FIELD is department, doc_id or source_path.
    /// Repeat for several conditions (all must hold).
    #[arg(long, value_name = "FIELD=VALUE")]
    filter: Vec<String>,

    #[command(flatten)]
    model: ModelArgs,

    /// Print the hits as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// Questions, one JSON object per line: {"question", "answers": [...], "doc"?, "relevant"?}
    /// [default: <run>/label/qa.jsonl].
    #[arg(long, value_name = "FILE")]
    queries: Option<PathBuf>,

    /// Modes to score (repeatable) [default: every mode the index supports].
    #[arg(long, value_name = "MODE")]
    mode: Vec<String>,

    #[command(flatten)]
    fusion: FusionArgs,

    #[command(flatten)]
    model: ModelArgs,

    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cli: &Cli, args: &KbArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        KbCommand::Build(a) => build(cli, a),
        KbCommand::Query(a) => query(cli, a),
        KbCommand::Eval(a) => eval(cli, a),
        KbCommand::Status(a) => status(cli, a),
        KbCommand::Chunks(a) => chunks(cli, a),
    }
}

/// Reads kb settings from a pipeline file's `[kb]` table, or from a file of kb settings alone.
fn load_config(path: &Path) -> anyhow::Result<KbStageSettings> {
    let mut settings: KbStageSettings = super::load_section(path, "kb")?;
    settings.resolve_paths(path.parent().unwrap_or(Path::new(".")));
    let errors = settings.validate();
    if !errors.is_empty() {
        anyhow::bail!("{}: [kb] {}", path.display(), errors.join("; "));
    }
    Ok(settings)
}

fn parse_embeddings(s: &str) -> anyhow::Result<Embeddings> {
    match s {
        "auto" => Ok(Embeddings::Auto),
        "on" => Ok(Embeddings::On),
        "off" => Ok(Embeddings::Off),
        _ => anyhow::bail!("--embeddings {s:?}: expected auto, on or off"),
    }
}

fn parse_mode(s: &str) -> anyhow::Result<SearchMode> {
    SearchMode::parse(s).with_context(|| format!("--mode {s:?}: expected hybrid, dense or sparse"))
}

/// The embedding model the settings ask for: `None` when embeddings are off, or `auto` and the
/// model is not installed (with a warning saying how to install it).
pub fn embedder_for(
    embeddings: Embeddings,
    model_dir: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<Option<Arc<dyn Embedder>>> {
    if embeddings == Embeddings::Off {
        return Ok(None);
    }
    let dir = model_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(adopt_embed::default_model_dir);
    match adopt_embed::FastEmbedder::load(&dir, None) {
        Ok(e) => Ok(Some(Arc::new(e))),
        Err(err) if embeddings == Embeddings::Auto => {
            if !quiet {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: kb: no embedding model ({err}); building a keyword-only (BM25) \
                     knowledge base. Install the model with `adopt models fetch` for dense \
                     and hybrid search."
                );
            }
            Ok(None)
        }
        Err(err) => Err(anyhow::Error::new(err).context("kb: embeddings = \"on\" needs the model")),
    }
}

/// Settings from `--config` (or defaults) with the command line's model options on top.
fn settings_with(config: Option<&Path>, model: &ModelArgs) -> anyhow::Result<KbStageSettings> {
    let mut settings = match config {
        Some(p) => load_config(p)?,
        None => KbStageSettings::default(),
    };
    if let Some(e) = &model.embeddings {
        settings.embeddings = parse_embeddings(e)?;
    }
    if let Some(d) = &model.model_dir {
        settings.model_dir = Some(d.clone());
    }
    Ok(settings)
}

fn build(cli: &Cli, args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let mut settings = settings_with(args.config.as_deref(), &args.model)?;
    if let Some(url) = &args.qdrant_url {
        settings.qdrant_url = Some(url.clone());
    }
    if let Some(c) = &args.collection {
        settings.server.collection = c.clone();
    }
    let errors = settings.validate();
    if !errors.is_empty() {
        anyhow::bail!("kb settings: {}", errors.join("; "));
    }
    let run_dir = cli.run_dir(None);
    let embedder = embedder_for(
        settings.embeddings,
        settings.model_dir.as_deref(),
        cli.quiet,
    )?;
    let reporter = TerminalReporter::new(cli.quiet);
    let report = adopt_pipeline::kb_run_dir(&run_dir, &settings, embedder.as_deref(), &reporter)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{}", adopt_pipeline::stages::kb::kb_line(&report))?;
    if let Some(r) = &report.build.full_rebuild {
        writeln!(out, "  full rebuild: {r}")?;
    }
    writeln!(out, "index: {}", report.index)?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the run's knowledge base where its last build put it (run directory or server); an
/// error when there is none.
fn open_existing(run_dir: &RunDir) -> anyhow::Result<KnowledgeBase> {
    let paths = KbPaths::in_run(run_dir);
    if !paths.manifest().is_file() {
        anyhow::bail!(
            "{}: no knowledge base here; run `adopt kb build` first",
            paths.root().display()
        );
    }
    Ok(adopt_pipeline::Backend::recorded(run_dir)?
        .open(run_dir, adopt_kb::KbSettings::default())?)
}

/// Opens the run's knowledge base with the embedder it was built with, if that is available,
/// searching as the build recorded unless `fusion` says otherwise: how `adopt kb query`,
/// `adopt kb eval` and `adopt serve` search.
pub(crate) fn open_for_search(
    run_dir: &RunDir,
    model: &ModelArgs,
    fusion: Option<&str>,
    quiet: bool,
) -> anyhow::Result<(KnowledgeBase, Option<Arc<dyn Embedder>>)> {
    let mut kb = open_existing(run_dir)?;
    kb.use_recorded_search();
    if let Some(f) = fusion {
        let fusion = Fusion::parse(f)
            .with_context(|| format!("--fusion {f:?}: expected {}", Fusion::names()))?;
        kb.set_search(adopt_kb::SearchSettings {
            fusion,
            ..kb.settings().search()
        });
    }
    let built_with = kb.manifest().and_then(|m| m.embed_model.clone());
    let embedder = match (&built_with, &model.embeddings) {
        (None, _) => None,
        (Some(_), Some(e)) if parse_embeddings(e)? == Embeddings::Off => None,
        (Some(_), _) => embedder_for(Embeddings::On, model.model_dir.as_deref(), quiet)?,
    };
    if let (Some(built), Some(e)) = (&built_with, &embedder) {
        if built != e.model_id() {
            anyhow::bail!(
                "the knowledge base was built with {built}, but the model found is {}; point \
                 --model-dir at the right one or rebuild",
                e.model_id()
            );
        }
    }
    Ok((kb, embedder))
}

fn parse_filter(conditions: &[String]) -> anyhow::Result<ChunkFilter> {
    let mut f = ChunkFilter::default();
    for c in conditions {
        let (k, v) = c
            .split_once('=')
            .with_context(|| format!("--filter {c:?}: expected FIELD=VALUE"))?;
        let slot = match k.trim() {
            "department" => &mut f.department,
            "doc_id" | "doc-id" => &mut f.doc_id,
            "source_path" | "source-path" => &mut f.source_path,
            other => anyhow::bail!(
                "--filter {c:?}: unknown field {other:?}; expected department, doc_id or source_path"
            ),
        };
        *slot = Some(v.trim().to_string());
    }
    Ok(f)
}

/// The mode of a search that names none: hybrid, or sparse for a keyword-only knowledge base.
pub(crate) fn default_mode(has_embedder: bool) -> SearchMode {
    adopt_pipeline::stages::kb::effective_mode(SearchMode::Hybrid, has_embedder)
}

fn query(cli: &Cli, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let (kb, embedder) = open_for_search(
        &cli.run_dir(None),
        &args.model,
        args.fusion.fusion.as_deref(),
        cli.quiet,
    )?;
    let mode = match &args.mode {
        Some(m) => parse_mode(m)?,
        None => default_mode(embedder.is_some()),
    };
    if mode.needs_dense() && embedder.is_none() {
        anyhow::bail!(
            "{mode} search needs dense vectors, but this knowledge base was built without an \
             embedding model; use --mode sparse or rebuild with the model installed"
        );
    }
    let q = Query {
        text: args.text.clone(),
        top_k: args.top_k,
        mode,
        filter: parse_filter(&args.filter)?,
    };
    let hits = kb.query(&q, embedder.as_deref())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &hits)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        writeln!(out, "no matches")?;
    }
    for (i, h) in hits.iter().enumerate() {
        let mut place = h.source_path.clone();
        if !h.unit.is_empty() && h.unit != "text" {
            place.push_str(&format!(" ({})", h.unit));
        }
        if let Some(d) = &h.department {
            place.push_str(&format!(" [{d}]"));
        }
        writeln!(out, "{:>2}. {:.4}  {place}", i + 1, h.score)?;
        if !h.headings.is_empty() {
            writeln!(out, "    § {}", h.headings.join(" > "))?;
        }
        let snippet: String = h.text.chars().take(240).collect();
        let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
        let more = if h.text.chars().count() > 240 {
            " …"
        } else {
            ""
        };
        writeln!(out, "    {snippet}{more}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn eval(cli: &Cli, args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let run_dir = cli.run_dir(None);
    let path = args
        .queries
        .clone()
        .unwrap_or_else(|| adopt_pipeline::stages::kb::default_eval_queries(&run_dir));
    if !path.is_file() {
        anyhow::bail!(
            "{}: no questions; pass --queries FILE.jsonl or run `adopt label` with QA generation",
            path.display()
        );
    }
    let queries = adopt_kb::read_eval_queries(&path, &TerminalReporter::new(cli.quiet))?;
    let (kb, embedder) = open_for_search(
        &run_dir,
        &args.model,
        args.fusion.fusion.as_deref(),
        cli.quiet,
    )?;
    let modes: Vec<SearchMode> = if args.mode.is_empty() {
        if embedder.is_some() {
            SearchMode::ALL.to_vec()
        } else {
            vec![SearchMode::Sparse]
        }
    } else {
        args.mode
            .iter()
            .map(|m| parse_mode(m))
            .collect::<anyhow::Result<_>>()?
    };
    let mut reports = Vec::new();
    for mode in modes {
        if mode.needs_dense() && embedder.is_none() {
            anyhow::bail!(
                "{mode} search needs the embedding model the knowledge base was built with"
            );
        }
        reports.push(adopt_kb::evaluate(
            &kb,
            &queries,
            mode,
            embedder.as_deref(),
        )?);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &reports)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{} questions from {} (hybrid fusion: {})",
        queries.len(),
        path.display(),
        kb.settings().fusion
    )?;
    writeln!(
        out,
        "{:<7} {:>6} {:>6} {:>6} {:>7} {:>6} {:>8} {:>9} {:>9}",
        "mode", "hit@1", "hit@3", "hit@5", "hit@10", "MRR", "nDCG@10", "p50 ms", "p99 ms"
    )?;
    for r in &reports {
        writeln!(
            out,
            "{:<7} {:>6.3} {:>6.3} {:>6.3} {:>7.3} {:>6.3} {:>8} {:>9.1} {:>9.1}",
            r.mode.as_str(),
            r.hit_at_1,
            r.hit_at_3,
            r.hit_at_5,
            r.hit_at_10,
            r.mrr,
            r.ndcg_at_10.map_or("-".to_string(), |n| format!("{n:.3}")),
            r.latency_p50_ms,
            r.latency_p99_ms
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The manifest's view and the index's own count, per document: a mismatch means an
/// interrupted build the next `adopt kb build` will repair.
#[derive(Debug, serde::Serialize)]
struct Status {
    index: String,
    model: Option<String>,
    documents: usize,
    chunks_in_manifest: usize,
    points_in_index: usize,
    /// Documents whose chunk ids in the index differ from the manifest's.
    mismatched_documents: Vec<String>,
}

fn status(cli: &Cli, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let run_dir = cli.run_dir(None);
    let paths = KbPaths::in_run(&run_dir);
    let kb = adopt_pipeline::Backend::recorded(&run_dir)?
        .open(&run_dir, adopt_kb::KbSettings::default())?;
    let Some(m) = kb.manifest() else {
        anyhow::bail!(
            "{}: no knowledge base here; run `adopt kb build` first",
            paths.root().display()
        );
    };
    let mut mismatched = Vec::new();
    for (id, entry) in &m.docs {
        let mut want = entry.chunk_ids.clone();
        want.sort();
        if kb.index().chunk_ids(id)? != want {
            mismatched.push(entry.source_path.clone());
        }
    }
    let s = Status {
        index: kb.index().location(),
        model: m.embed_model.clone(),
        documents: m.docs.len(),
        chunks_in_manifest: m.docs.values().map(|d| d.chunk_ids.len()).sum(),
        points_in_index: kb.index().count(&ChunkFilter::default())?,
        mismatched_documents: mismatched,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &s)?;
        writeln!(out)?;
    } else {
        writeln!(out, "index: {}", s.index)?;
        writeln!(
            out,
            "model: {}",
            s.model.as_deref().unwrap_or("none (keyword only)")
        )?;
        writeln!(
            out,
            "{} documents, {} chunks in the manifest, {} points in the index",
            s.documents, s.chunks_in_manifest, s.points_in_index
        )?;
        for d in &s.mismatched_documents {
            writeln!(out, "  out of step: {d} (run `adopt kb build` to repair)")?;
        }
    }
    let consistent = s.mismatched_documents.is_empty() && s.chunks_in_manifest == s.points_in_index;
    Ok(if consistent {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One chunk as `adopt kb chunks --json` prints it.
#[derive(Debug, serde::Serialize)]
struct ChunkRow<'a> {
    chunk_id: &'a str,
    doc_id: &'a str,
    source_path: &'a str,
    department: Option<&'a str>,
    unit: &'a str,
    headings: &'a [String],
    char_start: u64,
    char_end: u64,
    text: &'a str,
}

fn chunks(cli: &Cli, args: &ChunksArgs) -> anyhow::Result<ExitCode> {
    let kb = open_existing(&cli.run_dir(None))?;
    let chunks = kb.chunks(&parse_filter(&args.filter)?)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<ChunkRow<'_>> = chunks
            .iter()
            .map(|h| ChunkRow {
                chunk_id: &h.chunk_id,
                doc_id: &h.doc_id,
                source_path: &h.source_path,
                department: h.department.as_deref(),
                unit: &h.unit,
                headings: &h.headings,
                char_start: h.char_start,
                char_end: h.char_end,
                text: &h.text,
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let docs: std::collections::BTreeSet<&str> = chunks.iter().map(|h| h.doc_id.as_str()).collect();
    for h in &chunks {
        let mut place = h.source_path.clone();
        if !h.unit.is_empty() && h.unit != "text" {
            place.push_str(&format!(" ({})", h.unit));
        }
        if let Some(d) = &h.department {
            place.push_str(&format!(" [{d}]"));
        }
        writeln!(
            out,
            "{place}  chars {}..{}  {}",
            h.char_start, h.char_end, h.chunk_id
        )?;
        if !h.headings.is_empty() {
            writeln!(out, "    § {}", h.headings.join(" > "))?;
        }
        let text = if args.full {
            h.text.clone()
        } else {
            let mut t: String = h.text.chars().take(160).collect();
            t = t.split_whitespace().collect::<Vec<_>>().join(" ");
            if h.text.chars().count() > 160 {
                t.push_str(" …");
            }
            t
        };
        for line in text.lines() {
            writeln!(out, "    {line}")?;
        }
    }
    writeln!(
        out,
        "{} chunks from {} documents in {}",
        chunks.len(),
        docs.len(),
        kb.index().location()
    )?;
    Ok(ExitCode::SUCCESS)
}
