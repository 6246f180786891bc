//! The label model on synthetic voters whose accuracies are known: Dawid–Skene must recover the
//! true labels better than majority vote.

use adopt_label::{argmax, DawidSkene, LabelMatrix, MajorityVote};

use crate::Rng;

/// Three classes with imbalance 60/30/10 and five voters of accuracy 0.9, 0.8, 0.7, 0.6, 0.55
/// (when they vote). The best voter abstains 60 % of the time and the second 30 %; the last
/// voter copies the fourth's vote a quarter of the time (correlated errors, which Dawid–Skene's
/// independence assumption does not model); wrong votes lean towards the majority class.
///
/// Measured margins shrink as the copying grows: at 0.1 Dawid–Skene leads by 0.03-0.04, at 0.25
/// by 0.01-0.04, and at 0.5 it *loses* (0.69 vs 0.79): two functions that mostly repeat each
/// other look like two reliable witnesses. Declare near-duplicate functions once.
fn synthetic(seed: u64, n: usize) -> (LabelMatrix, Vec<usize>) {
    let mut rng = Rng(seed);
    let prior = [0.6, 0.3, 0.1];
    let accuracy = [0.9, 0.8, 0.7, 0.6, 0.55];
    let abstain = [0.6, 0.3, 0.1, 0.0, 0.0];
    let mut truth = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let y = rng.pick(&prior);
        truth.push(y);
        let mut row: Vec<Option<usize>> = Vec::with_capacity(5);
        for j in 0..5 {
            if j == 4 && rng.unit() < 0.25 {
                row.push(row[3]);
                continue;
            }
            if rng.unit() < abstain[j] {
                row.push(None);
                continue;
            }
            let vote = if rng.unit() < accuracy[j] {
                y
            } else {
                // A wrong label, twice as likely the majority class as the other one.
                let others: Vec<usize> = (0..3).filter(|&c| c != y).collect();
                let weights: Vec<f64> = others
                    .iter()
                    .map(|&c| if c == 0 { 2.0 } else { 1.0 })
                    .collect();
                others[rng.pick(&weights)]
            };
            row.push(Some(vote));
        }
        rows.push(row);
    }
    let names = (1..=5).map(|j| format!("voter-{j}")).collect();
    (LabelMatrix::from_rows(3, names, &rows), truth)
}

fn accuracy(p: &[Vec<f64>], truth: &[usize]) -> f64 {
    p.iter().zip(truth).filter(|(p, &y)| argmax(p) == y).count() as f64 / truth.len() as f64
}

#[test]
fn dawid_skene_beats_majority_vote_on_noisy_voters() {
    let mut margins = Vec::new();
    for seed in [1, 2, 3, 4, 5] {
        let (matrix, truth) = synthetic(seed, 3000);
        let mv = accuracy(&MajorityVote.predict(&matrix).probabilities, &truth);
        let model = DawidSkene::default().fit(&matrix);
        let ds = accuracy(&model.predict_proba(&matrix), &truth);
        assert!(model.fit.converged, "seed {seed}: {:?}", model.fit);
        assert!(
            ds > mv + 0.005,
            "seed {seed}: Dawid–Skene {ds:.3} vs majority vote {mv:.3}"
        );
        // It also learns who is reliable: voter 1 ranks above voter 5.
        let acc = &model.fit.function_accuracy;
        assert!(acc[0] > 0.8 && acc[0] > acc[4], "seed {seed}: {acc:?}");
        let prior = &model.fit.class_prior;
        assert!(
            (prior[0] - 0.6).abs() < 0.08,
            "seed {seed}: prior {prior:?}"
        );
        margins.push(ds - mv);
    }
    let mean = margins.iter().sum::<f64>() / margins.len() as f64;
    assert!(mean > 0.025, "mean margin {mean:.3} ({margins:?})");
}

#[test]
fn probabilities_are_calibrated_enough_to_rank() {
    // Records the model is sure about are right more often than those it is not.
    let (matrix, truth) = synthetic(11, 3000);
    let p = DawidSkene::default().fit(&matrix).predict_proba(&matrix);
    let (mut sure, mut unsure) = ((0, 0), (0, 0));
    for (p, &y) in p.iter().zip(&truth) {
        let best = argmax(p);
        let bucket = if p[best] >= 0.9 {
            &mut sure
        } else {
            &mut unsure
        };
        bucket.0 += usize::from(best == y);
        bucket.1 += 1;
    }
    let rate = |(a, n): (usize, usize)| a as f64 / n.max(1) as f64;
    assert!(rate(sure) > rate(unsure) + 0.1, "{sure:?} vs {unsure:?}");
    assert!(rate(sure) > 0.9, "{sure:?}");
}
