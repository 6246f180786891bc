//! Whole trials against a fake fleet: three "models" of different sizes on one local server,
//! answering the enterprise's questions with different accuracy. Checks the figures, the
//! recommendation, the cache, resuming after a kill, the dry run and the outputs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use adopt_core::NoopReporter;
use adopt_trial::run::files;
use adopt_trial::{render_svg, run_trial, Metric, TrialConfig, TrialError, TrialOptions};
use serde_json::{json, Value};

use crate::fake_server::{FakeServer, Reply};

/// Questions, texts and their right answers, as the enterprise's files hold them.
struct Fixture {
    dir: tempfile::TempDir,
    /// Text found in the prompt -> the correct answer.
    answers: Vec<(String, String)>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut answers = Vec::new();
    let mut qa = String::new();
    for i in 0..20 {
        let (q, a, ctx) = if i % 2 == 0 {
            (
                format!("合同{i}的付款期限是多少天？"),
                format!("{}天", 30 + i),
                format!("合同{i}约定付款期限为{}天。", 30 + i),
            )
        } else {
            (
                format!("Who signed contract {i}?"),
                format!("Acme Branch {i}"),
                format!("Contract {i} was signed by Acme Branch {i}."),
            )
        };
        qa.push_str(
            &json!({"id": format!("q{i}"), "question": q, "answers": [a], "context": ctx})
                .to_string(),
        );
        qa.push('\n');
        answers.push((q, a));
    }
    std::fs::write(dir.path().join("qa.jsonl"), qa).unwrap();
    let mut csv = String::from("text,label\n");
    for i in 0..12 {
        let (text, label) = match i % 3 {
            0 => (format!("发票{i}金额有误，请尽快处理"), "投诉"),
            1 => (
                format!("Ticket {i}: how do I reset my password"),
                "question",
            ),
            _ => (format!("Ticket {i}: thanks for the quick fix"), "praise"),
        };
        csv.push_str(&format!("\"{text}\",{label}\n"));
        answers.push((text, label.to_string()));
    }
    std::fs::write(dir.path().join("tickets.csv"), csv).unwrap();
    let mut ex = String::new();
    for i in 0..10 {
        let text = format!(
            "Contract C-{i}: Party A is Globex {i}; amount {}00 CNY.",
            i + 1
        );
        let fields = json!({"party_a": format!("Globex {i}"), "amount": (i + 1) * 100});
        ex.push_str(&json!({"text": text, "fields": fields}).to_string());
        ex.push('\n');
        answers.push((text, fields.to_string()));
    }
    std::fs::write(dir.path().join("contracts.jsonl"), ex).unwrap();
    Fixture { dir, answers }
}

/// The fleet: "large" is always right, "medium" misses one item in ten, "small" half.
fn fleet(answers: Vec<(String, String)>) -> FakeServer {
    FakeServer::start(move |req, _| {
        let body = req.json();
        let model = body["model"].as_str().unwrap_or("").to_string();
        let prompt = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string();
        if model == "judge-model" {
            // Groundedness: 1 when the answer is found in the context, else 0.
            if let Some(rest) = prompt.strip_prefix("Context:\n") {
                let (context, rest) = rest.split_once("\n\nAnswer:\n").unwrap_or((rest, ""));
                let answer = rest.split("\n\nIs every claim").next().unwrap_or("");
                let score = u8::from(!answer.is_empty() && context.contains(answer));
                return Reply::completion(&format!("Checked.\nSCORE: {score}"), Some((200, 6)));
            }
            return Reply::completion("Looks right.\nSCORE: 4", Some((200, 6)));
        }
        let (idx, right) = answers
            .iter()
            .enumerate()
            .find(|(_, (k, _))| prompt.contains(k.as_str()))
            .map(|(i, (_, a))| (i, a.clone()))
            .unwrap_or((0, "?".into()));
        let correct = match model.as_str() {
            "large-72b" => true,
            "medium-7b" => idx % 10 != 3,
            _ => idx % 2 == 0,
        };
        let answer = if correct {
            right
        } else {
            "I am not sure.".to_string()
        };
        let out_tokens = (answer.len() / 3 + 1) as u64;
        let usage = Some(((prompt.len() / 3) as u64, out_tokens));
        if body["stream"] == true {
            Reply::sse(&[&answer], usage, true)
        } else {
            Reply::completion(&answer, usage)
        }
    })
}

