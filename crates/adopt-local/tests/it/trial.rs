//! A real trial end to end: `run_trial` with the local engine named in the trial file by
//! `base-url = "local:..."` and loaded by `local_clients`.

use std::time::Instant;

use adopt_core::NoopReporter;
use adopt_local::local_clients;
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
    let tasks = adopt_trial::testing::write_smoke_suite(dir.path());
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

{tasks}
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

    adopt_trial::testing::check_smoke_report(
        &report,
        "smollm2-local-stream",
        "smollm2-local-whole",
        &out,
    );
    let streamed = report.metrics_for("smollm2-local-stream", "qa").unwrap();
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
