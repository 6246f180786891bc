//! `adopt serve`: the run's knowledge base as an HTTP API (search, OpenAI-compatible chat) or
//! an MCP server on stdio, behind department-scoped keys.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use adopt_serve::{Access, AuditLog, ChatModels, KeyScope, Keys, Limits, ServeState};
use anyhow::Context;

use super::kb::{default_mode, open_for_search, ModelArgs};
use crate::Cli;

/// Environment variable holding API keys when `--keys` is not given.
const KEYS_ENV: &str = "ADOPT_SERVE_KEYS";
/// Environment variable holding the one key an MCP server serves when `--key` is not given.
const KEY_ENV: &str = "ADOPT_SERVE_KEY";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8484", value_name = "ADDR:PORT")]
    listen: String,

    /// API keys, `KEY=dept1,dept2` one a line (or `;`-separated) [default: $ADOPT_SERVE_KEYS].
    /// Each key reads only its departments' chunks.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,

    /// Serve without keys, every department to anyone: only on a loopback address.
    #[arg(long)]
    no_auth: bool,

    /// Audit log, one JSON line per search [default: <run>/serve/audit.jsonl].
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,

    /// Write no audit log.
    #[arg(long, conflicts_with = "audit_log")]
    no_audit: bool,

    /// Searches running at once; more wait up to 5 s, then get 503.
    #[arg(long, default_value_t = 8, value_name = "N")]
    max_concurrent: usize,

    /// Trial file (or pipeline file with a [trial] table) whose models answer
    /// POST /v1/chat/completions: OpenAI-compatible endpoints, or `base-url = "local:ID"` models
    /// run in-process. Without it the chat route answers 503.
    #[arg(long, value_name = "FILE")]
    trial: Option<PathBuf>,

    /// The trial's model that answers chat requests naming none (a request's `model` picks
    /// another of the trial's models by name) [default: the trial's first model that is not
    /// judge-only].
    #[arg(long, value_name = "NAME", requires = "trial")]
    model: Option<String>,

    /// Answers generated at once; more wait up to 5 s, then get 503.
    #[arg(long, default_value_t = 2, value_name = "N")]
    max_concurrent_chats: usize,

    /// Most tokens of a chat answer: the default max_tokens and its ceiling.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_answer_tokens: u32,

    /// Serve MCP (JSON-RPC, one message a line) on stdin/stdout instead of HTTP, with a
    /// `search` tool scoped to the key of --key / $ADOPT_SERVE_KEY; logs go to stderr.
    #[arg(long, conflicts_with_all = ["listen", "trial"])]
    mcp: bool,

    /// With --mcp: the API key (one of --keys / $ADOPT_SERVE_KEYS) whose departments the MCP
    /// server searches [default: $ADOPT_SERVE_KEY; prefer it, a command line is visible to
    /// other users].
    #[arg(long, value_name = "KEY", requires = "mcp")]
    key: Option<String>,

    #[command(flatten)]
    embedding: ModelArgs,
}

/// The keys from `--keys FILE`, else `$ADOPT_SERVE_KEYS`; `None` when neither is set.
fn load_keys(args: &ServeArgs) -> anyhow::Result<Option<Keys>> {
    if let Some(path) = &args.keys {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the keys file {}", path.display()))?;
        return Ok(Some(Keys::parse(&text, &path.display().to_string())?));
    }
    match std::env::var(KEYS_ENV) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(Keys::parse(&text, KEYS_ENV)?)),
        _ => Ok(None),
    }
}

/// The audit log the arguments ask for.
fn audit_log(args: &ServeArgs, run_dir: &adopt_core::RunDir) -> anyhow::Result<Option<AuditLog>> {
    if args.no_audit {
        return Ok(None);
    }
    let path = args
        .audit_log
        .clone()
        .unwrap_or_else(|| run_dir.root().join("serve").join("audit.jsonl"));
    Ok(Some(AuditLog::open(&path)?))
}

fn limits(args: &ServeArgs) -> Limits {
    Limits {
        max_concurrent: args.max_concurrent,
        max_concurrent_chats: args.max_concurrent_chats,
        max_answer_tokens: args.max_answer_tokens.max(1),
        ..Limits::default()
    }
}

