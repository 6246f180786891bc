//! Finding and loading the ONNX Runtime shared library.
//!
//! `ort` loads the library once per process and allows one environment per process, so the
//! environment built here is kept and shared by every model loaded afterwards.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;

use crate::error::{LoadError, Result};

/// Environment variable naming the ONNX Runtime library file (the name `ort` itself uses).
pub const ORT_LIBRARY_ENV: &str = "ORT_DYLIB_PATH";

/// The ONNX Runtime library to use: `explicit`, else `$ORT_DYLIB_PATH`, else the newest
/// `libonnxruntime.so*` in `onnxruntime/` beside the model directory (where
/// `models/prepare.py` puts it).
pub fn find_ort_library(explicit: Option<&Path>, model_dir: &Path) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return existing_file(path);
    }
    if let Some(path) = std::env::var_os(ORT_LIBRARY_ENV).filter(|p| !p.is_empty()) {
        return existing_file(Path::new(&path));
    }
    let dir = model_dir
        .parent()
        .map(|parent| parent.join("onnxruntime"))
        .unwrap_or_else(|| PathBuf::from("onnxruntime"));
    newest_library_in(&dir).ok_or_else(|| LoadError::MissingOrtLibrary {
        looked_in: format!(
            "{}/libonnxruntime.so* (and ${ORT_LIBRARY_ENV} is not set)",
            dir.display()
        ),
    })
}

/// The `libonnxruntime.so*` in `dir` with the highest version in its name.
fn newest_library_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(is_ort_library_name)
        })
        .collect();
    found.sort_by_key(|path| version_key(path));
    found.pop()
}

fn existing_file(path: &Path) -> Result<PathBuf> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(LoadError::MissingOrtLibrary {
            looked_in: path.display().to_string(),
        })
    }
}

fn is_ort_library_name(name: &str) -> bool {
    name.starts_with("libonnxruntime.so")
        || name.starts_with("libonnxruntime.") && name.ends_with(".dylib")
        || name.eq_ignore_ascii_case("onnxruntime.dll")
}

/// `libonnxruntime.so.1.24.4` -> `[1, 24, 4]`, so that the newest library sorts last.
fn version_key(path: &Path) -> Vec<u32> {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(|name| {
            name.split('.')
                .filter_map(|part| part.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

static ENVIRONMENT: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);

/// The process's ONNX Runtime environment, loading `library` the first time.
///
/// A later call with another library gets the environment of the first: ONNX Runtime cannot
/// be swapped inside a running process. A missing file is always an error.
pub fn ort_environment(library: &Path) -> Result<Environment> {
    let library = existing_file(library)?;
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, environment)) = slot.as_ref() {
        return Ok(environment.clone());
    }
    let fail = |message: String| LoadError::OrtLibrary {
        path: library.clone(),
        message,
    };
    let environment = ort::init_from(&library)
        .map_err(|err| fail(err.to_string()))?
        .with_name("adopt-embed")
        .build()
        .map_err(|err| fail(err.to_string()))?;
    *slot = Some((library, environment.clone()));
    Ok(environment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_library_version_wins() {
        let dir = tempfile::tempdir().unwrap();
        let ort_dir = dir.path().join("onnxruntime");
        std::fs::create_dir(&ort_dir).unwrap();
        for name in [
            "libonnxruntime.so.1.9.0",
            "libonnxruntime.so.1.24.4",
            "README",
        ] {
            std::fs::write(ort_dir.join(name), b"x").unwrap();
        }
        let found = newest_library_in(&ort_dir).unwrap();
        assert_eq!(found, ort_dir.join("libonnxruntime.so.1.24.4"));
        assert_eq!(newest_library_in(&dir.path().join("absent")), None);
    }

    #[test]
    fn explicit_missing_library_names_the_path() {
        let err = find_ort_library(
            Some(Path::new("/nonexistent/libonnxruntime.so")),
            Path::new("/m"),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("/nonexistent/libonnxruntime.so"),
            "{message}"
        );
        assert!(message.contains("python3 models/prepare.py"), "{message}");
    }

    // Runs in the unit-test binary, where no real ONNX Runtime is ever loaded, so the failed
    // dlopen is really attempted.
    #[test]
    fn a_file_that_is_not_a_library_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("libonnxruntime.so.1.24.4");
        std::fs::write(&fake, b"not an ELF file").unwrap();
        let err = ort_environment(&fake).unwrap_err();
        assert!(matches!(err, LoadError::OrtLibrary { .. }), "{err}");
        assert!(
            err.to_string().contains("libonnxruntime.so.1.24.4"),
            "{err}"
        );
    }
}
