//! Harness overhead: how many requests per second the trial harness drives against an endpoint
//! that answers at once (an in-process canned OpenAI-compatible server), so what is measured is
//! the harness itself: building prompts, HTTP, scoring, the fsynced result log and cache, the
//! report. Beside it, in the same run and against the same endpoint, promptfoo evaluating the
//! same questions with the same concurrency, when it can be installed from the npm registry.
//!
//!   cargo bench -p adopt-trial --bench harness_overhead
//!   ADOPT_BENCH_ITEMS=2000 ADOPT_BENCH_CONCURRENCY=8 ...      (defaults)
//!   PROMPTFOO_BIN=/path/to/promptfoo ...                       (skip the install)

#![allow(clippy::print_stdout)] // a benchmark's output is its report

#[path = "../tests/it/fake_server.rs"]
#[allow(dead_code)]
mod fake_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use adopt_core::NoopReporter;
use adopt_trial::{run_trial, TrialConfig, TrialOptions};
use fake_server::{FakeServer, Reply};

/// Pinned by `benches/install_promptfoo.sh` (0.121+ needs Node >= 22).
const PROMPTFOO_VERSION: &str = "0.120.0";
const PROMPT: &str = "Answer the question using only the context below. Reply with the answer only, as briefly as possible, in the language of the question.\n\nContext:\n{context}\n\nQuestion: {question}";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn questions(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("Which city is office number {i} in?"),
                format!("Office number {i} of the company is in Paris, near the river."),
            )
        })
        .collect()
}

/// Our harness: a full trial, cold (no cache, no earlier results), wall-clock from the call.
fn run_ours(url: &str, n: usize, concurrency: usize, stream: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut qa = String::new();
    for (q, c) in questions(n) {
        qa.push_str(
            &serde_json::json!({"question": q, "answers": ["Paris"], "context": c}).to_string(),
        );
        qa.push('\n');
    }
    std::fs::write(dir.path().join("qa.jsonl"), qa).unwrap();
    let toml = format!(
        "[trial]\nbootstrap-resamples = 1000\n[[trial.models]]\nname = \"canned\"\nprovider = \"vllm\"\n\
         base-url = \"{url}\"\nmodel = \"m-1\"\nconcurrency = {concurrency}\n\
         params = {{ stream = {stream}, max-tokens = 16 }}\n\
         [[trial.tasks]]\nname = \"qa\"\nkind = \"rag-qa\"\npath = \"qa.jsonl\"\nmetric = \"contains\"\n"
    );
    let config = TrialConfig::from_toml_str(&toml, dir.path()).unwrap();
    let t = Instant::now();
    let report = run_trial(
        &config,
        &dir.path().join("run"),
        &NoopReporter,
        &TrialOptions::default(),
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.run.requests, n);
    assert_eq!(report.metrics[0].quality, 1.0);
    secs
}

fn promptfoo_bin() -> Result<PathBuf, String> {
    if let Ok(bin) = std::env::var("PROMPTFOO_BIN") {
        return Ok(PathBuf::from(bin));
    }
    // The script installs once (a few minutes: npm, then compiling better-sqlite3) and then
    // only prints the path.
    let script = std::env::current_dir()
        .expect("cargo runs tests and benches in the package folder")
        .join("benches/install_promptfoo.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", script.display(), out.status));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// promptfoo on the same questions; returns the wall time of one `promptfoo eval`.
