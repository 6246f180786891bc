//! Guards around the extraction of one file, so that no input can crash, hang or exhaust the
//! run: [`SubprocessExtractor`] runs each file in a child process with a time and memory
//! budget; [`InProcessExtractor`] only catches panics, for tests and trusted inputs.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{CollectError, Result};
use crate::extract::{extract_bytes, extract_job, Extracted, FileJob};

/// Extracts one file. Implementations decide how much protection surrounds the readers.
pub trait Extractor: Send + Sync {
    /// `bytes` are the file's contents, already read for hashing; an implementation may reread.
    fn extract(&self, job: &FileJob, bytes: &[u8]) -> Result<Extracted>;

    /// Seconds one file may take (0: no limit); long OCR stops short of it.
    fn time_budget_secs(&self) -> u64 {
        0
    }
}

/// Time and memory allowed to one file.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub timeout: Duration,
    pub memory_mib: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            timeout: Duration::from_secs(120),
            memory_mib: 4096,
        }
    }
}

/// Runs readers in this process, turning a panic into an error. It cannot stop a reader that
/// hangs or allocates without bound; the CLI uses [`SubprocessExtractor`].
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessExtractor;

impl Extractor for InProcessExtractor {
    fn extract(&self, job: &FileJob, bytes: &[u8]) -> Result<Extracted> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| extract_bytes(job, bytes)))
            .unwrap_or_else(|panic| {
                Err(CollectError::Crashed {
                    path: job.path.clone(),
                    reason: panic_message(&panic),
                })
            })
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Runs each file in a child process (`program args... --job FILE --result FILE`) that applies
/// the memory budget to itself; the parent kills it when the time budget runs out.
#[derive(Debug, Clone)]
pub struct SubprocessExtractor {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub budget: Budget,
    pub scratch: PathBuf,
}

/// What the child writes back.
#[derive(Debug, Serialize, Deserialize)]
enum WorkerResult {
    Ok(Extracted),
    Err { kind: String, reason: String },
}

impl Extractor for SubprocessExtractor {
    fn time_budget_secs(&self) -> u64 {
        self.budget.timeout.as_secs()
    }

    fn extract(&self, job: &FileJob, _bytes: &[u8]) -> Result<Extracted> {
        let path = &job.path;
        std::fs::create_dir_all(&self.scratch).map_err(|e| CollectError::io(&self.scratch, e))?;
        let job_file = self.scratch.join(format!("{}.job.json", job.doc_id));
        let result_file = self.scratch.join(format!("{}.result.json", job.doc_id));
        let stderr_file = self.scratch.join(format!("{}.stderr", job.doc_id));
        let job_json = serde_json::to_vec(job).map_err(|e| CollectError::unreadable(path, e))?;
        std::fs::write(&job_file, job_json).map_err(|e| CollectError::io(&job_file, e))?;
        let _ = std::fs::remove_file(&result_file);
        let stderr =
            std::fs::File::create(&stderr_file).map_err(|e| CollectError::io(&stderr_file, e))?;

        let mut child = Command::new(&self.program)
            .args(&self.args)
            .arg("--job")
            .arg(&job_file)
            .arg("--result")
            .arg(&result_file)
            .arg("--memory-mib")
            .arg(self.budget.memory_mib.to_string())
            .env("POLARS_MAX_THREADS", "1")
            .env("MALLOC_ARENA_MAX", "2")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| CollectError::io(&self.program, e))?;

        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= self.budget.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    cleanup(&[&job_file, &result_file, &stderr_file]);
                    return Err(CollectError::Timeout {
                        path: path.clone(),
                        secs: self.budget.timeout.as_secs(),
                    });
                }
                Ok(None) => {
                    // Short files finish in milliseconds: poll fast at first, then back off.
                    let waited = started.elapsed();
                    std::thread::sleep(Duration::from_millis(
                        if waited < Duration::from_millis(50) {
                            1
                        } else {
                            20
                        },
                    ));
                }
                Err(e) => return Err(CollectError::io(path, e)),
            }
        };

        let outcome = read_result(&result_file);
        let mut stderr_text = String::new();
        if let Ok(mut f) = std::fs::File::open(&stderr_file) {
            let _ = f.by_ref().take(64 * 1024).read_to_string(&mut stderr_text);
        }
        cleanup(&[&job_file, &result_file, &stderr_file]);
        match outcome {
            Some(WorkerResult::Ok(ex)) => Ok(ex),
            Some(WorkerResult::Err { kind, reason }) => Err(error_of_kind(path, &kind, reason)),
            None => Err(classify_death(
                path,
                status,
                &stderr_text,
                self.budget.memory_mib,
            )),
        }
    }
}

