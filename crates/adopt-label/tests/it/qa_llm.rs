//! The LLM QA generator for real: against SmolLM2-135M-Instruct served by llama.cpp's
//! OpenAI-compatible server (installed from PyPI and started by adopt-trial's
//! `tests/serve_local_llm.sh`), on a few CMRC 2018 contexts; and against a port nobody listens
//! on, where the label run falls back to the extractive generator. `ADOPT_TEST_LLM_URL` points
//! the first test at a server already running; `ADOPT_TEST_LLM=skip`, or a machine where the
//! server cannot be installed, makes it print "skipped: ..." and pass.
//!
//! A 135M model writes poor pairs: the test checks that the generator works end to end
//! (requests sent, replies parsed or counted as unparseable, kept answers verbatim, counts that
//! add up), not that the model is good.

use std::io::Write;
use std::time::Instant;

use adopt_core::WarningLog as Warnings;
use adopt_label::{run, write_outputs, LabelConfig, QaReport};

use crate::qa_corpus::cmrc_records;

use adopt_trial::testing::start_local_llm;

/// To stderr directly: the harness captures `eprintln!`, and the figures (or the skip line)
/// belong in the CI log either way.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn llm_label_config(url: &str, extra_endpoint: &str) -> LabelConfig {
    toml::from_str(&format!(
        r#"
        [qa]
        generator = "llm"
        [qa.llm]
        pairs-per-chunk = 3
        max-chunk-chars = 1500
        [qa.llm.endpoint]
        name = "smollm2"
        provider = "llama-cpp"
        base-url = "{url}"
        model = "smollm2-135m"
        {extra_endpoint}
        "#
    ))
    .unwrap()
}

/// Kept + dropped = candidates, whatever the generator.
fn assert_counts_add_up(r: &QaReport) {
    assert_eq!(
        r.kept
            + r.dropped_not_verbatim
            + r.dropped_length
            + r.dropped_duplicate
            + r.dropped_ambiguous
            + r.dropped_cap,
        r.candidates,
        "{r:#?}"
    );
}

#[test]
fn unreachable_llm_falls_back_to_extractive() {
    // A port that was free a moment ago: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let config = llm_label_config(&url, "max-retries = 0\nconnect-timeout-secs = 5");
    let (records, _) = cmrc_records();
    let records = &records[..20];
    let warnings = Warnings::default();
    let out = run(&config, records, &[], None, &warnings).unwrap();
    let report = out.report.qa.as_ref().unwrap();
    assert_eq!(report.generator, "extractive");
    let fallback = report.fallback.as_ref().expect("the fallback is reported");
    assert_eq!(fallback.requested, "llm:smollm2");
    assert!(fallback.reason.contains(&url), "{fallback:?}");
    assert!(report.llm.is_none());
    assert!(report.kept > 0 && out.qa.iter().all(|p| p.method != "llm:smollm2"));
    assert_counts_add_up(report);
    let warned = warnings.warnings();
    assert!(
        warned
            .iter()
            .any(|w| w.contains(&url) && w.contains("extractive")),
        "{warned:?}"
    );
    say(&format!("fallback warning: {}", warned[0]));

    // report.json says so too.
    let dir = tempfile::tempdir().unwrap();
    write_outputs(dir.path(), &out).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["qa"]["generator"], "extractive");
    assert_eq!(json["qa"]["fallback"]["requested"], "llm:smollm2");
}

#[test]
fn llm_qa_set_from_cmrc_contexts_on_a_real_local_model() {
    let started = Instant::now();
    let llm = match start_local_llm() {
        Ok(llm) => llm,
        Err(why) => {
            say(&format!("skipped: real-LLM QA set: {why}"));
            return;
        }
    };
    let server_ready = started.elapsed();
    // The three shortest contexts (about 270 characters each): the model writes a few tokens a
    // second on a busy two-core machine.
    let (mut records, _) = cmrc_records();
    records.sort_by_key(|r| (r.text.chars().count(), r.id.clone()));
    records.truncate(3);
    let config = llm_label_config(
        &llm.url,
        "concurrency = 2\ntimeout-secs = 900\nread-timeout-secs = 600\nparams = { max-tokens = 128 }",
    );
    let warnings = Warnings::default();
    let t = Instant::now();
    let out = run(&config, &records, &[], None, &warnings).unwrap();
    let elapsed = t.elapsed();

    let report = out.report.qa.as_ref().unwrap();
    assert_eq!(report.generator, "llm:smollm2", "{report:#?}");
    assert!(report.fallback.is_none(), "{report:#?}");
    let stats = report.llm.as_ref().expect("LLM statistics are reported");
    assert_eq!(stats.chunks, 3, "each short context is one chunk");
    assert_eq!(stats.requests + stats.skipped, stats.chunks);
    assert_eq!(stats.replies + stats.failed, stats.requests);
    assert_eq!(stats.replies, 3, "{stats:#?}");
    assert!(stats.unparseable <= stats.replies);
    assert!(stats.output_tokens > 0 && stats.input_tokens > 0);
    assert_eq!(report.records, 3);
    assert_eq!(report.candidates, stats.candidates);
    assert_counts_add_up(report);
    assert_eq!(report.kept, out.qa.len());
    if stats.unparseable > 0 {
        let warned = warnings.warnings();
        assert!(warned.iter().any(|w| w.contains("JSON")), "{warned:?}");
    }
    for p in &out.qa {
        let source = records.iter().find(|r| r.id == p.record_id).unwrap();
        let chunk = p.chunk.as_deref().expect("LLM pairs name their chunk");
        assert!(source.text.contains(chunk));
        assert_eq!(p.method, "llm:smollm2");
        assert_eq!(p.doc, format!("{}.txt", p.record_id));
        for a in &p.answers {
            assert!(chunk.contains(a.as_str()), "{a:?} not in its chunk");
            assert!(!p.question.contains(a.as_str()), "{p:?}");
        }
    }

    say(&format!(
        "real-LLM QA set: server ready in {:.1} s; {} chunks, {} requests ({} failed) in {:.1} s \
         ({} output tokens); {} replies unparseable; {} candidates -> {} kept \
         ({} not verbatim, {} length, {} duplicate, {} ambiguous, {} cap)",
        server_ready.as_secs_f64(),
        stats.chunks,
        stats.requests,
        stats.failed,
        elapsed.as_secs_f64(),
        stats.output_tokens,
        stats.unparseable,
        report.candidates,
        report.kept,
        report.dropped_not_verbatim,
        report.dropped_length,
        report.dropped_duplicate,
        report.dropped_ambiguous,
        report.dropped_cap,
    ));
    for p in &out.qa {
        say(&format!("  kept: {} -> {:?}", p.question, p.answers));
    }
    if let Some(example) = &stats.unparseable_example {
        say(&format!("  an unparseable reply began: {example:?}"));
    }
}