fn trial_toml(url: &str, extra: &str) -> String {
    format!(
        r#"
# A pipeline file: other stages' tables are ignored by the trial.
[collect]
input = "docs/"

[trial]
name = "contracts"
currency = "CNY"
exchange-rates = {{ USD = 7.2 }}
monthly-volume = 100000
bootstrap-resamples = 200
quality-bar = {{ min-relative = 0.85 }}
{extra}

[[trial.models]]
name = "small"
provider = "vllm"
base-url = "{url}"
model = "small-1b"
size = "1B"
price-ref = "qwen-turbo"

[[trial.models]]
name = "medium"
provider = "vllm"
base-url = "{url}"
model = "medium-7b"
size = "7B"
price-ref = "deepseek-v2"
concurrency = 2

[[trial.models]]
name = "large"
provider = "openai-compatible"
base-url = "{url}"
model = "large-72b"
size = "72B"
price-ref = "gpt-4o"
params = {{ stream = false }}

[[trial.tasks]]
name = "contract-qa"
kind = "rag-qa"
path = "qa.jsonl"
metric = "contains"

[[trial.tasks]]
name = "ticket-routing"
kind = "classification"
path = "tickets.csv"
metric = "macro-f1"
monthly-volume = 500000

[[trial.tasks]]
name = "contract-extraction"
kind = "extraction"
path = "contracts.jsonl"
"#
    )
}

fn load(dir: &Path, text: &str) -> TrialConfig {
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    TrialConfig::from_path(&path).unwrap()
}

/// What must not change when results come from the log or the cache (timings round-trip
/// through JSON, so their last digit may).
fn summary(r: &adopt_trial::TrialReport) -> Vec<(String, String, f64, f64, f64, u64, u64)> {
    r.metrics
        .iter()
        .map(|m| {
            (
                m.model.clone(),
                m.task.clone(),
                m.quality,
                m.quality_low,
                m.quality_high,
                m.input_tokens,
                m.output_tokens,
            )
        })
        .collect()
}

fn run(config: &TrialConfig, out: &Path) -> adopt_trial::TrialReport {
    run_trial(config, out, &NoopReporter, &TrialOptions::default()).unwrap()
}

