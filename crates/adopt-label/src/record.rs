//! The unit that gets labelled: a cleaned document or a knowledge-base chunk, reduced to what
//! labelling functions look at.

use std::collections::BTreeMap;

use adopt_core::{Document, Format};
use serde::{Deserialize, Serialize};

/// One record to label. Documents convert with `From<&Document>`; KB chunks fill the same fields
/// (the chunk id as `id`, the parent document's path, department and format).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    /// Stable id (a `doc_id` or a chunk id); annotations are matched back on it.
    pub id: String,
    /// The text labelling functions and annotators read.
    pub text: String,
    /// Department the record belongs to, where known.
    pub department: Option<String>,
    /// Format of the source file, where known.
    pub format: Option<Format>,
    /// Path of the source file.
    pub source_path: String,
    /// Anything else (title, author, a known category column); metadata conditions and the
    /// gold-label key look here.
    pub metadata: BTreeMap<String, String>,
}

impl LabelRecord {
    /// A record with only an id and a text.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        LabelRecord {
            id: id.into(),
            text: text.into(),
            ..LabelRecord::default()
        }
    }

    /// The file name of [`LabelRecord::source_path`] (what QA sets name as `doc`).
    pub fn file_name(&self) -> &str {
        self.source_path
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&self.source_path)
    }
}

impl From<&Document> for LabelRecord {
    fn from(doc: &Document) -> Self {
        let mut metadata = BTreeMap::new();
        for (key, value) in [
            ("title", &doc.title),
            ("author", &doc.author),
            ("created", &doc.created),
        ] {
            if let Some(value) = value {
                metadata.insert(key.to_owned(), value.clone());
            }
        }
        LabelRecord {
            id: doc.doc_id.clone(),
            text: doc.text.clone(),
            department: doc.department.clone(),
            format: Some(doc.format),
            source_path: doc.source_path.clone(),
            metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_handles_both_separators() {
        let mut r = LabelRecord::new("1", "x");
        r.source_path = "a/b/报告.pdf".into();
        assert_eq!(r.file_name(), "报告.pdf");
        r.source_path = r"c:\x\y.txt".into();
        assert_eq!(r.file_name(), "y.txt");
        r.source_path = "plain.md".into();
        assert_eq!(r.file_name(), "plain.md");
    }
}
