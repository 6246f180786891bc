//! Progress reporting without printing: libraries call a [`Reporter`], the binary draws it.

/// Receives progress from long-running work. Only the `adopt` binary implements it for a
/// terminal (with indicatif); libraries and tests use [`NoopReporter`] or their own.
pub trait Reporter: Send + Sync {
    /// Work of `total` items named `what` begins.
    fn start(&self, _what: &str, _total: u64) {}
    /// One item finished; `item` names it (a file path, a batch).
    fn advance(&self, _item: &str) {}
    /// Something worth telling the user that does not stop the work.
    fn warn(&self, _message: &str) {}
    /// The work of the last `start` is over.
    fn finish(&self) {}
}

/// A reporter that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopReporter;

impl Reporter for NoopReporter {}

/// A reporter that keeps the warnings it is given, for callers (and tests) that show or check
/// them afterwards; progress is dropped.
#[derive(Debug, Default)]
pub struct WarningLog(std::sync::Mutex<Vec<String>>);

impl WarningLog {
    /// The warnings so far, in the order they came.
    pub fn warnings(&self) -> Vec<String> {
        self.0.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

impl Reporter for WarningLog {
    fn warn(&self, message: &str) {
        if let Ok(mut w) = self.0.lock() {
            w.push(message.to_owned());
        }
    }
}