#[test]
fn sweep_measures_recommends_and_writes_outputs() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    let config = load(fx.dir.path(), &trial_toml(&server.url, ""));
    let out = fx.dir.path().join("run");
    let report = run(&config, &out);

    assert_eq!(report.run.requests, 3 * (20 + 12 + 10));
    assert_eq!(report.metrics.len(), 9);
    let m = |model: &str, task: &str| report.metrics_for(model, task).unwrap();
    assert_eq!(m("large", "contract-qa").quality, 1.0);
    assert_eq!(m("medium", "contract-qa").quality, 0.9);
    assert_eq!(m("small", "contract-qa").metric, Metric::Contains);
    let small = m("small", "contract-qa");
    assert!(
        small.quality_low < small.quality && small.quality < small.quality_high,
        "{small:?}"
    );
    assert_eq!(m("large", "contract-extraction").quality, 1.0);
    assert_eq!(
        m("large", "ticket-routing").all_metrics[&Metric::Accuracy],
        1.0
    );
    // Streamed answers have a time to first token; the non-streamed model has none.
    assert!(m("medium", "contract-qa").ttft_p50_ms.is_some());
    assert!(m("large", "contract-qa").ttft_p50_ms.is_none());
    assert!(
        m("large", "contract-qa").latency_p95_ms.unwrap()
            >= m("large", "contract-qa").latency_p50_ms.unwrap()
    );
    // GPT-4o at $5/$15 converted at 7.2 costs far more than DeepSeek-V2 at 1/2 yuan.
    let (c_large, c_medium) = (
        m("large", "contract-qa").cost_per_1k.unwrap(),
        m("medium", "contract-qa").cost_per_1k.unwrap(),
    );
    assert!(c_large > 10.0 * c_medium, "{c_large} vs {c_medium}");
    let monthly = m("medium", "ticket-routing").monthly_cost.unwrap();
    let per_1k = m("medium", "ticket-routing").cost_per_1k.unwrap();
    assert!((monthly - per_1k * 500.0).abs() < 1e-9);

    // QA: medium reaches 0.9 >= 0.85 x 1.0 and is smaller than large; small (0.5) does not.
    let qa = report.recommendation("contract-qa").unwrap();
    assert_eq!(qa.chosen.as_deref(), Some("medium"));
    assert_eq!(qa.best.as_deref(), Some("large"));
    assert!(
        qa.sentence
            .contains("medium (7B) reaches 0.90 of the quality of large (72B)"),
        "{}",
        qa.sentence
    );
    assert!(qa.sentence.contains("of the cost"), "{}", qa.sentence);
    assert!(
        qa.pareto_cost.contains(&"medium".to_string())
            && qa.pareto_cost.contains(&"large".to_string())
    );
    assert!(
        !qa.pareto_cost.contains(&"small".to_string())
            || m("small", "contract-qa").cost_per_1k < Some(c_medium)
    );

    for f in [
        files::REPORT,
        files::ITEMS_CSV,
        files::ITEMS_JSONL,
        files::CHART,
        files::RESULTS,
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(out.join(files::ITEMS_CSV)).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 42);
    let svg = std::fs::read_to_string(out.join(files::CHART)).unwrap();
    assert_eq!(svg, render_svg(&report));
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("medium") && !svg.contains("<script"));
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join(files::REPORT)).unwrap()).unwrap();
    assert_eq!(json["recommendations"][0]["chosen"], "medium");

    // The same run again: everything is already done, nothing is sent.
    let before = server.count();
    let again = run(&config, &out);
    assert_eq!(server.count(), before);
    assert_eq!((again.run.requests, again.run.resumed), (0, 126));
    assert_eq!(summary(&again), summary(&report));

    // A fresh output folder sharing the cache: answered from the cache, nothing is sent.
    let mut shared = config.clone();
    shared.cache_dir = Some(out.join(files::CACHE_DIR));
    let elsewhere = run(&shared, &fx.dir.path().join("run2"));
    assert_eq!(server.count(), before);
    assert_eq!((elsewhere.run.requests, elsewhere.run.cache_hits), (0, 126));
    assert_eq!(summary(&elsewhere), summary(&report));
}

#[test]
fn a_killed_run_resumes_where_it_stopped() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    let config = load(fx.dir.path(), &trial_toml(&server.url, ""));
    let out = fx.dir.path().join("run");
    let full = run(&config, &out);

    // Simulate a kill: keep 50 durable records and a torn 51st, and lose the cache.
    let results = std::fs::read_to_string(out.join(files::RESULTS)).unwrap();
    let lines: Vec<&str> = results.lines().collect();
    let mut kept = lines[..50].join("\n");
    kept.push('\n');
    kept.push_str(&lines[50][..lines[50].len() / 2]);
    std::fs::write(out.join(files::RESULTS), kept).unwrap();
    std::fs::remove_dir_all(out.join(files::CACHE_DIR)).unwrap();

    let before = server.count();
    let resumed = run(&config, &out);
    assert_eq!(resumed.run.resumed, 50);
    assert_eq!(resumed.run.requests, 126 - 50);
    assert_eq!(server.count() - before, 76);
    assert_eq!(resumed.metrics.len(), full.metrics.len());
    for (a, b) in resumed.metrics.iter().zip(&full.metrics) {
        assert_eq!(
            (&a.model, &a.task, a.quality),
            (&b.model, &b.task, b.quality)
        );
    }
    // Every line of the log parses again: the torn one was cut before appending.
    let log = std::fs::read_to_string(out.join(files::RESULTS)).unwrap();
    assert!(log
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).is_ok()));
}