/// `--mcp`: one key's scope over stdio. Nothing but protocol messages goes to stdout.
fn run_mcp(cli: &Cli, args: &ServeArgs, keys: Option<Keys>) -> anyhow::Result<ExitCode> {
    let key = args
        .key
        .clone()
        .or_else(|| std::env::var(KEY_ENV).ok().filter(|k| !k.trim().is_empty()));
    let (access, scope): (Access, Option<KeyScope>) = match (keys, args.no_auth) {
        (Some(k), true) if !k.is_empty() => {
            anyhow::bail!("--no-auth with API keys configured: drop one or the other")
        }
        (Some(k), false) if !k.is_empty() => {
            let Some(key) = key else {
                anyhow::bail!(
                    "--mcp serves one key: set {KEY_ENV}=KEY (or pass --key KEY), one of the                      keys of --keys / {KEYS_ENV}"
                );
            };
            let Some(scope) = k.scope_of(key.trim()).cloned() else {
                anyhow::bail!(
                    "the MCP key (id {}) is not one of the configured keys",
                    adopt_serve::key_id(key.trim())
                );
            };
            (Access::Keys(k), Some(scope))
        }
        (_, true) => (Access::Open, None),
        (_, false) => anyhow::bail!(
            "no API keys: pass --keys FILE or set {KEYS_ENV}, and {KEY_ENV} to the key this              MCP server searches as, or --no-auth to search every department"
        ),
    };
    let run_dir = cli.run_dir(None);
    let (kb, embedder) = open_for_search(&run_dir, &args.embedding, None, true)?;
    let audit = audit_log(args, &run_dir)?;
    if !cli.quiet {
        writeln!(
            std::io::stderr(),
            "adopt serve: MCP on stdio ({}, {} search; audit log {})",
            scope
                .as_ref()
                .map_or("no key: every department".to_string(), |s| format!(
                    "key {}: {}",
                    s.key_id,
                    s.departments.join(", ")
                )),
            default_mode(embedder.is_some()),
            audit
                .as_ref()
                .map_or("off".to_string(), |a| a.path().display().to_string()),
        )?;
    }
    let state = ServeState {
        default_mode: default_mode(embedder.is_some()),
        kb,
        embedder,
        access,
        audit,
        limits: limits(args),
        chat: ChatModels::none(),
    };
    adopt_serve::serve_stdio(
        &state,
        scope.as_ref(),
        std::io::stdin().lock(),
        std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(cli: &Cli, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let keys = load_keys(args)?;
    if args.mcp {
        return run_mcp(cli, args, keys);
    }
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let access = match (keys, args.no_auth) {
        (Some(k), false) if !k.is_empty() => Access::Keys(k),
        (Some(k), true) if !k.is_empty() => {
            anyhow::bail!("--no-auth with API keys configured: drop one or the other")
        }
        (_, true) if addr.ip().is_loopback() => Access::Open,
        (_, true) => anyhow::bail!(
            "--no-auth serves every department to anyone, so only on a loopback address \
             (127.0.0.1 or ::1), not {addr}; configure keys to listen there"
        ),
        (_, false) => anyhow::bail!(
            "no API keys: pass --keys FILE or set {KEYS_ENV}=\"KEY=dept1,dept2;KEY2=dept3\", or \
             --no-auth to serve every department without keys on a loopback address"
        ),
    };
    let run_dir = cli.run_dir(None);
    let (kb, embedder) = open_for_search(&run_dir, &args.embedding, None, cli.quiet)?;
    let chat = match &args.trial {
        None => ChatModels::none(),
        Some(path) => {
            let trial = adopt_trial::TrialConfig::from_path(path)?;
            ChatModels::from_trial(trial, args.model.as_deref())
                .with_context(|| format!("--trial {}", path.display()))?
        }
    };
    let audit = audit_log(args, &run_dir)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "adopt serve: listening on http://{addr} ({}, {} search, chat {}; audit log {})",
        match &access {
            Access::Keys(k) => format!("{} API keys", k.len()),
            Access::Open => "no keys: every department".to_string(),
        },
        default_mode(embedder.is_some()),
        match chat.default_model() {
            None => "off".to_string(),
            Some(m) => format!("by {m} (of {} models)", chat.names().len()),
        },
        audit
            .as_ref()
            .map_or("off".to_string(), |a| a.path().display().to_string()),
    )?;
    out.flush()?;
    drop(out);
    let state = ServeState {
        default_mode: default_mode(embedder.is_some()),
        kb,
        embedder,
        access,
        audit,
        limits: limits(args),
        chat,
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    adopt_serve::serve(listener, state, workers)?;
    Ok(ExitCode::SUCCESS)
}
