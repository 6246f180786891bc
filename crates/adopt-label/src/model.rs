//! Label models: turn the vote matrix into one probability distribution over labels per record.
//!
//! [`MajorityVote`] is the baseline. [`DawidSkene`] (Dawid & Skene 1979, "Maximum likelihood
//! estimation of observer error-rates using the EM algorithm") learns, without any gold label,
//! a confusion matrix per function and the class priors, so that accurate functions outweigh
//! noisy ones. Abstaining is modelled as one more output of each function: most rules only ever
//! vote for one label, and for them *not firing* is the only evidence about the other labels.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::matrix::LabelMatrix;

/// Which label model combines the votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Dawid-Skene once enough records carry votes to learn per-function confusion matrices
    /// ([`AUTO_MIN_COVERED`]), majority vote below that: on a handful of records EM lets the class
    /// prior swallow every record into one label.
    #[default]
    Auto,
    /// Each vote counts once.
    Majority,
    /// Per-function confusion matrices learnt with EM.
    DawidSkene,
}

/// Records with at least one vote that `ModelKind::Auto` needs before it trusts Dawid-Skene.
pub const AUTO_MIN_COVERED: usize = 200;

/// Settings of the label model, `[label.model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct LabelModelConfig {
    /// "auto" (default: Dawid-Skene from 200 covered records, majority vote below),
    /// "dawid-skene" or "majority".
    pub kind: ModelKind,
    /// Most EM iterations before giving up on convergence.
    pub max_iterations: usize,
    /// EM stops when the log-likelihood per record changes by less than this.
    pub tolerance: f64,
    /// Pseudo-count added to every cell of every confusion matrix (Dirichlet smoothing), so a
    /// function never seen to err is not trusted absolutely.
    pub smoothing: f64,
    /// Pseudo-count added to every class when estimating class priors.
    pub prior_smoothing: f64,
    /// Treat abstaining as an output whose rate may depend on the true label (see module docs).
    /// Turn off when functions abstain at random, e.g. annotators who skip items.
    pub abstain_as_vote: bool,
}

impl Default for LabelModelConfig {
    fn default() -> Self {
        LabelModelConfig {
            kind: ModelKind::Auto,
            max_iterations: 200,
            tolerance: 1e-7,
            smoothing: 1.0,
            prior_smoothing: 1.0,
            abstain_as_vote: true,
        }
    }
}

impl LabelModelConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        if self.max_iterations == 0 {
            errors.push("model.max-iterations must be at least 1".into());
        }
        if self.tolerance.is_nan() || self.tolerance <= 0.0 {
            errors.push(format!("model.tolerance {} must be > 0", self.tolerance));
        }
        if self.smoothing.is_nan() || self.smoothing < 0.0 {
            errors.push(format!("model.smoothing {} must be >= 0", self.smoothing));
        }
        if self.prior_smoothing.is_nan() || self.prior_smoothing < 0.0 {
            errors.push(format!(
                "model.prior-smoothing {} must be >= 0",
                self.prior_smoothing
            ));
        }
    }
}

/// What fitting a label model learnt, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFit {
    pub kind: ModelKind,
    /// EM iterations run (0 for majority vote).
    pub iterations: usize,
    /// Whether EM met the tolerance before `max-iterations`.
    pub converged: bool,
    /// Final log-likelihood of the votes (Dawid–Skene only).
    pub log_likelihood: Option<f64>,
    /// Estimated share of each label, in label order.
    pub class_prior: Vec<f64>,
    /// Estimated accuracy of each function when it votes, in function order (Dawid–Skene only).
    pub function_accuracy: Vec<f64>,
}

/// Probabilities per record (rows sum to 1) plus what the model learnt.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub probabilities: Vec<Vec<f64>>,
    pub fit: ModelFit,
}

