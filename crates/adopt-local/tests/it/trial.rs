//! A real trial end to end: `run_trial` with the local engine named in the trial file by
//! `base-url = "local:..."` and loaded by `local_clients`.

use std::time::Instant;

use adopt_core::NoopReporter;
use adopt_local::local_clients;
use adopt_trial::run::files;
use adopt_trial::{run_trial, TrialConfig, TrialOptions};

use crate::say;

#[test]
fn real_trial_with_the_local_engine() {
    let path = match crate::smollm2_path() {
        Ok(path) => path,
        Err(why) => {
            say(&format!("skipped: local engine: {why}"));
            return;
        }
    };
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
    // Two names for one file: it is loaded once and shared.
    let toml = format!(
        r#"
[trial]
name = "smollm2 in-process"
bootstrap-resamples = 200
monthly-volume = 10000

[[trial.models]]
name = "smollm2-local-stream"
provider = "llama-cpp"
base-url = "local:{path}?context-length=2048&threads=1"
model = "smollm2-135m"
size = "135M"
concurrency = 1
price = {{ per-hour = 2.0 }}
params = {{ stream = true, max-tokens = 12, temperature = 0.0 }}

[[trial.models]]
name = "smollm2-local-whole"
provider = "llama-cpp"
base-url = "local:{path}?context-length=2048&threads=1"
model = "smollm2-135m"
size = "135M"
params = {{ stream = false, max-tokens = 16, temperature = 0.0 }}

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
        path = path.display()
    );
    std::fs::write(dir.path().join("trial.toml"), toml).unwrap();
    let config = TrialConfig::from_path(&dir.path().join("trial.toml")).unwrap();
    let out = dir.path().join("run");

    // Without the engine the trial refuses the local model clearly instead of calling HTTP.
    let err = run_trial(&config, &out, &NoopReporter, &TrialOptions::default()).unwrap_err();
    assert!(err.to_string().contains("local_clients"), "{err}");

    let t = Instant::now();
    let clients = local_clients(&config).unwrap();
    let load_time = t.elapsed();
    assert_eq!(clients.len(), 2);
    let opts = TrialOptions {
        clients,
        ..TrialOptions::default()
    };
    let t = Instant::now();
    let report = run_trial(&config, &out, &NoopReporter, &opts).unwrap();
    let trial_time = t.elapsed();

    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.run.requests, 8);
    assert_eq!(report.metrics.len(), 4);
    for m in &report.metrics {
        assert_eq!((m.answered, m.errors), (m.items, 0), "{m:?}");
        assert!(m.output_tokens > 0 && m.input_tokens > 0);
        assert_eq!(m.usage_estimated, 0, "the engine counts its tokens: {m:?}");
        assert!(m.latency_p50_ms.is_some() && m.tokens_per_s_p50.is_some());
        assert!((0.0..=1.0).contains(&m.quality));
    }
    let streamed = report.metrics_for("smollm2-local-stream", "qa").unwrap();
    assert!(streamed.ttft_p50_ms.is_some());
    assert!(streamed.cost_per_1k.unwrap() > 0.0);
    assert!(report
        .metrics_for("smollm2-local-whole", "qa")
        .unwrap()
        .ttft_p50_ms
        .is_none());
    assert_eq!(report.recommendations.len(), 2);
    for f in [files::REPORT, files::ITEMS_CSV, files::CHART] {
        assert!(out.join(f).is_file());
    }
    // Again: the cache answers.
    let again = run_trial(&config, &out, &NoopReporter, &opts).unwrap();
    assert_eq!(again.run.requests, 0);

    say(&format!(
        "local-engine trial: loaded in {:.1} s, 8 requests in {:.1} s; qa contains: stream {:.2} / whole {:.2}; \
         TTFT p50 {:.0} ms, {:.1} tokens/s p50",
        load_time.as_secs_f64(),
        trial_time.as_secs_f64(),
        streamed.quality,
        report.metrics_for("smollm2-local-whole", "qa").unwrap().quality,
        streamed.ttft_p50_ms.unwrap_or(f64::NAN),
        streamed.tokens_per_s_p50.unwrap_or(f64::NAN),
    ));
    for r in &report.recommendations {
        say(&format!("  {}", r.sentence));
    }
}