#[test]
fn a_changed_prompt_is_not_taken_from_the_old_results() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    let mut config = load(fx.dir.path(), &trial_toml(&server.url, ""));
    let out = fx.dir.path().join("run");
    run(&config, &out);
    let before = server.count();
    config.tasks[1].system = Some("You route support tickets.".into());
    let r = run(&config, &out);
    assert_eq!(
        r.run.requests,
        3 * 12,
        "only the changed task is asked again"
    );
    assert_eq!(server.count() - before, 36);
}

#[test]
fn dry_run_estimates_without_sending() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    let config = load(fx.dir.path(), &trial_toml(&server.url, ""));
    let out = fx.dir.path().join("dry");
    let report = run_trial(
        &config,
        &out,
        &NoopReporter,
        &TrialOptions {
            dry_run: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(server.count(), 0);
    let est = report.estimate.unwrap();
    assert_eq!(est.requests, 126);
    assert_eq!(est.rows.len(), 9);
    assert!(est.input_tokens > 0 && est.output_tokens > 0);
    assert!(est.cost > 0.0 && est.cost_max >= est.cost);
    let large: f64 = est
        .rows
        .iter()
        .filter(|r| r.model == "large")
        .filter_map(|r| r.cost)
        .sum();
    let small: f64 = est
        .rows
        .iter()
        .filter(|r| r.model == "small")
        .filter_map(|r| r.cost)
        .sum();
    assert!(
        large > 50.0 * small,
        "gpt-4o vs qwen-turbo: {large} vs {small}"
    );
    assert!(out.join(files::ESTIMATE).is_file());

    // After a real run, the dry run knows the cache answers everything.
    run(&config, &out);
    let again = run_trial(
        &config,
        &out,
        &NoopReporter,
        &TrialOptions {
            dry_run: true,
            ..Default::default()
        },
    )
    .unwrap();
    let est = again.estimate.unwrap();
    assert_eq!((est.requests, est.cached), (0, 126));
    assert_eq!(est.cost, 0.0);
}

#[test]
fn judge_grades_with_the_rubric() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    let judge = r#"
[trial.judge]
model = "judge"
rubric = "The answer must name the exact number of days or the signing party."
tasks = ["contract-qa"]
"#;
    let mut text = trial_toml(&server.url, "");
    text.push_str(judge);
    text.push_str(&format!(
        "\n[[trial.models]]\nname = \"judge\"\nprovider = \"openai-compatible\"\nbase-url = \"{}\"\nmodel = \"judge-model\"\njudge-only = true\n",
        server.url
    ));
    let config = load(fx.dir.path(), &text);
    let report = run(&config, &fx.dir.path().join("run"));
    let qa = report.metrics_for("medium", "contract-qa").unwrap();
    assert_eq!(qa.all_metrics[&Metric::Judge], 0.75);
    assert!(!report
        .metrics_for("medium", "ticket-routing")
        .unwrap()
        .all_metrics
        .contains_key(&Metric::Judge));
    assert!(report.metrics.iter().all(|m| m.model != "judge"));
    // Identical answers make identical judge requests: the cache grades them once.
    let judged = server
        .requests()
        .iter()
        .filter(|r| r.json()["model"] == "judge-model" && r.body.contains("Rubric:"))
        .count();
    assert!((20..=60).contains(&judged), "{judged}");
    // Every right answer quotes its context, so it is fully grounded.
    assert_eq!(
        report
            .metrics_for("large", "contract-qa")
            .unwrap()
            .groundedness,
        Some(1.0)
    );
    let items =
        std::fs::read_to_string(fx.dir.path().join("run").join(files::ITEMS_JSONL)).unwrap();
    let graded = items
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["task"] == "contract-qa" && v["judge"] == 0.75)
        .count();
    assert_eq!(graded, 60);
    let prompt = server
        .requests()
        .into_iter()
        .find(|r| r.json()["model"] == "judge-model")
        .unwrap();
    assert!(prompt.body.contains("exact number of days"));
}