/// Fits the configured model and predicts every record of `matrix`.
pub fn fit_predict(config: &LabelModelConfig, matrix: &LabelMatrix) -> Prediction {
    let kind = match config.kind {
        ModelKind::Auto => {
            let covered = (0..matrix.n_records())
                .filter(|&r| matrix.row(r).any(|v| v.is_some()))
                .count();
            if covered >= AUTO_MIN_COVERED {
                ModelKind::DawidSkene
            } else {
                ModelKind::Majority
            }
        }
        k => k,
    };
    match kind {
        ModelKind::Auto | ModelKind::Majority => MajorityVote.predict(matrix),
        ModelKind::DawidSkene => {
            let model = DawidSkene::from_config(config).fit(matrix);
            let probabilities = model.predict_proba(matrix);
            Prediction {
                probabilities,
                fit: model.fit,
            }
        }
    }
}

/// Index of the largest entry; ties go to the earlier index.
pub fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// Majority vote: a record's probabilities are the shares of votes each label got; records
/// without votes get the overall vote shares. Ties in the argmax then go to the label voted for
/// most across the whole matrix, rather than to whichever label happens to come first.
#[derive(Debug, Clone, Copy, Default)]
pub struct MajorityVote;

impl MajorityVote {
    pub fn predict(&self, matrix: &LabelMatrix) -> Prediction {
        let k = matrix.n_classes();
        let mut overall = vec![0f64; k];
        for i in 0..matrix.n_records() {
            for v in matrix.row(i).flatten() {
                overall[v] += 1.0;
            }
        }
        let total: f64 = overall.iter().sum();
        let class_prior: Vec<f64> = if total > 0.0 {
            overall.iter().map(|c| c / total).collect()
        } else {
            vec![1.0 / k as f64; k]
        };
        // A tiny nudge by the prior breaks ties without changing any non-tied order.
        let probabilities = (0..matrix.n_records())
            .map(|i| {
                let mut p = vec![0f64; k];
                let mut n = 0.0;
                for v in matrix.row(i).flatten() {
                    p[v] += 1.0;
                    n += 1.0;
                }
                if n == 0.0 {
                    return class_prior.clone();
                }
                for (c, x) in p.iter_mut().enumerate() {
                    *x = (*x + 1e-9 * class_prior[c]) / (n + 1e-9);
                }
                p
            })
            .collect();
        Prediction {
            probabilities,
            fit: ModelFit {
                kind: ModelKind::Majority,
                iterations: 0,
                converged: true,
                log_likelihood: None,
                class_prior,
                function_accuracy: Vec::new(),
            },
        }
    }
}

/// Dawid–Skene EM settings; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DawidSkene {
    pub max_iterations: usize,
    pub tolerance: f64,
    pub smoothing: f64,
    pub prior_smoothing: f64,
    pub abstain_as_vote: bool,
}

impl Default for DawidSkene {
    fn default() -> Self {
        DawidSkene::from_config(&LabelModelConfig::default())
    }
}

/// A fitted Dawid–Skene model.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedDawidSkene {
    /// log P(y = k).
    log_prior: Vec<f64>,
    /// `[function][true class][output]`, output `k` = abstain; log probabilities.
    log_confusion: Vec<Vec<Vec<f64>>>,
    abstain_as_vote: bool,
    pub fit: ModelFit,
}

/// Distinct rows of the matrix with their multiplicities: real vote matrices have few distinct
/// rows, so EM runs over patterns instead of records.
struct Patterns {
    rows: Vec<Vec<Option<usize>>>,
    counts: Vec<f64>,
    /// Pattern index of every record.
    of_record: Vec<usize>,
}

impl Patterns {
    fn new(matrix: &LabelMatrix) -> Self {
        let mut index: HashMap<Vec<Option<usize>>, usize> = HashMap::new();
        let mut rows = Vec::new();
        let mut counts = Vec::new();
        let mut of_record = Vec::with_capacity(matrix.n_records());
        for i in 0..matrix.n_records() {
            let row: Vec<Option<usize>> = matrix.row(i).collect();
            let p = *index.entry(row.clone()).or_insert_with(|| {
                rows.push(row);
                counts.push(0.0);
                rows.len() - 1
            });
            counts[p] += 1.0;
            of_record.push(p);
        }
        Patterns {
            rows,
            counts,
            of_record,
        }
    }
}