fn read_result(path: &Path) -> Option<WorkerResult> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn cleanup(files: &[&Path]) {
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

fn error_of_kind(path: &Path, kind: &str, reason: String) -> CollectError {
    let path = path.to_path_buf();
    match kind {
        "encrypted" => CollectError::Encrypted {
            path,
            reason: reason
                .strip_prefix("encrypted: ")
                .unwrap_or(&reason)
                .to_string(),
        },
        "crashed" => CollectError::Crashed { path, reason },
        "unsupported" => CollectError::Unsupported { path, ext: None },
        _ => CollectError::Unreadable { path, reason },
    }
}

/// The child died without writing a result: say why in words a user can act on.
fn classify_death(
    path: &Path,
    status: std::process::ExitStatus,
    stderr: &str,
    mib: u64,
) -> CollectError {
    let path = path.to_path_buf();
    if stderr.contains("memory allocation of")
        || stderr.contains("capacity overflow")
        || stderr.contains("out of memory")
    {
        return CollectError::OutOfMemory { path, mib };
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => "SIGABRT",
                9 => "SIGKILL",
                11 => "SIGSEGV",
                7 => "SIGBUS",
                _ => "a signal",
            };
            let reason = if last.is_empty() {
                format!("killed by {name} ({sig})")
            } else {
                format!("killed by {name} ({sig}): {last}")
            };
            return CollectError::Crashed { path, reason };
        }
    }
    CollectError::Crashed {
        path,
        reason: if last.is_empty() {
            format!("worker exited with {status} and no result")
        } else {
            last
        },
    }
}

/// The child's side: apply the memory budget, extract, write the result. Called by the binary's
/// hidden worker subcommand. Returns an error only when the result itself cannot be written.
pub fn run_worker(job_file: &Path, result_file: &Path, memory_mib: u64) -> std::io::Result<()> {
    limit_memory(memory_mib);
    let job: FileJob = serde_json::from_slice(&std::fs::read(job_file)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    // Panics print to stderr by default; the parent reads stderr only when no result exists.
    let outcome = std::panic::catch_unwind(|| extract_job(&job));
    let result = match outcome {
        Ok(Ok(ex)) => WorkerResult::Ok(ex),
        Ok(Err(e)) => WorkerResult::Err {
            kind: e.kind().to_string(),
            reason: e.reason(),
        },
        Err(panic) => WorkerResult::Err {
            kind: "crashed".into(),
            reason: panic_message(&panic),
        },
    };
    let bytes = serde_json::to_vec(&result)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    adopt_core::layout::write_atomic(result_file, &bytes)
}

/// Caps this process's address space so a hostile file makes allocation fail (and the worker
/// die with a clear message) instead of the machine swapping or the OOM killer choosing.
#[allow(unsafe_code)]
fn limit_memory(mib: u64) {
    #[cfg(unix)]
    {
        let bytes = mib.saturating_mul(1024 * 1024);
        let lim = libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: bytes as libc::rlim_t,
        };
        // SAFETY: setrlimit reads a valid, initialised struct and affects only this process.
        unsafe {
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use adopt_core::Format;

    fn job(dir: &Path) -> FileJob {
        FileJob {
            path: dir.join("x.txt"),
            format: Format::Text,
            doc_id: "0123".into(),
            tables_dir: dir.join("tables"),
            ocr: Default::default(),
            time_budget_secs: 0,
        }
    }

    /// A stand-in worker: `sh -c SCRIPT` ignores the job arguments appended after it.
    fn shell(dir: &Path, script: &str, timeout: Duration) -> SubprocessExtractor {
        SubprocessExtractor {
            program: "sh".into(),
            args: vec!["-c".into(), script.into(), "worker".into()],
            budget: Budget {
                timeout,
                memory_mib: 256,
            },
            scratch: dir.join("scratch"),
        }
    }

    #[test]
    fn a_hanging_worker_is_killed_at_the_time_budget() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let err = shell(dir.path(), "sleep 30", Duration::from_millis(300))
            .extract(&job(dir.path()), b"")
            .unwrap_err();
        assert!(matches!(err, CollectError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(err.to_string().contains("x.txt"), "{err}");
    }

    #[test]
    fn deaths_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let oom = shell(
            dir.path(),
            "echo 'memory allocation of 4294967296 bytes failed' >&2; kill -ABRT $$",
            Duration::from_secs(10),
        );
        let err = oom.extract(&job(dir.path()), b"").unwrap_err();
        assert!(
            matches!(err, CollectError::OutOfMemory { mib: 256, .. }),
            "{err}"
        );

        let segv = shell(dir.path(), "kill -SEGV $$", Duration::from_secs(10));
        let err = segv.extract(&job(dir.path()), b"").unwrap_err();
        assert!(err.to_string().contains("SIGSEGV"), "{err}");

        let silent = shell(dir.path(), "exit 3", Duration::from_secs(10));
        let err = silent.extract(&job(dir.path()), b"").unwrap_err();
        assert!(err.to_string().contains("no result"), "{err}");
    }

    #[test]
    fn in_process_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = job(dir.path());
        j.format = Format::Xlsx;
        std::fs::write(&j.path, b"not a workbook").unwrap();
        let err = InProcessExtractor
            .extract(&j, b"not a workbook")
            .unwrap_err();
        assert!(err.to_string().contains("x.txt"), "{err}");
    }
}