#[test]
fn a_model_with_a_bad_key_is_stopped_and_the_rest_goes_on() {
    let fx = fixture();
    std::env::set_var("ADOPT_TRIAL_TEST_BAD_KEY", "sk-bad-key-value-42");
    let answers = fx.answers.clone();
    let inner = fleet(answers);
    let url = inner.url.clone();
    // A proxy that rejects the medium model's key with 401.
    let proxy = FakeServer::start(move |req, _| {
        if req.json()["model"] == "medium-7b" {
            return Reply::status(
                401,
                r#"{"error":{"message":"invalid key sk-bad-key-value-42"}}"#,
            );
        }
        let agent = ureq::Agent::new_with_defaults();
        let mut resp = agent
            .post(format!("{url}/chat/completions"))
            .header("Content-Type", "application/json")
            .send(req.body.as_bytes())
            .unwrap();
        let body = resp.body_mut().read_to_string().unwrap();
        if req.json()["stream"] == true {
            Reply::Stream(vec![(body.into_bytes(), std::time::Duration::ZERO)])
        } else {
            Reply::status(200, &body)
        }
    });
    let text = trial_toml(&proxy.url, "").replace(
        "price-ref = \"deepseek-v2\"",
        "price-ref = \"deepseek-v2\"\napi-key-env = \"ADOPT_TRIAL_TEST_BAD_KEY\"",
    );
    let config = load(fx.dir.path(), &text);
    let report = run(&config, &fx.dir.path().join("run"));
    assert_eq!(report.failures.len(), 1);
    let f = &report.failures[0];
    assert_eq!(f.model, "medium");
    assert!(!f.message.contains("sk-bad-key-value-42"), "{}", f.message);
    // Concurrency 2: at most a couple of requests went out before the stop.
    let medium_calls = proxy
        .requests()
        .iter()
        .filter(|r| r.json()["model"] == "medium-7b")
        .count();
    assert!(medium_calls <= 2, "{medium_calls}");
    assert!(f.skipped_items >= 42 - 2);
    assert_eq!(
        report
            .recommendation("contract-qa")
            .unwrap()
            .chosen
            .as_deref(),
        Some("large")
    );
    let all = std::fs::read_to_string(fx.dir.path().join("run").join(files::RESULTS)).unwrap()
        + &std::fs::read_to_string(fx.dir.path().join("run").join(files::REPORT)).unwrap()
        + &std::fs::read_to_string(fx.dir.path().join("run").join(files::ITEMS_CSV)).unwrap();
    assert!(!all.contains("sk-bad-key-value-42"));
}

