//! Hybrid fusion: one ranking out of the dense and the sparse candidate lists.
//!
//! Fusion happens here rather than inside the index: an index returns tied candidates in
//! whatever order they come, so the same query on two builds of the same documents could fuse
//! differently. Both methods give tied scores the same contribution and order the result by
//! fused score, then chunk id, so a query gives the same ranking on every build and backend.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::index::Hit;

/// How hybrid search combines its dense and sparse candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fusion {
    /// Distribution-based score fusion (Qdrant's DBSF): each list's scores are scaled by the
    /// list's own mean ± 3 standard deviations and the scaled scores are summed. A retriever
    /// that is sure (one score far above its other candidates) outweighs one that is not.
    #[default]
    Dbsf,
    /// Reciprocal rank fusion, `Σ 1 / (k + rank)`: only ranks count, not how far apart the
    /// scores are.
    Rrf,
}

impl Fusion {
    pub const ALL: [Fusion; 2] = [Fusion::Dbsf, Fusion::Rrf];

    pub fn as_str(self) -> &'static str {
        match self {
            Fusion::Dbsf => "dbsf",
            Fusion::Rrf => "rrf",
        }
    }

    pub fn parse(s: &str) -> Option<Fusion> {
        Fusion::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Fuses ranked lists (each ordered best first) into one; `rrf_k` is used by RRF only.
    pub fn fuse(self, lists: &[Vec<Hit>], rrf_k: usize) -> Vec<Hit> {
        match self {
            Fusion::Dbsf => fuse_dbsf(lists),
            Fusion::Rrf => fuse_rrf(lists, rrf_k),
        }
    }
}

impl std::fmt::Display for Fusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reciprocal rank fusion, `score = Σ 1 / (k + rank)` with rank from 0 as in Qdrant, where hits
/// with equal scores in a list share the rank of the first of them.
pub fn fuse_rrf(lists: &[Vec<Hit>], k: usize) -> Vec<Hit> {
    let k = k.max(1) as f64;
    sum_contributions(lists, |list| {
        let mut rank = 0;
        (0..list.len())
            .map(|i| {
                if i > 0 && list[i].score != list[i - 1].score {
                    rank = i;
                }
                1.0 / (k + rank as f64)
            })
            .collect()
    })
}

/// Distribution-based score fusion: in each list, `(score - (μ - 3σ)) / 6σ` with the list's
/// mean μ and population standard deviation σ, summed over lists. A list whose scores are all
/// equal says nothing about order: each of its hits gets 0.5.
pub fn fuse_dbsf(lists: &[Vec<Hit>]) -> Vec<Hit> {
    sum_contributions(lists, |list| {
        let n = list.len() as f64;
        let mean = list.iter().map(|h| f64::from(h.score)).sum::<f64>() / n;
        let var = list
            .iter()
            .map(|h| (f64::from(h.score) - mean).powi(2))
            .sum::<f64>()
            / n;
        let sd = var.sqrt();
        list.iter()
            .map(|h| {
                if sd > 0.0 && sd.is_finite() {
                    (f64::from(h.score) - (mean - 3.0 * sd)) / (6.0 * sd)
                } else {
                    0.5
                }
            })
            .collect()
    })
}