fn run_promptfoo(bin: &Path, url: &str, n: usize, concurrency: usize) -> Result<f64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut csv =
        csv::Writer::from_path(dir.path().join("tests.csv")).map_err(|e| e.to_string())?;
    csv.write_record(["question", "context", "__expected"])
        .map_err(|e| e.to_string())?;
    for (q, c) in questions(n) {
        csv.write_record([q.as_str(), c.as_str(), "contains:Paris"])
            .map_err(|e| e.to_string())?;
    }
    csv.flush().map_err(|e| e.to_string())?;
    let prompt = PROMPT
        .replace("{context}", "{{context}}")
        .replace("{question}", "{{question}}");
    let config = format!(
        "description: harness overhead\nprompts:\n  - {prompt}\nproviders:\n  - id: openai:chat:m-1\n    config:\n      apiBaseUrl: {url}\n      apiKey: sk-local\n      temperature: 0\n      max_tokens: 16\ntests: file://tests.csv\n",
        prompt = serde_json::to_string(&prompt).unwrap(),
    );
    std::fs::write(dir.path().join("promptfooconfig.yaml"), config).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let out = Command::new(bin)
        .args([
            "eval",
            "-c",
            "promptfooconfig.yaml",
            "--no-cache",
            "--no-table",
            "--no-progress-bar",
        ])
        .args([
            "--max-concurrency",
            &concurrency.to_string(),
            "-o",
            "out.json",
        ])
        .current_dir(dir.path())
        .env("PROMPTFOO_DISABLE_TELEMETRY", "1")
        .env("PROMPTFOO_DISABLE_UPDATE", "1")
        .env("PROMPTFOO_CONFIG_DIR", dir.path().join(".promptfoo"))
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot run promptfoo: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    // promptfoo exits 100 when assertions fail; anything else non-zero is a crash.
    if !out.status.success() && out.status.code() != Some(100) {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "promptfoo eval failed ({}): {}",
            out.status,
            err.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
        ));
    }
    Ok(secs)
}

fn main() {
    let n = env_usize("ADOPT_BENCH_ITEMS", 2000);
    let concurrency = env_usize("ADOPT_BENCH_CONCURRENCY", 8);
    let server = FakeServer::start(|req, _| {
        if req.body.contains("\"stream\":true") {
            Reply::sse(&["Paris"], Some((40, 1)), true)
        } else {
            Reply::completion("Paris", Some((40, 1)))
        }
    });
    println!(
        "harness overhead: {n} QA items, concurrency {concurrency}, canned endpoint {}",
        server.url
    );

    let warm = run_ours(&server.url, 50.min(n), concurrency, false);
    let _ = warm;
    let ours = run_ours(&server.url, n, concurrency, false);
    let ours_stream = run_ours(&server.url, n, concurrency, true);
    let ours_rps = n as f64 / ours;
    println!("  adopt-trial (non-streamed)   {:>8.0} req/s  ({n} in {ours:.2} s, cold: no cache, fsynced log)", ours_rps);
    println!(
        "  adopt-trial (streamed, SSE)  {:>8.0} req/s  ({n} in {ours_stream:.2} s)",
        n as f64 / ours_stream
    );

    let bin = match promptfoo_bin() {
        Ok(b) => b,
        Err(why) => {
            println!("  promptfoo: not measured: {why}");
            return;
        }
    };
    let before = server.count();
    let small = 20.min(n);
    let pf_small = run_promptfoo(&bin, &server.url, small, concurrency);
    let pf = run_promptfoo(&bin, &server.url, n, concurrency);
    match (pf_small, pf) {
        (Ok(t_small), Ok(t)) => {
            let sent = server.count() - before;
            let pf_rps = n as f64 / t;
            // Node start-up and config loading are a fixed cost: the steady rate leaves them out.
            let steady = (n - small) as f64 / (t - t_small).max(1e-9);
            println!(
                "  promptfoo {PROMPTFOO_VERSION}             {:>8.0} req/s  ({n} in {t:.2} s; steady state without start-up {steady:.0} req/s; server saw {sent} requests)",
                pf_rps
            );
            println!(
                "  ratio adopt-trial / promptfoo: {:.1}x end to end, {:.1}x against promptfoo's steady state (goal >= 5x)",
                ours_rps / pf_rps,
                ours_rps / steady
            );
        }
        (Err(e), _) | (_, Err(e)) => println!("  promptfoo: not measured: {e}"),
    }
}