#[test]
fn every_configuration_error_is_reported_at_once() {
    let fx = fixture();
    let text = r#"
[trial]
currency = "CNY"
confidence = 1.5
quality-bar = { min-quality = 2.0 }

[[trial.models]]
name = "a"
provider = "openai-compatible"
model = "x"
size = "seven"
price-ref = "no-such-price"

[[trial.models]]
name = "a"
provider = "openai"
model = "gpt-4o"
price-ref = "gpt-4o"
api-key-env = "sk-live-123"

[[trial.tasks]]
name = "t"
kind = "classification"
path = "missing.csv"
metric = "token-f1"
"#;
    let config = load(fx.dir.path(), text);
    let err = adopt_trial::TrialPlan::new(&config).unwrap_err();
    let TrialError::InvalidConfig(errors) = &err else {
        panic!("{err}")
    };
    let all = errors.join("\n");
    for needle in [
        "confidence",
        "min-quality",
        "needs base-url",
        "\"seven\"",
        "no-such-price",
        "used twice",
        "priced in USD",
        "NAME of an environment variable",
        "missing.csv",
        "token-f1 does not apply",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    assert!(!err.to_string().contains("sk-live-123") || all.contains("api-key-env"));
}

#[test]
fn unknown_keys_are_rejected() {
    let err = TrialConfig::from_toml_str("[trial]\ncurency = \"CNY\"\n", ".").unwrap_err();
    assert!(err.to_string().contains("curency"), "{err}");
}

#[test]
fn missing_keys_stop_the_run_before_any_request() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    let text = trial_toml(&server.url, "").replace(
        "provider = \"openai-compatible\"",
        "provider = \"openai\"\napi-key-env = \"ADOPT_TRIAL_TEST_NO_SUCH_KEY\"",
    );
    let config = load(fx.dir.path(), &text);
    let err = run_trial(
        &config,
        &fx.dir.path().join("run"),
        &NoopReporter,
        &TrialOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("ADOPT_TRIAL_TEST_NO_SUCH_KEY"),
        "{err}"
    );
    assert_eq!(server.count(), 0);
}

/// A context source standing in for the kb stage's retriever.
struct Passages(HashMap<String, String>);

impl adopt_trial::ContextSource for Passages {
    fn contexts(&self, question: &str, _doc: Option<&str>) -> Result<Vec<String>, String> {
        self.0
            .get(question)
            .map(|p| vec![p.clone(), "An unrelated passage.".into()])
            .ok_or_else(|| "not found".into())
    }
}

#[test]
fn qa_context_can_come_from_a_context_source() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    std::fs::write(
        fx.dir.path().join("closed.jsonl"),
        "{\"question\":\"Who signed contract 1?\",\"answers\":[\"Acme Branch 1\"],\"doc\":\"c1.pdf\"}\n",
    )
    .unwrap();
    let text = format!(
        "[trial]\n[[trial.models]]\nname = \"large\"\nprovider = \"vllm\"\nbase-url = \"{}\"\nmodel = \"large-72b\"\n\
         [[trial.tasks]]\nname = \"kb-qa\"\nkind = \"rag-qa\"\npath = \"closed.jsonl\"\ncontext = \"source\"\n",
        server.url
    );
    let config = load(fx.dir.path(), &text);
    let source = Passages(HashMap::from([(
        "Who signed contract 1?".to_string(),
        "Contract 1 was signed by Acme Branch 1.".to_string(),
    )]));
    let opts = TrialOptions {
        context_source: Some(Arc::new(source)),
        ..Default::default()
    };
    let report = run_trial(&config, &fx.dir.path().join("run"), &NoopReporter, &opts).unwrap();
    assert_eq!(report.metrics[0].quality, 1.0);
    let prompt = server.requests()[0].body.clone();
    assert!(
        prompt.contains("[1] Contract 1 was signed")
            && prompt.contains("[2] An unrelated passage.")
    );
}

