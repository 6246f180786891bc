//! Hybrid fusion: one ranking out of the dense and the sparse candidate lists.
//!
//! Fusion happens here rather than inside the index: an index returns tied candidates in
//! whatever order they come, so the same query on two builds of the same documents could fuse
//! differently. Both methods give tied scores the same contribution and order the result by
//! fused score, then chunk id, so a query gives the same ranking on every build and backend.
//!
//! The default, [`Fusion::Confidence`], is DBSF with each list weighted by how sure it is of
//! this query: plain DBSF adds a weak list (BM25 when the question paraphrases its passage) at
//! full weight and can lose to dense search alone; weighting by the top hit's standing lets the
//! fused list follow whichever input is sure. `benches/kb_cmrc.rs` measures all three on
//! passage-worded and paraphrased questions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::index::Hit;

/// How hybrid search combines its dense and sparse candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fusion {
    /// DBSF with each list weighted by its confidence for this query: how many standard
    /// deviations its best score stands above the mean of its candidates. A list whose top hit
    /// does not stand out (BM25 when few keywords match) counts for less, so the fused ranking
    /// falls back to the list that is sure instead of averaging with one that is guessing.
    #[default]
    Confidence,
    /// Distribution-based score fusion (Qdrant's DBSF): each list's scores are scaled by the
    /// list's own mean ± 3 standard deviations and the scaled scores are summed at equal
    /// weight.
    Dbsf,
    /// Reciprocal rank fusion, `Σ 1 / (k + rank)`: only ranks count, not how far apart the
    /// scores are.
    Rrf,
}

impl Fusion {
    pub const ALL: [Fusion; 3] = [Fusion::Confidence, Fusion::Dbsf, Fusion::Rrf];

