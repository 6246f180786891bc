//! Retrieval evaluation: does the knowledge base return a passage that answers the question?
//!
//! Input is JSONL, one query a line: `{"question": ..., "answers": [...], "doc": "file.pdf"}`
//! scores hit@k and MRR (a hit is a chunk containing an answer string, ignoring whitespace, and
//! from `doc` when given); `{"question": ..., "relevant": [chunk or doc ids]}` scores nDCG@10.
//! Other fields (`id`, `context`, ...) are what public and in-house QA sets carry: they are
//! ignored, with one warning per file naming them.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use adopt_core::{Embedder, Reporter};
use serde::{Deserialize, Serialize};

use crate::error::{KbError, Result};
use crate::index::{Hit, SearchMode};
use crate::kb::{KnowledgeBase, Query};

/// Ranks evaluated; the deepest is how many chunks each query retrieves.
pub const HIT_KS: [usize; 4] = [1, 3, 5, 10];

/// One evaluation query. A data file, not our configuration: unknown fields are ignored (see
/// [`read_eval_queries`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalQuery {
    pub question: String,
    /// Answer strings; a chunk containing one (whitespace-insensitive) answers the question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// Source file name (or path) the answer must come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Relevant chunk ids or doc ids, for nDCG.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relevant: Vec<String>,
}

/// Fields of [`EvalQuery`]; any other field of a query line is ignored.
const QUERY_FIELDS: [&str; 4] = ["question", "answers", "doc", "relevant"];

/// Reads queries from JSONL; blank lines are skipped, a bad line is an error naming it. Fields
/// other than those of [`EvalQuery`] are ignored, and `reporter` is told once which ones.
pub fn read_eval_queries(path: &Path, reporter: &dyn Reporter) -> Result<Vec<EvalQuery>> {
    let text = std::fs::read_to_string(path).map_err(|e| KbError::io(path, e))?;
    let bad_line = |line: usize, reason: String| KbError::EvalInput {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut out = Vec::new();
    let mut ignored = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad_line(i + 1, e.to_string()))?;
        if let Some(fields) = value.as_object() {
            ignored.extend(
                fields
                    .keys()
                    .filter(|k| !QUERY_FIELDS.contains(&k.as_str()))
                    .cloned(),
            );
        }
        let q: EvalQuery =
            serde_json::from_value(value).map_err(|e| bad_line(i + 1, e.to_string()))?;
        if q.answers.is_empty() && q.relevant.is_empty() {
            return Err(bad_line(i + 1, "needs \"answers\" or \"relevant\"".into()));
        }
        out.push(q);
    }
    if !ignored.is_empty() {
        let names: Vec<String> = ignored.iter().map(|f| format!("`{f}`")).collect();
        reporter.warn(&format!(
            "{}: ignored fields {} (queries use {})",
            path.display(),
            names.join(", "),
            QUERY_FIELDS.join(", ")
        ));
    }
    Ok(out)
}

pub fn write_eval_queries(path: &Path, queries: &[EvalQuery]) -> Result<()> {
    let mut s = String::new();
    for q in queries {
        s.push_str(&serde_json::to_string(q).expect("plain struct serialises"));
        s.push('\n');
    }
    adopt_core::layout::write_atomic(path, s.as_bytes()).map_err(|e| KbError::io(path, e))
}

/// Figures of one evaluation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub mode: SearchMode,
    pub queries: usize,
    /// Queries with answer strings (scored by hit@k and MRR).
    pub answer_queries: usize,
    pub hit_at_1: f64,
    pub hit_at_3: f64,
    pub hit_at_5: f64,
    pub hit_at_10: f64,
    /// Mean reciprocal rank of the first answering chunk within the top 10.
    pub mrr: f64,
    /// Queries with relevance labels (scored by nDCG@10).
    pub relevance_queries: usize,
    pub ndcg_at_10: Option<f64>,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether `source_path` names the file `doc` (a bare name matches the last path component).
pub fn same_source(source_path: &str, doc: &str) -> bool {
    let norm = |s: &str| s.replace('\\', "/");
    let (sp, d) = (norm(source_path), norm(doc));
    sp == d || sp.rsplit('/').next() == Some(d.as_str()) || sp.ends_with(&format!("/{d}"))
}

/// Whether a retrieved chunk answers the query.
pub fn answers(hit: &Hit, q: &EvalQuery) -> bool {
    if let Some(doc) = &q.doc {
        if !same_source(&hit.source_path, doc) {
            return false;
        }
    }
    let text = squash(&hit.text);
    q.answers
        .iter()
        .map(|a| squash(a))
        .any(|a| !a.is_empty() && text.contains(&a))
}

