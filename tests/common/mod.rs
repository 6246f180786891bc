//! Helpers shared by the end-to-end test binaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use adopt_core::Document;

/// The repository root.
pub fn repo() -> PathBuf {
    std::env::current_dir()
        .expect("cargo runs tests and benches in the package folder")
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The shared corpus of real-world files beside the checkout.
pub fn corpus() -> PathBuf {
    repo().join("../shared/corpus")
}

/// Runs `adopt --run-dir RUN_DIR ARGS...` and insists that it succeeds.
pub fn adopt(run_dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .arg("--run-dir")
        .arg(run_dir)
        .args(args)
        .output()
        .expect("run adopt");
    assert!(
        out.status.success(),
        "adopt {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The document whose source path ends with `name`.
pub fn by_name<'a>(docs: &'a [Document], name: &str) -> &'a Document {
    docs.iter()
        .find(|d| d.source_path.ends_with(name))
        .unwrap_or_else(|| {
            panic!(
                "{name} not collected; have {:?}",
                docs.iter().map(|d| &d.source_path).collect::<Vec<_>>()
            )
        })
}
