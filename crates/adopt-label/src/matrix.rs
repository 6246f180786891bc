//! The vote matrix (records x functions) and Snorkel's labelling-function summary over it.

use serde::{Deserialize, Serialize};

/// Votes of every function on every record: row `i`, column `j` is function `j`'s label index
/// for record `i`, or `None` where it abstained.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMatrix {
    n_classes: usize,
    functions: Vec<String>,
    /// Row-major; `u16` keeps a million records x 20 functions at 80 MB.
    votes: Vec<Option<u16>>,
}

impl LabelMatrix {
    /// Builds a matrix from rows of votes; every row has one entry per function.
    ///
    /// # Panics
    /// When a row's length differs from `functions.len()` or a vote is `>= n_classes`.
    pub fn from_rows(
        n_classes: usize,
        functions: Vec<String>,
        rows: &[Vec<Option<usize>>],
    ) -> Self {
        let mut votes = Vec::with_capacity(rows.len() * functions.len());
        for row in rows {
            assert_eq!(row.len(), functions.len(), "one vote per function");
            for v in row {
                assert!(v.is_none_or(|v| v < n_classes), "vote out of range");
                votes.push(v.map(|v| v as u16));
            }
        }
        LabelMatrix {
            n_classes,
            functions,
            votes,
        }
    }

    pub fn n_records(&self) -> usize {
        self.votes
            .len()
            .checked_div(self.functions.len())
            .unwrap_or(0)
    }

    pub fn n_functions(&self) -> usize {
        self.functions.len()
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    pub fn function_names(&self) -> &[String] {
        &self.functions
    }

    pub fn get(&self, record: usize, function: usize) -> Option<usize> {
        self.votes[record * self.functions.len() + function].map(usize::from)
    }

    /// One record's votes.
    pub fn row(&self, record: usize) -> impl Iterator<Item = Option<usize>> + '_ {
        let n = self.functions.len();
        self.votes[record * n..(record + 1) * n]
            .iter()
            .map(|v| v.map(usize::from))
    }

    /// Snorkel's `LFAnalysis.lf_summary`: per function, how often it votes, overlaps and
    /// conflicts with the others, and, where `gold` (one entry per record) has labels, how often
    /// it is right.
    pub fn summary(
        &self,
        labels: &[String],
        gold: Option<&[Option<usize>]>,
    ) -> Vec<FunctionSummary> {
        let n = self.n_records();
        let m = self.n_functions();
        let mut out: Vec<FunctionSummary> = self
            .functions
            .iter()
            .map(|name| FunctionSummary {
                name: name.clone(),
                polarity: Vec::new(),
                coverage: 0.0,
                overlaps: 0.0,
                conflicts: 0.0,
                correct: None,
                incorrect: None,
                empirical_accuracy: None,
            })
            .collect();
        let mut counts = vec![[0usize; 3]; m]; // voted, overlapped, conflicted
        let mut polarity = vec![vec![false; self.n_classes]; m];
        let mut right = vec![[0usize; 2]; m]; // correct, incorrect
        for i in 0..n {
            let row: Vec<Option<usize>> = self.row(i).collect();
            let voters = row.iter().filter(|v| v.is_some()).count();
            let g = gold.and_then(|g| g[i]);
            for (j, v) in row.iter().enumerate() {
                let Some(v) = *v else { continue };
                counts[j][0] += 1;
                polarity[j][v] = true;
                if voters > 1 {
                    counts[j][1] += 1;
                }
                if row.iter().any(|o| o.is_some_and(|o| o != v)) {
                    counts[j][2] += 1;
                }
                if let Some(g) = g {
                    right[j][usize::from(g != v)] += 1;
                }
            }
        }
        let frac = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        for (j, s) in out.iter_mut().enumerate() {
            s.polarity = (0..self.n_classes)
                .filter(|&c| polarity[j][c])
                .map(|c| labels.get(c).cloned().unwrap_or_else(|| c.to_string()))
                .collect();
            s.coverage = frac(counts[j][0]);
            s.overlaps = frac(counts[j][1]);
            s.conflicts = frac(counts[j][2]);
            if gold.is_some() {
                let [c, w] = right[j];
                s.correct = Some(c);
                s.incorrect = Some(w);
                s.empirical_accuracy = (c + w > 0).then(|| c as f64 / (c + w) as f64);
            }
        }
        out
    }

    /// Fractions of records with at least one vote, with two or more, and with disagreeing votes.
    pub fn totals(&self) -> MatrixTotals {
        let n = self.n_records();
        let (mut covered, mut overlapped, mut conflicted) = (0, 0, 0);
        for i in 0..n {
            let votes: Vec<usize> = self.row(i).flatten().collect();
            covered += usize::from(!votes.is_empty());
            overlapped += usize::from(votes.len() > 1);
            conflicted += usize::from(votes.iter().any(|&v| v != votes[0]));
        }
        let frac = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        MatrixTotals {
            records: n,
            coverage: frac(covered),
            overlap: frac(overlapped),
            conflict: frac(conflicted),
        }
    }
}

/// One row of the labelling-function summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSummary {
    pub name: String,
    /// Labels the function emitted at least once.
    pub polarity: Vec<String>,
    /// Fraction of records it voted on.
    pub coverage: f64,
    /// Fraction of records it voted on together with at least one other function.
    pub overlaps: f64,
    /// Fraction of records where another function voted a different label.
    pub conflicts: f64,
    /// Votes that matched the gold label (only when gold labels exist).
    pub correct: Option<usize>,
    /// Votes that did not.
    pub incorrect: Option<usize>,
    /// `correct / (correct + incorrect)`, on records with a gold label that it voted on.
    pub empirical_accuracy: Option<f64>,
}

/// Matrix-wide coverage, overlap and conflict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatrixTotals {
    pub records: usize,
    pub coverage: f64,
    pub overlap: f64,
    pub conflict: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_matches_hand_counts() {
        // Four records, three functions.
        let rows = vec![
            vec![Some(0), Some(0), None],
            vec![Some(0), Some(1), None],
            vec![None, None, Some(1)],
            vec![None, None, None],
        ];
        let m = LabelMatrix::from_rows(2, vec!["a".into(), "b".into(), "c".into()], &rows);
        let labels = vec!["x".to_string(), "y".to_string()];
        let gold = vec![Some(0), Some(1), Some(1), None];
        let s = m.summary(&labels, Some(&gold));
        assert_eq!(s[0].coverage, 0.5);
        assert_eq!(s[0].overlaps, 0.5);
        assert_eq!(s[0].conflicts, 0.25);
        assert_eq!(s[0].empirical_accuracy, Some(0.5));
        assert_eq!(s[1].polarity, vec!["x", "y"]);
        assert_eq!(s[1].empirical_accuracy, Some(1.0));
        assert_eq!(s[2].overlaps, 0.0);
        let t = m.totals();
        assert_eq!((t.coverage, t.overlap, t.conflict), (0.75, 0.5, 0.25));
    }
}