#[test]
fn wrong_answers_are_blamed_on_retrieval_or_on_the_model() {
    let fx = fixture();
    let server = fleet(fx.answers.clone());
    // q0 and q1 come with the passage that answers them; q2 and q3 with one that does not.
    let (q, a): (Vec<&str>, Vec<&str>) = fx.answers[..4]
        .iter()
        .map(|(q, a)| (q.as_str(), a.as_str()))
        .unzip();
    let contexts = [
        format!("合同0约定付款期限为{}。", a[0]),
        format!("Contract 1 was signed by {}.", a[1]),
        "合同2的付款条款另见附件。".to_string(),
        "Contract 3 was drafted in March.".to_string(),
    ];
    let mut qa = String::new();
    for i in 0..4 {
        qa.push_str(
            &json!({"id": format!("q{i}"), "question": q[i], "answers": [a[i]], "context": contexts[i]})
                .to_string(),
        );
        qa.push('\n');
    }
    std::fs::write(fx.dir.path().join("mixed.jsonl"), qa).unwrap();
    let model = |name: &str, id: &str| {
        format!(
            "[[trial.models]]\nname = \"{name}\"\nprovider = \"vllm\"\nbase-url = \"{}\"\nmodel = \"{id}\"\n",
            server.url
        )
    };
    let text = format!(
        "[trial]\nbootstrap-resamples = 50\n{}{}{}judge-only = true\n\
         [[trial.tasks]]\nname = \"qa\"\nkind = \"rag-qa\"\npath = \"mixed.jsonl\"\nmetric = \"contains\"\n\
         [trial.judge]\nmodel = \"judge\"\nrubric = \"Right figure or party.\"\n",
        model("small", "small-1b"),
        model("large", "large-72b"),
        model("judge", "judge-model"),
    );
    let config = load(fx.dir.path(), &text);
    let out = fx.dir.path().join("run");
    let report = run(&config, &out);
    let small = report.metrics_for("small", "qa").unwrap();
    // small answers the even questions: q1 is wrong with its answer in view, q3 without.
    assert_eq!(small.quality, 0.5);
    assert_eq!(small.context_hit_rate, Some(0.5));
    assert_eq!(small.model_errors_with_answer_in_context, Some(1));
    assert_eq!(small.errors_with_answer_missing, Some(1));
    // large is always right, but half its answers come from nowhere in the context.
    let large = report.metrics_for("large", "qa").unwrap();
    assert_eq!(large.quality, 1.0);
    assert_eq!(
        (
            large.model_errors_with_answer_in_context,
            large.errors_with_answer_missing
        ),
        (Some(0), Some(0))
    );
    assert_eq!(large.groundedness, Some(0.5));
    assert_eq!(small.groundedness, Some(0.25));
    let items: Vec<Value> = std::fs::read_to_string(out.join(files::ITEMS_JSONL))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hit = |id: &str| items.iter().find(|v| v["item"] == id).unwrap()["context_hit"].clone();
    assert_eq!((hit("q1"), hit("q3")), (json!(true), json!(false)));
    let csv = std::fs::read_to_string(out.join(files::ITEMS_CSV)).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("context_hit,groundedness"));

    // Again: the records and their grades are kept, nothing is asked.
    let before = server.count();
    let again = run(&config, &out);
    assert_eq!(server.count(), before);
    let blame = |m: &adopt_trial::ModelTaskMetrics| {
        (
            m.context_hit_rate,
            m.model_errors_with_answer_in_context,
            m.errors_with_answer_missing,
            m.groundedness,
        )
    };
    assert_eq!(
        blame(again.metrics_for("small", "qa").unwrap()),
        blame(small)
    );
}

