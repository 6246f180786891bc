//! End-to-end tests of `adopt run` and `adopt validate`: the quickstart pipeline, all errors
//! reported at once, and a run killed at several points finishing with identical outputs.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// Every output file under `run`, by relative path, with its bytes; run bookkeeping excluded.
fn outputs(run: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![run.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = p.strip_prefix(run).unwrap().to_string_lossy().into_owned();
            // The index's segment files are Qdrant's business (ids and WAL positions differ
            // from run to run); what it holds is compared through `adopt kb status` and a query
            // instead. build.json records timings.
            if name.starts_with('.')
                || name == "run-state.json"
                || name.starts_with("kb/index")
                || name == "kb/build.json"
            {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let mut bytes = std::fs::read(&p).unwrap();
                if name.starts_with("report/") {
                    // The report is stamped with the time it was made and names the run
                    // directory; nothing else may differ.
                    let text = String::from_utf8(bytes).unwrap();
                    let stamp = regex_lite_stamp(&text);
                    let text = text.replace(&stamp, "<time>");
                    bytes = text.replace(run.to_str().unwrap(), "<run>").into_bytes();
                }
                out.insert(name, bytes);
            }
        }
    }
    out
}

/// What the knowledge base of `run` holds, as the index itself reports it: chunk counts checked
/// per document against the manifest, and the ranked chunk ids of a few queries in each mode.
fn kb_contents(run: &Path) -> String {
    let status = adopt(run, &["kb", "status", "--json"]);
    let mut v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        v["chunks_in_manifest"], v["points_in_index"],
        "manifest and index disagree: {v}"
    );
    assert_eq!(v["mismatched_documents"], serde_json::json!([]), "{v}");
    v["index"] = serde_json::Value::Null;
    let mut out = v.to_string();
    // Hybrid covers both dense and sparse retrieval; each query loads the model, so few.
    let mode = if v["model"].is_null() {
        "sparse"
    } else {
        "hybrid"
    };
    for mode in [mode] {
        for q in ["不良贷款率", "card fraud alert"] {
            let hits = adopt(run, &["kb", "query", q, "--mode", mode, "--json"]);
            let hits: Vec<serde_json::Value> = serde_json::from_slice(&hits.stdout).unwrap();
            let ids: Vec<&str> = hits
                .iter()
                .map(|h| h["chunk_id"].as_str().unwrap())
                .collect();
            out.push_str(&format!("\n{mode} {q}: {ids:?}"));
        }
    }
    out
}

/// The "YYYY-MM-DD HH:MM UTC" stamp in a report, or an empty string.
fn regex_lite_stamp(text: &str) -> String {
    text.match_indices(" UTC")
        .find_map(|(i, _)| (i >= 16).then(|| text[i - 16..i + 4].to_string()))
        .filter(|s| s.as_bytes()[4] == b'-' && s.as_bytes()[13] == b':')
        .unwrap_or_default()
}

/// A copy of the quickstart pipeline pointing at the bundled example, in a temp folder, without
/// its trial: the trial keeps its own resumable log (tested in adopt-trial), and its latencies
/// differ from run to run by nature, so they cannot be compared byte for byte.
fn pipeline_file(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("pipelines/quickstart.toml")).unwrap();
    let text = text.split("\n[trial]").next().unwrap().replace(
        "../examples/bank",
        repo().join("examples/bank").to_str().unwrap(),
    );
    let p = dir.join("quickstart.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn quickstart_runs_and_a_second_run_is_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    // The trial's chat models are looked for in an empty cache and not fetched: the trial then
    // leaves them out with one line each and the run goes on (the engine's own tests run them).
    // The embedding model stays where it is installed.
    std::env::set_var("ADOPT_MODEL_DIR", adopt_embed_default_dir());
    std::env::set_var("ADOPT_MODEL_CACHE", tmp.path().join("no-models"));
    std::env::set_var("ADOPT_OFFLINE", "1");
    let run = tmp.path().join("run");
    let out = adopt(
        &run,
        &[
            "run",
            repo().join("pipelines/quickstart.toml").to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("collect  done")
            && stdout.contains("clean    done")
            && stdout.contains("kb       done"),
        "{stdout}"
    );
    assert!(run.join("clean/report.md").is_file());
    // The knowledge base answers from the bank's own documents and was scored on the label
    // stage's QA pairs.
    let hits = adopt(
        &run,
        &["kb", "query", "信用评分低于多少分不予授信", "--json"],
    );
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&hits.stdout).unwrap();
    assert!(
        hits[..3].iter().any(|h| h["source_path"]
            .as_str()
            .unwrap()
            .ends_with("评分规则.docx")),
        "{hits:?}"
    );
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("kb/eval.json")).unwrap()).unwrap();
    assert!(eval["n_queries"].as_u64().unwrap() >= 10, "{eval}");
    assert!(eval["hit_at_5"].as_f64().unwrap() >= 0.8, "{eval}");
    let out = adopt(
        &run,
        &[
            "run",
            repo().join("pipelines/quickstart.toml").to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("10 unchanged")
            && stdout.contains("clean    up to date")
            && stdout.contains("kb       up to date"),
        "{stdout}"
    );
}

