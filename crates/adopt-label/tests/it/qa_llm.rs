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

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use adopt_core::Reporter;
use adopt_label::{run, write_outputs, LabelConfig, QaReport};

use crate::qa_corpus::cmrc_records;

/// The server, killed when dropped.
struct LocalLlm {
    url: String,
    child: Option<Child>,
}

impl Drop for LocalLlm {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts adopt-trial's script (installing on first use) and waits for the URL it prints.
fn start_local_llm() -> Result<LocalLlm, String> {
    if let Ok(url) = std::env::var("ADOPT_TEST_LLM_URL") {
        return Ok(LocalLlm { url, child: None });
    }
    if std::env::var("ADOPT_TEST_LLM").as_deref() == Ok("skip") {
        return Err("ADOPT_TEST_LLM=skip".into());
    }
    let script = std::env::current_dir()
        .expect("cargo runs tests and benches in the package folder")
        .join("../adopt-trial/tests/serve_local_llm.sh");
    let mut child = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::piped()) // the server stops when this closes
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("ADOPT_TEST_LLM_URL=") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    // llama.cpp logs a lot: keep stderr drained, and its tail for the skip message.
    let tail = Arc::new(Mutex::new(String::new()));
    let keep = tail.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut t = keep.lock().unwrap();
            t.push_str(&String::from_utf8_lossy(&buf[..n]));
            if t.len() > 4000 {
                let cut = (t.len() - 2000..t.len())
                    .find(|&i| t.is_char_boundary(i))
                    .unwrap_or(0);
                t.drain(..cut);
            }
        }
    });
    let mut llm = LocalLlm {
        url: String::new(),
        child: Some(child),
    };
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Ok(url) = rx.recv_timeout(Duration::from_millis(500)) {
            llm.url = url;
            return Ok(llm);
        }
        if let Some(status) = llm.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            std::thread::sleep(Duration::from_millis(100));
            let tail = tail.lock().unwrap().clone();
            let last: Vec<&str> = tail.lines().rev().take(5).collect();
            return Err(format!(
                "serve_local_llm.sh exited ({status}): {}",
                last.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
        if Instant::now() > deadline {
            return Err("the local LLM server did not start within 900 s".into());
        }
    }
}

/// To stderr directly: the harness captures `eprintln!`, and the figures (or the skip line)
/// belong in the CI log either way.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Keeps the warnings a run gives.
#[derive(Default)]
struct Warnings(Mutex<Vec<String>>);

impl Reporter for Warnings {
    fn warn(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
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
    let warned = warnings.0.lock().unwrap();
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
        let warned = warnings.0.lock().unwrap();
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