impl DawidSkene {
    pub fn from_config(config: &LabelModelConfig) -> Self {
        DawidSkene {
            max_iterations: config.max_iterations,
            tolerance: config.tolerance,
            smoothing: config.smoothing,
            prior_smoothing: config.prior_smoothing,
            abstain_as_vote: config.abstain_as_vote,
        }
    }

    /// Runs EM, initialised from majority vote (soft vote shares), which anchors each learnt
    /// class to the label the functions meant and so avoids EM's label-switching solutions.
    pub fn fit(&self, matrix: &LabelMatrix) -> FittedDawidSkene {
        let k = matrix.n_classes();
        let m = matrix.n_functions();
        let patterns = Patterns::new(matrix);
        let n: f64 = patterns.counts.iter().sum();
        let mv = MajorityVote.predict(matrix);
        // Posterior per pattern: every record of a pattern has the same majority-vote shares.
        let mut posterior: Vec<Vec<f64>> = vec![Vec::new(); patterns.rows.len()];
        for (i, &p) in patterns.of_record.iter().enumerate() {
            if posterior[p].is_empty() {
                posterior[p] = mv.probabilities[i].clone();
            }
        }
        let mut model = FittedDawidSkene {
            log_prior: vec![0.0; k],
            log_confusion: vec![vec![vec![0.0; k + 1]; k]; m],
            abstain_as_vote: self.abstain_as_vote,
            fit: ModelFit {
                kind: ModelKind::DawidSkene,
                iterations: 0,
                converged: false,
                log_likelihood: None,
                class_prior: Vec::new(),
                function_accuracy: Vec::new(),
            },
        };
        let mut previous = f64::NEG_INFINITY;
        for iteration in 1..=self.max_iterations {
            self.m_step(&patterns, &posterior, &mut model);
            let ll = model.e_step(&patterns.rows, &mut posterior, &patterns.counts);
            model.fit.iterations = iteration;
            model.fit.log_likelihood = Some(ll);
            if n > 0.0 && ((ll - previous) / n).abs() < self.tolerance {
                model.fit.converged = true;
                break;
            }
            previous = ll;
        }
        model.fit.class_prior = model.log_prior.iter().map(|l| l.exp()).collect();
        model.fit.function_accuracy = (0..m)
            .map(|j| {
                let (mut right, mut voted) = (0.0, 0.0);
                for (c, lp) in model.log_prior.iter().enumerate() {
                    let row = &model.log_confusion[j][c];
                    let pc = lp.exp();
                    right += pc * row[c].exp();
                    voted += pc * (0..k).map(|o| row[o].exp()).sum::<f64>();
                }
                if voted > 0.0 {
                    right / voted
                } else {
                    0.0
                }
            })
            .collect();
        model
    }

    fn m_step(&self, patterns: &Patterns, posterior: &[Vec<f64>], model: &mut FittedDawidSkene) {
        let k = model.log_prior.len();
        let mut class_mass = vec![self.prior_smoothing; k];
        for (p, post) in posterior.iter().enumerate() {
            for (mass, q) in class_mass.iter_mut().zip(post) {
                *mass += patterns.counts[p] * q;
            }
        }
        let total: f64 = class_mass.iter().sum();
        for (lp, mass) in model.log_prior.iter_mut().zip(&class_mass) {
            *lp = (mass / total).max(f64::MIN_POSITIVE).ln();
        }
        let outputs = if self.abstain_as_vote { k + 1 } else { k };
        for (j, confusion) in model.log_confusion.iter_mut().enumerate() {
            let mut counts = vec![vec![self.smoothing; outputs]; k];
            for (p, row) in patterns.rows.iter().enumerate() {
                let out = match row[j] {
                    Some(v) => v,
                    None if self.abstain_as_vote => k,
                    None => continue,
                };
                for c in 0..k {
                    counts[c][out] += patterns.counts[p] * posterior[p][c];
                }
            }
            for c in 0..k {
                let sum: f64 = counts[c].iter().sum();
                for o in 0..outputs {
                    confusion[c][o] = if sum > 0.0 {
                        (counts[c][o] / sum).max(f64::MIN_POSITIVE).ln()
                    } else {
                        -(outputs as f64).ln()
                    };
                }
            }
        }
    }
}