#[test]
fn validate_reports_every_error_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.toml");
    std::fs::write(
        &p,
        "name = \"bad\"\nrun-dir = \"r\"\nsoruces = 1\n\n[collect]\nsources = [\"missing-folder\"]\nfile-timout = 3\n\n[clean.pii]\nmode = \"shred\"\n\n[clean.dedup]\nthreshold = 2.0\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .args(["validate", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // Three independent mistakes in three places, each with its line, in one run.
    assert!(
        err.contains("bad.toml:3: unknown key or stage `soruces`"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:7: [collect] unknown field `file-timout`"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:10: [clean]") && err.contains("shred"),
        "{err}"
    );
    // Nothing ran.
    assert!(!tmp.path().join("r").exists());
}

/// `kill -9` at several moments, then the same command: the outputs equal those of a run that
/// was never interrupted.
#[test]
fn a_killed_run_resumes_to_identical_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = pipeline_file(tmp.path());
    let reference = tmp.path().join("reference");
    let started = std::time::Instant::now();
    adopt(&reference, &["run", file.to_str().unwrap()]);
    let took = started.elapsed();
    let expected = outputs(&reference);
    let expected_kb = kb_contents(&reference);
    assert!(
        expected.contains_key("documents.parquet")
            && expected.contains_key("clean/report.json")
            && expected.contains_key("kb/manifest.json")
    );

    // Kills spread over the whole run (collect, clean, label, kb build and optimize, report),
    // wherever its time goes on this machine.
    let delays = [0.02, 0.3, 0.55, 0.75, 0.9].map(|f| took.mul_f64(f).as_millis() as u64);
    for (i, delay_ms) in delays.into_iter().enumerate() {
        let run = tmp.path().join(format!("killed-{i}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_adopt"))
            .arg("--run-dir")
            .arg(&run)
            .args(["run", file.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no chance to clean up
        let _ = child.wait();
        adopt(&run, &["run", file.to_str().unwrap()]);
        let got = outputs(&run);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "files differ after a kill at {delay_ms} ms"
        );
        for (name, bytes) in &expected {
            assert!(
                got[name] == *bytes,
                "{name} differs after a kill at {delay_ms} ms"
            );
        }
        assert_eq!(
            kb_contents(&run),
            expected_kb,
            "knowledge base differs after a kill at {delay_ms} ms"
        );
    }
}

/// The pipeline example in README.md validates, word for word (its source folder resolved).
#[test]
fn readme_pipeline_example_is_valid() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = readme
        .split("```toml\n")
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("[collect]"))
        .expect("the pipeline example in README.md");
    // The example sits in pipelines/, like quickstart.toml: resolve its relative source.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("readme-example.toml");
    let text = block.replace(
        "../examples/bank",
        repo().join("examples/bank").to_str().unwrap(),
    );
    assert_ne!(text, block, "the example no longer names ../examples/bank");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .args(["validate", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every shipped pipeline file validates, and the bank pipeline runs end to end.
#[test]
fn shipped_pipelines_are_valid_and_bank_runs() {
    for entry in std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .flatten()
    {
        let p = entry.path();
        let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
            .args(["validate", p.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    adopt(
        &run,
        &["run", repo().join("pipelines/bank.toml").to_str().unwrap()],
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("clean/report.json")).unwrap())
            .unwrap();
    // The bank's own customer ids are redacted by the custom rule in bank.toml.
    assert!(
        report["pii"]["by_kind"]["CUSTOMER_ID"].as_u64().unwrap() > 0,
        "{}",
        report["pii"]
    );
    assert!(run.join("report/index.html").is_file());
}

fn adopt_embed_default_dir() -> std::path::PathBuf {
    std::env::var_os("ADOPT_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap())
                .join(".cache/adopt/models/multilingual-e5-small")
        })
}
