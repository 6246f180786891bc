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