impl FittedDawidSkene {
    /// Unnormalised log posterior of each class for one row of votes.
    fn log_joint(&self, row: &[Option<usize>]) -> Vec<f64> {
        let k = self.log_prior.len();
        (0..k)
            .map(|c| {
                let mut l = self.log_prior[c];
                for (j, v) in row.iter().enumerate() {
                    match v {
                        Some(v) => l += self.log_confusion[j][c][*v],
                        None if self.abstain_as_vote => l += self.log_confusion[j][c][k],
                        None => {}
                    }
                }
                l
            })
            .collect()
    }

    /// Fills `posterior` and returns the log-likelihood of all records.
    fn e_step(
        &self,
        rows: &[Vec<Option<usize>>],
        posterior: &mut [Vec<f64>],
        counts: &[f64],
    ) -> f64 {
        let mut ll = 0.0;
        for (p, row) in rows.iter().enumerate() {
            let lj = self.log_joint(row);
            let z = log_sum_exp(&lj);
            ll += counts[p] * z;
            posterior[p] = lj.iter().map(|l| (l - z).exp()).collect();
        }
        ll
    }

    /// Posterior label probabilities of every record of `matrix` (which must have the columns
    /// the model was fitted on).
    pub fn predict_proba(&self, matrix: &LabelMatrix) -> Vec<Vec<f64>> {
        let patterns = Patterns::new(matrix);
        let mut posterior = vec![Vec::new(); patterns.rows.len()];
        self.e_step(&patterns.rows, &mut posterior, &patterns.counts);
        patterns
            .of_record
            .iter()
            .map(|&p| posterior[p].clone())
            .collect()
    }
}

fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Shannon entropy in nats.
pub fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&x| x > 0.0)
        .map(|x| x * x.ln())
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[&[Option<usize>]], k: usize) -> LabelMatrix {
        let m = rows[0].len();
        let rows: Vec<Vec<Option<usize>>> = rows.iter().map(|r| r.to_vec()).collect();
        LabelMatrix::from_rows(k, (0..m).map(|j| format!("f{j}")).collect(), &rows)
    }

    #[test]
    fn majority_vote_shares_and_ties() {
        let m = matrix(
            &[
                &[Some(1), Some(1), Some(0)],
                &[Some(0), Some(1), None],
                &[None, None, None],
                &[Some(1), None, None],
            ],
            2,
        );
        let p = MajorityVote.predict(&m);
        assert!((p.probabilities[0][1] - 2.0 / 3.0).abs() < 1e-6);
        // Label 1 has 4 of 6 votes overall, so the tie in row 1 goes to it.
        assert_eq!(argmax(&p.probabilities[1]), 1);
        assert!((p.probabilities[2][1] - 4.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn dawid_skene_probabilities_are_distributions_and_converge() {
        let m = matrix(
            &[
                &[Some(0), Some(0), None],
                &[Some(1), Some(1), Some(1)],
                &[Some(0), Some(1), Some(0)],
                &[None, Some(1), Some(1)],
                &[Some(0), None, Some(0)],
            ],
            2,
        );
        let model = DawidSkene::default().fit(&m);
        assert!(model.fit.converged, "{:?}", model.fit);
        for p in model.predict_proba(&m) {
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        assert_eq!(argmax(&model.predict_proba(&m)[1]), 1);
        assert!((model.fit.class_prior.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn entropy_of_uniform_is_ln_k() {
        assert!((entropy(&[0.25; 4]) - 4f64.ln()).abs() < 1e-12);
        assert_eq!(entropy(&[1.0, 0.0]), 0.0);
    }
}
