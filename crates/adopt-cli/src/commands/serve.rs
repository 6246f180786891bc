//! `adopt serve`: the run's knowledge base as an HTTP search API, behind department-scoped keys.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use adopt_serve::{Access, AuditLog, Keys, Limits, ServeState};
use anyhow::Context;

use super::kb::{default_mode, open_for_search, ModelArgs};
use crate::Cli;

/// Environment variable holding API keys when `--keys` is not given.
const KEYS_ENV: &str = "ADOPT_SERVE_KEYS";

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

    #[command(flatten)]
    model: ModelArgs,
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

pub fn run(cli: &Cli, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let keys = load_keys(args)?;
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
    let (kb, embedder) = open_for_search(&run_dir, &args.model, None, cli.quiet)?;
    let audit = if args.no_audit {
        None
    } else {
        let path = args
            .audit_log
            .clone()
            .unwrap_or_else(|| run_dir.root().join("serve").join("audit.jsonl"));
        Some(AuditLog::open(&path)?)
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "adopt serve: listening on http://{addr} ({}, {} search; audit log {})",
        match &access {
            Access::Keys(k) => format!("{} API keys", k.len()),
            Access::Open => "no keys: every department".to_string(),
        },
        default_mode(embedder.is_some()),
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
        limits: Limits {
            max_concurrent: args.max_concurrent,
            ..Limits::default()
        },
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    adopt_serve::serve(listener, state, workers)?;
    Ok(ExitCode::SUCCESS)
}