/// 1-based rank of the first `true`, if any.
pub fn first_hit_rank(hits: &[bool]) -> Option<usize> {
    hits.iter().position(|&h| h).map(|p| p + 1)
}

/// nDCG@k with binary gains. `relevant_found[i]` is whether the i-th result is relevant and not
/// already counted; `n_relevant` is how many relevant items exist.
pub fn ndcg_at(k: usize, relevant_found: &[bool], n_relevant: usize) -> f64 {
    let dcg: f64 = relevant_found
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, &r)| r)
        .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
        .sum();
    let ideal: f64 = (0..n_relevant.min(k))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    if ideal == 0.0 {
        0.0
    } else {
        dcg / ideal
    }
}

/// Relevance flags for nDCG: a result counts when its chunk id or doc id is listed and that id
/// was not counted higher up (several chunks of one relevant document count once).
pub fn relevance_flags(hits: &[Hit], relevant: &[String]) -> Vec<bool> {
    let mut used = std::collections::HashSet::new();
    hits.iter()
        .map(|h| {
            let id = if relevant.contains(&h.chunk_id) {
                &h.chunk_id
            } else if relevant.contains(&h.doc_id) {
                &h.doc_id
            } else {
                return false;
            };
            used.insert(id.clone())
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Accumulates per-query outcomes into an [`EvalReport`]; also used by the benchmark for
/// baselines that do not go through a [`KnowledgeBase`].
#[derive(Debug, Default)]
pub struct EvalTally {
    queries: usize,
    answer_queries: usize,
    hits: [usize; 4],
    rr_sum: f64,
    relevance_queries: usize,
    ndcg_sum: f64,
    latencies_ms: Vec<f64>,
}

impl EvalTally {
    /// Records one query: `answered[i]` says whether result i answers it.
    pub fn add_answers(&mut self, answered: &[bool]) {
        self.answer_queries += 1;
        if let Some(r) = first_hit_rank(&answered[..answered.len().min(10)]) {
            for (n, k) in self.hits.iter_mut().zip(HIT_KS) {
                if r <= k {
                    *n += 1;
                }
            }
            self.rr_sum += 1.0 / r as f64;
        }
    }

    pub fn add_relevance(&mut self, flags: &[bool], n_relevant: usize) {
        self.relevance_queries += 1;
        self.ndcg_sum += ndcg_at(10, flags, n_relevant);
    }

    pub fn add_latency(&mut self, ms: f64) {
        self.queries += 1;
        self.latencies_ms.push(ms);
    }

    pub fn report(mut self, mode: SearchMode) -> EvalReport {
        self.latencies_ms.sort_by(f64::total_cmp);
        let a = self.answer_queries.max(1) as f64;
        EvalReport {
            mode,
            queries: self.queries,
            answer_queries: self.answer_queries,
            hit_at_1: self.hits[0] as f64 / a,
            hit_at_3: self.hits[1] as f64 / a,
            hit_at_5: self.hits[2] as f64 / a,
            hit_at_10: self.hits[3] as f64 / a,
            mrr: self.rr_sum / a,
            relevance_queries: self.relevance_queries,
            ndcg_at_10: (self.relevance_queries > 0)
                .then(|| self.ndcg_sum / self.relevance_queries as f64),
            latency_p50_ms: percentile(&self.latencies_ms, 0.5),
            latency_p99_ms: percentile(&self.latencies_ms, 0.99),
        }
    }
}

/// Runs every query against the knowledge base and scores the results.
pub fn evaluate(
    kb: &KnowledgeBase,
    queries: &[EvalQuery],
    mode: SearchMode,
    embedder: Option<&dyn Embedder>,
) -> Result<EvalReport> {
    let mut tally = EvalTally::default();
    let k = HIT_KS[HIT_KS.len() - 1];
    for q in queries {
        let t = Instant::now();
        let hits = kb.query(&Query::new(q.question.clone(), k, mode), embedder)?;
        tally.add_latency(t.elapsed().as_secs_f64() * 1e3);
        if !q.answers.is_empty() {
            let answered: Vec<bool> = hits.iter().map(|h| answers(h, q)).collect();
            tally.add_answers(&answered);
        }
        if !q.relevant.is_empty() {
            tally.add_relevance(&relevance_flags(&hits, &q.relevant), q.relevant.len());
        }
    }
    Ok(tally.report(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(chunk: &str, doc: &str, path: &str, text: &str) -> Hit {
        Hit {
            chunk_id: chunk.into(),
            doc_id: doc.into(),
            source_path: path.into(),
            department: None,
            unit: String::new(),
            headings: vec![],
            char_start: 0,
            char_end: 0,
            score: 0.0,
            text: text.into(),
        }
    }

    use adopt_core::WarningLog as Warnings;

    #[test]
    fn query_files_with_extra_fields_are_read_with_one_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qa.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"id": "q1", "question": "额度多少？", "answers": ["五十万元"], "context": "授信额度五十万元"}"#,
                "\n\n",
                r#"{"id": 2, "question": "Who signs?", "relevant": ["doc-1"], "meta": {"src": "x"}}"#,
                "\n",
            ),
        )
        .unwrap();
        let warnings = Warnings::default();
        let qs = read_eval_queries(&path, &warnings).unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].answers, vec!["五十万元".to_string()]);
        assert_eq!(qs[1].relevant, vec!["doc-1".to_string()]);
        let warnings = warnings.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("qa.jsonl"), "{}", warnings[0]);
        assert!(
            warnings[0].contains("`context`, `id`, `meta`"),
            "{}",
            warnings[0]
        );

        // Known fields are still checked, and a file of only known fields warns of nothing.
        std::fs::write(&path, r#"{"question": "?", "answers": "not a list"}"#).unwrap();
        let err = read_eval_queries(&path, &Warnings::default()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        std::fs::write(&path, r#"{"question": "?", "answers": ["a"]}"#).unwrap();
        let quiet = Warnings::default();
        read_eval_queries(&path, &quiet).unwrap();
        assert!(quiet.warnings().is_empty());
    }

    #[test]
    fn answer_match_ignores_whitespace_and_checks_doc() {
        let q = EvalQuery {
            question: "?".into(),
            answers: vec!["4 分钟".into()],
            doc: Some("b.txt".into()),
            relevant: vec![],
        };
        assert!(answers(&hit("1", "d", "x/b.txt", "则4分钟内不得"), &q));
        assert!(!answers(&hit("1", "d", "x/a.txt", "则4分钟内不得"), &q));
        assert!(!answers(&hit("1", "d", "x/ab.txt", "则4分钟内不得"), &q));
        assert!(!answers(&hit("1", "d", "b.txt", "则5分钟"), &q));
    }

    #[test]
    fn hit_at_k_and_mrr_by_hand() {
        let mut t = EvalTally::default();
        t.add_answers(&[false, false, true]); // rank 3
        t.add_answers(&[true]); // rank 1
        t.add_answers(&[false; 10]); // miss
        t.add_answers(&[false, false, false, false, false, true]); // rank 6
        let r = t.report(SearchMode::Hybrid);
        assert_eq!(r.answer_queries, 4);
        assert_eq!(r.hit_at_1, 0.25);
        assert_eq!(r.hit_at_3, 0.5);
        assert_eq!(r.hit_at_5, 0.5);
        assert_eq!(r.hit_at_10, 0.75);
        assert!((r.mrr - (1.0 / 3.0 + 1.0 + 1.0 / 6.0) / 4.0).abs() < 1e-12);
        assert_eq!(r.ndcg_at_10, None);
    }

    #[test]
    fn ndcg_by_hand() {
        // Relevant at ranks 1 and 3 of 2 relevant: (1 + 1/log2 4) / (1 + 1/log2 3).
        let want = (1.0 + 0.5) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at(10, &[true, false, true], 2) - want).abs() < 1e-12);
        assert_eq!(ndcg_at(10, &[true, true], 2), 1.0);
        assert_eq!(ndcg_at(10, &[false], 1), 0.0);
        // Two chunks of one relevant doc count once.
        let hits = [
            hit("c1", "d1", "a", ""),
            hit("c2", "d1", "a", ""),
            hit("c3", "d2", "b", ""),
        ];
        assert_eq!(
            relevance_flags(&hits, &["d1".into(), "c3".into()]),
            vec![true, false, true]
        );
    }

    #[test]
    fn jsonl_round_trip_and_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.jsonl");
        let qs = vec![EvalQuery {
            question: "谁？".into(),
            answers: vec!["我".into()],
            doc: None,
            relevant: vec![],
        }];
        write_eval_queries(&p, &qs).unwrap();
        assert_eq!(
            read_eval_queries(&p, &adopt_core::NoopReporter).unwrap(),
            qs
        );
        std::fs::write(
            &p,
            "{\"question\":\"a\",\"answers\":[\"b\"]}\n\n{\"question\":\"c\"}\n",
        )
        .unwrap();
        let err = read_eval_queries(&p, &adopt_core::NoopReporter)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }
}
