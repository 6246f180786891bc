//! The per-document operator trait every cleaning step implements, and what a step reports back.

use crate::CleanedDocument;

/// What one operator decided about one document.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Keep the document; `changed` says whether its text or fields were modified.
    Keep { changed: bool },
    /// Drop the document. `reason` is a short stable code that reports group by
    /// ("too-short"); `detail` explains this document ("12 tokens < 20"). Neither ever holds
    /// document content such as PII values.
    Drop {
        reason: &'static str,
        detail: String,
    },
}

/// A verdict plus the operator's own counters for this document ("lines-joined" -> 14).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub counters: Vec<(String, u64)>,
}

impl Outcome {
    pub fn keep(changed: bool) -> Self {
        Outcome {
            verdict: Verdict::Keep { changed },
            counters: Vec::new(),
        }
    }

    pub fn drop(reason: &'static str, detail: String) -> Self {
        Outcome {
            verdict: Verdict::Drop { reason, detail },
            counters: Vec::new(),
        }
    }

    pub fn with_counter(mut self, name: impl Into<String>, value: u64) -> Self {
        if value > 0 {
            self.counters.push((name.into(), value));
        }
        self
    }
}

/// One cleaning step applied to documents one at a time (in parallel across documents).
/// Corpus-wide steps such as deduplication are not `DocOperator`s: they need every document.
pub trait DocOperator: Send + Sync {
    /// Stable name used in reports and in `CleanedDocument::changed_by`.
    fn name(&self) -> &'static str;

    /// Applies the step, editing the document in place.
    fn apply(&self, doc: &mut CleanedDocument) -> Outcome;
}