    pub fn as_str(self) -> &'static str {
        match self {
            Fusion::Confidence => "confidence",
            Fusion::Dbsf => "dbsf",
            Fusion::Rrf => "rrf",
        }
    }

    pub fn parse(s: &str) -> Option<Fusion> {
        Fusion::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The accepted names, for messages: `confidence, dbsf or rrf`.
    pub fn names() -> String {
        let names: Vec<&str> = Fusion::ALL.iter().map(|f| f.as_str()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

    /// Fuses ranked lists (each ordered best first) into one; `rrf_k` is used by RRF only.
    pub fn fuse(self, lists: &[Vec<Hit>], rrf_k: usize) -> Vec<Hit> {
        match self {
            Fusion::Confidence => fuse_confidence(lists),
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
    sum_contributions(lists, |_, list| {
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
    sum_contributions(lists, |_, list| ScoreSpread::of(list).dbsf(list))
}

/// DBSF weighted by confidence: each list's DBSF contributions are multiplied by
/// [`list_confidence`], the z-score of its best hit. A list whose scores are all equal (one
/// hit included) cannot say how sure it is: it gets the mean weight of the lists that can,
/// so it counts as DBSF counts it, and with no such list this is plain DBSF.
pub fn fuse_confidence(lists: &[Vec<Hit>]) -> Vec<Hit> {
    let confidence: Vec<Option<f64>> = lists.iter().map(|l| list_confidence(l)).collect();
    let known: Vec<f64> = confidence.iter().flatten().copied().collect();
    let neutral = if known.is_empty() {
        1.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    sum_contributions(lists, |i, list| {
        let w = confidence[i].unwrap_or(neutral);
        ScoreSpread::of(list)
            .dbsf(list)
            .into_iter()
            .map(|c| w * c)
            .collect()
    })
}

/// How sure one ranked list is of its top hit: `(best - mean) / sd` over its candidates, or
/// `None` when its scores are all equal (or it is empty) and say nothing about order.
pub fn list_confidence(list: &[Hit]) -> Option<f64> {
    let spread = ScoreSpread::of(list);
    let best = list.iter().map(|h| f64::from(h.score)).reduce(f64::max)?;
    spread.usable().then(|| (best - spread.mean) / spread.sd)
}

/// Mean and population standard deviation of a list's scores.
struct ScoreSpread {
    mean: f64,
    sd: f64,
}

impl ScoreSpread {
    fn of(list: &[Hit]) -> ScoreSpread {
        let n = list.len() as f64;
        let mean = list.iter().map(|h| f64::from(h.score)).sum::<f64>() / n;
        let var = list
            .iter()
            .map(|h| (f64::from(h.score) - mean).powi(2))
            .sum::<f64>()
            / n;
        ScoreSpread {
            mean,
            sd: var.sqrt(),
        }
    }

    fn usable(&self) -> bool {
        self.sd > 0.0 && self.sd.is_finite()
    }

    /// Each hit's `(score - (μ - 3σ)) / 6σ`, or 0.5 each for a flat list.
    fn dbsf(&self, list: &[Hit]) -> Vec<f64> {
        list.iter()
            .map(|h| {
                if self.usable() {
                    (f64::from(h.score) - (self.mean - 3.0 * self.sd)) / (6.0 * self.sd)
                } else {
                    0.5
                }
            })
            .collect()
    }
}

/// Adds up each hit's contributions (from `per_list(i, list)`, one value per hit, called for
/// the non-empty lists) and orders the result by the sum, then chunk id.
fn sum_contributions(lists: &[Vec<Hit>], per_list: impl Fn(usize, &[Hit]) -> Vec<f64>) -> Vec<Hit> {
    let mut fused: BTreeMap<String, (f64, Hit)> = BTreeMap::new();
    for (i, list) in lists.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
        for (h, add) in list.iter().zip(per_list(i, list)) {
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

    #[test]
    fn confidence_follows_the_sure_list_where_dbsf_follows_the_unsure_one() {
        // Dense is sure of x: one score well above ten alike. BM25 (a paraphrased question, few
        // keywords in common) ranks y first by a little, in an evenly spread list without x.
        let mut dense = vec![hit("x", 0.90)];
        dense.extend((0..10).map(|i| hit(&format!("d{i}"), 0.80)));
        dense[5] = hit("y", 0.80);
        let mut sparse = vec![hit("y", 5.0)];
        sparse.extend((1..10).map(|i| hit(&format!("d{i}"), 5.0 - 0.1 * i as f32)));
        let lists = [dense.clone(), sparse.clone()];
        assert_eq!(ids(&fuse_dbsf(&lists))[0], "y");
        let fused = fuse_confidence(&lists);
        assert_eq!(ids(&fused)[0], "x");
        // The weights are the lists' own z-scores of their best hit.
        let wd = list_confidence(&dense).unwrap();
        let ws = list_confidence(&sparse).unwrap();
        assert!(wd > ws && ws > 1.0, "{wd} {ws}");
        let contrib = |l: &[Hit], id: &str| {
            let d = fuse_dbsf(std::slice::from_ref(&l.to_vec()));
            d.iter()
                .find(|h| h.chunk_id == id)
                .map_or(0.0, |h| f64::from(h.score))
        };
        let want_y = wd * contrib(&dense, "y") + ws * contrib(&sparse, "y");
        let got_y = fused.iter().find(|h| h.chunk_id == "y").unwrap().score;
        assert!((f64::from(got_y) - want_y).abs() < 1e-5, "{got_y} {want_y}");

        // The other way round, a sure BM25 list wins over a dense list that is not sure.
        let unsure_dense: Vec<Hit> = (0..10)
            .map(|i| hit(&format!("d{i}"), 0.85 - 0.001 * i as f32))
            .collect();
        let mut sure_sparse = vec![hit("d7", 20.0)];
        sure_sparse.extend((0..7).map(|i| hit(&format!("d{i}"), 2.0)));
        assert_eq!(ids(&fuse_confidence(&[unsure_dense, sure_sparse]))[0], "d7");
    }

    #[test]
    fn confidence_with_flat_empty_and_reordered_lists() {
        let dense = vec![hit("a", 0.9), hit("b", 0.5)];
        // A flat list cannot say how sure it is: it counts as DBSF counts it.
        let flat1 = vec![hit("b", 2.0), hit("a", 2.0), hit("c", 2.0)];
        let flat2 = vec![hit("c", 2.0), hit("a", 2.0), hit("b", 2.0)];
        assert_eq!(list_confidence(&flat1), None);
        assert_eq!(list_confidence(&[]), None);
        let f1 = fuse_confidence(&[dense.clone(), flat1.clone()]);
        assert_eq!(ids(&f1), ids(&fuse_dbsf(&[dense.clone(), flat1])));
        assert_eq!(ids(&f1), ids(&fuse_confidence(&[dense.clone(), flat2])));
        assert_eq!(ids(&f1), vec!["a", "b", "c"]);
        // One list alone, or beside an empty one, keeps its order.
        let three = vec![hit("p", 3.0), hit("q", 2.0), hit("r", 1.0)];
        assert_eq!(
            ids(&fuse_confidence(&[Vec::new(), three.clone()])),
            vec!["p", "q", "r"]
        );
        assert!(fuse_confidence(&[]).is_empty());
        // Ties inside a list and the order the index gave them do not change the result.
        let tied1 = vec![hit("a", 3.0), hit("b", 1.0), hit("c", 1.0)];
        let tied2 = vec![hit("a", 3.0), hit("c", 1.0), hit("b", 1.0)];
        assert_eq!(
            fuse_confidence(&[three.clone(), tied1])
                .iter()
                .map(|h| (h.chunk_id.clone(), h.score))
                .collect::<Vec<_>>(),
            fuse_confidence(&[three, tied2])
                .iter()
                .map(|h| (h.chunk_id.clone(), h.score))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(Fusion::names(), "confidence, dbsf or rrf");
        for f in Fusion::ALL {
            assert_eq!(Fusion::parse(f.as_str()), Some(f));
            let toml: Fusion = serde_json::from_value(serde_json::json!(f.as_str())).unwrap();
            assert_eq!(toml, f);
        }
        assert_eq!(Fusion::default(), Fusion::Confidence);
        assert_eq!(Fusion::parse("bogus"), None);
    }
}