#[test]
fn load_levels_are_measured_once_per_settings() {
    let fx = fixture();
    // Four text chunks per answer, a few ms apart, with usage.
    let server = FakeServer::start(|req, _| {
        if req.json()["stream"] == true {
            Reply::sse(&["The ", "answer ", "is ", "here."], Some((40, 4)), true)
        } else {
            Reply::completion("The answer is here.", Some((40, 4)))
        }
    });
    let text = format!(
        "[trial]\nbootstrap-resamples = 50\n\
         [[trial.models]]\nname = \"m\"\nprovider = \"vllm\"\nbase-url = \"{}\"\nmodel = \"m-1\"\n\
         [[trial.tasks]]\nname = \"qa\"\nkind = \"rag-qa\"\npath = \"qa.jsonl\"\nlimit = 2\n\
         [trial.load]\nconcurrency = [1, 2]\nrates = [40.0]\nrequests = 6\nignore-eos = true\n\
         slo = {{ ttft-ms = 60000, itl-ms = 60000, e2e-ms = 60000 }}\n",
        server.url
    );
    let config = load(fx.dir.path(), &text);
    let out = fx.dir.path().join("run");
    let report = run(&config, &out);
    let load = report.load.as_ref().expect("load figures");
    assert!(!load.reused && load.failures.is_empty(), "{load:?}");
    let labels: Vec<&str> = load.levels.iter().map(|l| l.level.as_str()).collect();
    assert_eq!(labels, ["c=1", "c=2", "40 req/s"]);
    for l in &load.levels {
        assert_eq!((l.requests, l.completed, l.errors), (6, 6, 0), "{l:?}");
        assert_eq!(l.output_tokens, 24);
        assert!(l.ttft_p50_ms.unwrap() <= l.e2e_p50_ms.unwrap(), "{l:?}");
        assert!(l.ttft_p99_ms.unwrap() <= l.e2e_p99_ms.unwrap(), "{l:?}");
        assert!(l.itl_p50_ms.is_some() && l.tpot_p50_ms.is_some(), "{l:?}");
        // Generous objectives: every request is good, so goodput is the throughput.
        assert_eq!(l.good, Some(6));
        assert!((l.goodput.unwrap() - l.request_throughput).abs() < 1e-9);
        assert!(l.request_throughput > 0.0 && l.output_tokens_per_s > 0.0);
    }
    let rows = std::fs::read_to_string(out.join(files::load::REQUESTS)).unwrap();
    assert_eq!(rows.lines().count(), 18);
    assert_eq!(
        std::fs::read_to_string(out.join(files::load::LEVELS))
            .unwrap()
            .lines()
            .count(),
        3
    );
    let svg = std::fs::read_to_string(out.join(files::load::CHART)).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("c=2") && !svg.contains("<script"));
    // 2 sweep answers, 1 warm-up and 18 measured; only the load requests ask for ignore_eos.
    let sent = server.requests();
    assert_eq!(sent.len(), 2 + 1 + 18);
    assert_eq!(
        sent.iter()
            .filter(|r| r.json()["ignore_eos"] == true)
            .count(),
        19
    );

    // Same settings: the figures are reused; `load` measures again.
    let again = run(&config, &out);
    assert!(again.load.as_ref().unwrap().reused);
    assert_eq!(server.count(), 21);
    let opts = TrialOptions {
        load: true,
        ..Default::default()
    };
    let fresh = run_trial(&config, &out, &NoopReporter, &opts).unwrap();
    assert!(!fresh.load.unwrap().reused);
    assert_eq!(server.count(), 21 + 19);
}

#[test]
fn bad_load_settings_are_all_reported_at_once() {
    let fx = fixture();
    std::fs::write(fx.dir.path().join("m.gguf"), b"").unwrap();
    let text = r#"
[trial]
[[trial.models]]
name = "remote"
provider = "vllm"
model = "x"
[[trial.models]]
name = "on-cpu"
provider = "llama-cpp"
base-url = "local:m.gguf"
model = "y"
[[trial.tasks]]
name = "qa"
kind = "rag-qa"
path = "qa.jsonl"
[trial.load]
concurrency = [0, 2]
rates = [-1.0]
requests = 0
input-tokens = 64
tasks = ["nope"]
slo = { ttft-ms = -5.0 }
"#;
    let config = load(fx.dir.path(), text);
    let TrialError::InvalidConfig(errors) = adopt_trial::TrialPlan::new(&config).unwrap_err()
    else {
        panic!("expected validation errors")
    };
    let all = errors.join("\n");
    for needle in [
        "level 0 is outside",
        "rates: -1",
        "requests must be at least 1",
        "input-tokens only applies",
        "\"nope\" is not one of [[trial.tasks]]",
        "slo.ttft-ms",
        "on-cpu runs in-process",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    let err = TrialConfig::from_toml_str("[trial.load]\nconcurency = [1]\n", ".").unwrap_err();
    assert!(err.to_string().contains("concurency"), "{err}");
}
