//! CMRC 2018 (Chinese machine reading comprehension) as a retrieval test set: every passage
//! becomes a document, every question an evaluation query whose answer must come back from its
//! own passage. Used by the integration tests and the benchmark.

use std::path::Path;

use adopt_core::{ContentHash, Document, Format};
use serde::Deserialize;

use crate::error::{KbError, Result};
use crate::eval::EvalQuery;

#[derive(Debug, Deserialize)]
struct Item {
    context_id: String,
    context_text: String,
    #[serde(default)]
    title: Option<String>,
    qas: Vec<Qa>,
}

#[derive(Debug, Deserialize)]
struct Qa {
    query_text: String,
    answers: Vec<String>,
}

/// Passages as documents and questions as queries.
#[derive(Debug, Clone)]
pub struct CmrcSet {
    pub documents: Vec<Document>,
    pub queries: Vec<EvalQuery>,
}

/// Reads a CMRC 2018 JSON file (a list of `{context_id, context_text, title, qas}`), keeping the
/// first `limit` passages when given. Source paths are `cmrc2018/<context_id>.txt` and each
/// query's `doc` names that file.
pub fn load_cmrc(path: &Path, limit: Option<usize>) -> Result<CmrcSet> {
    let bytes = std::fs::read(path).map_err(|e| KbError::io(path, e))?;
    let items: Vec<Item> = serde_json::from_slice(&bytes).map_err(|e| KbError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut documents = Vec::new();
    let mut queries = Vec::new();
    for item in items.into_iter().take(limit.unwrap_or(usize::MAX)) {
        let file = format!("{}.txt", item.context_id);
        let hash = ContentHash::of(item.context_text.as_bytes());
        documents.push(Document {
            doc_id: hash.doc_id(),
            source_path: format!("cmrc2018/{file}"),
            department: Some("cmrc2018".into()),
            format: Format::Text,
            title: item.title.filter(|t| !t.trim().is_empty()),
            author: None,
            created: None,
            page_count: 1,
            byte_size: item.context_text.len() as u64,
            text: item.context_text,
            unit_labels: vec![String::new()],
            encoding: Some("UTF-8".into()),
            modified_ms: 0,
            content_hash: hash.hex(),
            warnings: vec![],
            tables: vec![],
        });
        for qa in item.qas {
            let answers: Vec<String> = qa
                .answers
                .into_iter()
                .filter(|a| !a.trim().is_empty())
                .collect();
            if answers.is_empty() {
                continue;
            }
            queries.push(EvalQuery {
                question: qa.query_text,
                answers,
                doc: Some(file.clone()),
                relevant: vec![],
            });
        }
    }
    Ok(CmrcSet { documents, queries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_trial_file() {
        let path = std::env::current_dir()
            .expect("cargo runs tests and benches in the package folder")
            .join("../../../shared/corpus/zh/cmrc2018_trial.json");
        if !path.is_file() {
            // The shared corpus sits beside the checkout; say so rather than pass silently.
            panic!("missing {}", path.display());
        }
        let set = load_cmrc(&path, Some(3)).unwrap();
        assert_eq!(set.documents.len(), 3);
        assert_eq!(set.documents[0].source_path, "cmrc2018/TRIAL_800.txt");
        assert!(set.queries.len() >= 3);
        assert_eq!(set.queries[0].doc.as_deref(), Some("TRIAL_800.txt"));
        assert_eq!(set.queries[0].answers, vec!["踢爆"]);
        let all = load_cmrc(&path, None).unwrap();
        assert_eq!(all.documents.len(), 256);
    }
}