/// Adds up each hit's contributions (from `per_list`, one value per hit of a non-empty list)
/// and orders the result by the sum, then chunk id.
fn sum_contributions(lists: &[Vec<Hit>], per_list: impl Fn(&[Hit]) -> Vec<f64>) -> Vec<Hit> {
    let mut fused: BTreeMap<String, (f64, Hit)> = BTreeMap::new();
    for list in lists.iter().filter(|l| !l.is_empty()) {
        for (h, add) in list.iter().zip(per_list(list)) {
            fused
                .entry(h.chunk_id.clone())
                .and_modify(|e| e.0 += add)
                .or_insert_with(|| (add, h.clone()));
        }
    }
    let mut out: Vec<Hit> = fused
        .into_values()
        .map(|(score, mut h)| {
            h.score = score as f32;
            h
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.chunk_id.cmp(&b.chunk_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, score: f32) -> Hit {
        Hit {
            chunk_id: id.into(),
            doc_id: "d".into(),
            source_path: "p".into(),
            department: None,
            unit: String::new(),
            headings: vec![],
            char_start: 0,
            char_end: 0,
            score,
            text: String::new(),
        }
    }

    fn ids(f: &[Hit]) -> Vec<String> {
        f.iter().map(|h| h.chunk_id.clone()).collect()
    }

    #[test]
    fn rrf_ties_share_a_rank_and_input_order_does_not_matter() {
        let dense = vec![hit("a", 0.9), hit("b", 0.8), hit("c", 0.7)];
        // b and c tie in the sparse list: both rank 1, whichever order the index gave.
        let sparse1 = vec![hit("a", 3.0), hit("b", 1.0), hit("c", 1.0)];
        let sparse2 = vec![hit("a", 3.0), hit("c", 1.0), hit("b", 1.0)];
        let f1 = fuse_rrf(&[dense.clone(), sparse1], 60);
        let f2 = fuse_rrf(&[dense, sparse2], 60);
        assert_eq!(ids(&f1), vec!["a", "b", "c"]);
        assert_eq!(ids(&f1), ids(&f2));
        assert_eq!(
            f1.iter().map(|h| h.score).collect::<Vec<_>>(),
            f2.iter().map(|h| h.score).collect::<Vec<_>>()
        );
        // a: first in both lists.
        assert!((f1[0].score - (2.0 / 60.0) as f32).abs() < 1e-7);
        // c: rank 2 in dense, rank 1 (tied) in sparse.
        assert!((f1[2].score - (1.0 / 62.0 + 1.0 / 61.0) as f32).abs() < 1e-7);
    }

    #[test]
    fn dbsf_lets_a_confident_list_win_where_rrf_splits_the_vote() {
        // Dense barely prefers x over y; BM25 is sure about y.
        let dense = vec![
            hit("x", 0.82),
            hit("y", 0.81),
            hit("z", 0.80),
            hit("w", 0.79),
        ];
        let sparse = vec![hit("y", 30.0), hit("x", 5.0), hit("z", 4.0), hit("w", 3.0)];
        let lists = [dense, sparse];
        // Ranks alone: x and y both get 1/60 + 1/61, so the tie goes to the smaller id.
        assert_eq!(ids(&fuse_rrf(&lists, 60))[..2], ["x", "y"]);
        let fused = fuse_dbsf(&lists);
        assert_eq!(ids(&fused)[0], "y");
        // Each list contributes (s - (μ - 3σ)) / 6σ: the mean of a list maps to 0.5.
        let mean_contrib = |l: &[Hit], id: &str| {
            let n = l.len() as f64;
            let m = l.iter().map(|h| f64::from(h.score)).sum::<f64>() / n;
            let sd = (l
                .iter()
                .map(|h| (f64::from(h.score) - m).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            let s = f64::from(l.iter().find(|h| h.chunk_id == id).unwrap().score);
            (s - (m - 3.0 * sd)) / (6.0 * sd)
        };
        let want = mean_contrib(&lists[0], "y") + mean_contrib(&lists[1], "y");
        assert!((f64::from(fused[0].score) - want).abs() < 1e-6);
    }

    #[test]
    fn dbsf_is_order_independent_and_handles_flat_and_empty_lists() {
        let dense = vec![hit("a", 0.9), hit("b", 0.5)];
        // All-equal BM25 scores carry no order: 0.5 each, dense decides.
        let flat1 = vec![hit("b", 2.0), hit("a", 2.0), hit("c", 2.0)];
        let flat2 = vec![hit("c", 2.0), hit("a", 2.0), hit("b", 2.0)];
        let f1 = fuse_dbsf(&[dense.clone(), flat1]);
        let f2 = fuse_dbsf(&[dense.clone(), flat2]);
        assert_eq!(ids(&f1), vec!["a", "b", "c"]);
        assert_eq!(ids(&f1), ids(&f2));
        assert_eq!(f1[2].score, 0.5);
        // An empty list (no keyword in common) leaves the dense order.
        assert_eq!(ids(&fuse_dbsf(&[dense, Vec::new()])), vec!["a", "b"]);
        assert!(fuse_dbsf(&[]).is_empty());
    }
}
