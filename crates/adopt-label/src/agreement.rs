//! Inter-annotator agreement: Cohen's kappa (pairs of annotators), Fleiss' kappa (many raters
//! per item) and Krippendorff's alpha (nominal, tolerant of missing ratings), overall and per
//! label. Values near 0 mean chance agreement; labels with low agreement need clearer guidelines
//! before their annotations are used as gold.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One human judgement: `annotator` gave `record_id` the label `label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    pub record_id: String,
    pub annotator: String,
    pub label: String,
}

/// Cohen's kappa of two raters over the same items (`a[i]` and `b[i]` rate item `i`);
/// `None` when chance agreement is 1 (both raters always used one and the same label) or there
/// are no items.
pub fn cohen_kappa(a: &[usize], b: &[usize], n_classes: usize) -> Option<f64> {
    assert_eq!(a.len(), b.len(), "paired ratings");
    let n = a.len() as f64;
    if a.is_empty() {
        return None;
    }
    let mut pa = vec![0f64; n_classes];
    let mut pb = vec![0f64; n_classes];
    let mut agree = 0.0;
    for (&x, &y) in a.iter().zip(b) {
        pa[x] += 1.0;
        pb[y] += 1.0;
        agree += f64::from(u8::from(x == y));
    }
    let po = agree / n;
    let pe: f64 = pa.iter().zip(&pb).map(|(x, y)| x / n * y / n).sum();
    (pe < 1.0).then(|| (po - pe) / (1.0 - pe))
}

/// Fleiss' kappa and what it is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleissKappa {
    pub kappa: Option<f64>,
    /// Mean observed agreement over items, P-bar.
    pub observed: f64,
    /// Agreement expected by chance, P-bar-e.
    pub expected: f64,
    /// Share of all ratings given to each category, p_j.
    pub category_share: Vec<f64>,
    /// Kappa of each category against all others (Fleiss 1971, eq. 13), `None` for a category
    /// never or always used.
    pub per_category: Vec<Option<f64>>,
}

/// Fleiss' kappa from a subjects x categories table of rating counts. Items may have different
/// numbers of raters (items with fewer than two are skipped): observed agreement per item uses
/// its own count, as in the usual generalisation.
pub fn fleiss_kappa(counts: &[Vec<usize>]) -> Option<FleissKappa> {
    let rows: Vec<&Vec<usize>> = counts
        .iter()
        .filter(|r| r.iter().sum::<usize>() >= 2)
        .collect();
    let k = counts.first()?.len();
    if rows.is_empty() {
        return None;
    }
    let n_items = rows.len() as f64;
    let total: f64 = rows.iter().map(|r| r.iter().sum::<usize>() as f64).sum();
    let mut share = vec![0f64; k];
    let mut observed = 0.0;
    // Σ_i n_ij (n_i - n_ij) / (n_i (n_i - 1)) per category, for the per-category kappas.
    let mut disagreement = vec![0f64; k];
    for r in &rows {
        let ni = r.iter().sum::<usize>() as f64;
        let mut agree = 0.0;
        for (j, &c) in r.iter().enumerate() {
            let c = c as f64;
            share[j] += c / total;
            agree += c * (c - 1.0);
            disagreement[j] += c * (ni - c) / (ni * (ni - 1.0));
        }
        observed += agree / (ni * (ni - 1.0)) / n_items;
    }
    let expected: f64 = share.iter().map(|p| p * p).sum();
    let kappa = (expected < 1.0).then(|| (observed - expected) / (1.0 - expected));
    let per_category = (0..k)
        .map(|j| {
            let pq = share[j] * (1.0 - share[j]);
            (pq > 0.0).then(|| 1.0 - disagreement[j] / (n_items * pq))
        })
        .collect();
    Some(FleissKappa {
        kappa,
        observed,
        expected,
        category_share: share,
        per_category,
    })
}

/// Krippendorff's alpha for nominal data. `units[u]` holds the values given to unit `u` by the
/// raters who rated it (missing ratings simply absent); units with one value are not pairable
/// and are skipped. Follows the coincidence-matrix computation of Krippendorff (2011),
/// "Computing Krippendorff's alpha-reliability".
pub fn krippendorff_alpha_nominal(units: &[Vec<usize>], n_classes: usize) -> Option<f64> {
    let mut coincidence = vec![vec![0f64; n_classes]; n_classes];
    for values in units.iter().filter(|v| v.len() >= 2) {
        let m = values.len() as f64;
        for (i, &a) in values.iter().enumerate() {
            for (j, &b) in values.iter().enumerate() {
                if i != j {
                    coincidence[a][b] += 1.0 / (m - 1.0);
                }
            }
        }
    }
    let marginals: Vec<f64> = coincidence.iter().map(|r| r.iter().sum()).collect();
    let n: f64 = marginals.iter().sum();
    if n <= 1.0 {
        return None;
    }
    let mut observed = 0.0;
    let mut expected = 0.0;
    for c in 0..n_classes {
        for k in 0..n_classes {
            if c != k {
                observed += coincidence[c][k];
                expected += marginals[c] * marginals[k];
            }
        }
    }
    (expected > 0.0).then(|| 1.0 - (n - 1.0) * observed / expected)
}

/// Cohen's kappa of one pair of annotators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairwiseKappa {
    pub annotator_a: String,
    pub annotator_b: String,
    /// Items both annotated.
    pub items: usize,
    pub kappa: Option<f64>,
}

/// Agreement on one label, treating annotations as "this label" versus "any other".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAgreement {
    pub label: String,
    /// Annotations that gave this label.
    pub annotations: usize,
    pub fleiss_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
}

/// Agreement over a set of annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementReport {
    pub annotations: usize,
    pub annotators: Vec<String>,
    /// Items with at least two annotations (the only ones agreement can be measured on).
    pub items_multiply_annotated: usize,
    /// Mean share of agreeing annotator pairs per item.
    pub observed_agreement: Option<f64>,
    pub cohen_kappa: Vec<PairwiseKappa>,
    pub fleiss_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    pub per_label: Vec<LabelAgreement>,
}

/// Computes every statistic over `annotations`. `labels` fixes the label order; labels found in
/// the annotations but not in `labels` are appended. When an annotator labelled an item twice,
/// the later annotation counts.
pub fn agreement(annotations: &[Annotation], labels: &[String]) -> AgreementReport {
    let mut label_names: Vec<String> = labels.to_vec();
    for a in annotations {
        if !label_names.contains(&a.label) {
            label_names.push(a.label.clone());
        }
    }
    let label_index = |l: &str| {
        label_names
            .iter()
            .position(|x| x == l)
            .expect("added above")
    };
    let k = label_names.len();
    // item -> annotator -> label
    let mut items: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for a in annotations {
        items
            .entry(a.record_id.as_str())
            .or_default()
            .insert(a.annotator.as_str(), label_index(&a.label));
    }
    let annotators: BTreeSet<&str> = annotations.iter().map(|a| a.annotator.as_str()).collect();
    let annotators: Vec<&str> = annotators.into_iter().collect();

    let mut cohen = Vec::new();
    for (i, a) in annotators.iter().enumerate() {
        for b in &annotators[i + 1..] {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for ratings in items.values() {
                if let (Some(&x), Some(&y)) = (ratings.get(a), ratings.get(b)) {
                    xs.push(x);
                    ys.push(y);
                }
            }
            if !xs.is_empty() {
                cohen.push(PairwiseKappa {
                    annotator_a: (*a).to_owned(),
                    annotator_b: (*b).to_owned(),
                    items: xs.len(),
                    kappa: cohen_kappa(&xs, &ys, k),
                });
            }
        }
    }

    let units: Vec<Vec<usize>> = items
        .values()
        .map(|r| r.values().copied().collect())
        .collect();
    let counts: Vec<Vec<usize>> = units
        .iter()
        .map(|u| {
            let mut c = vec![0; k];
            u.iter().for_each(|&v| c[v] += 1);
            c
        })
        .collect();
    let fleiss = fleiss_kappa(&counts);
    let per_label = (0..k)
        .map(|c| {
            let binary: Vec<Vec<usize>> = units
                .iter()
                .map(|u| u.iter().map(|&v| usize::from(v == c)).collect())
                .collect();
            LabelAgreement {
                label: label_names[c].clone(),
                annotations: units.iter().flatten().filter(|&&v| v == c).count(),
                fleiss_kappa: fleiss.as_ref().and_then(|f| f.per_category[c]),
                krippendorff_alpha: krippendorff_alpha_nominal(&binary, 2),
            }
        })
        .collect();
    AgreementReport {
        annotations: annotations.len(),
        annotators: annotators.iter().map(|a| (*a).to_owned()).collect(),
        items_multiply_annotated: units.iter().filter(|u| u.len() >= 2).count(),
        observed_agreement: fleiss.as_ref().map(|f| f.observed),
        cohen_kappa: cohen,
        fleiss_kappa: fleiss.as_ref().and_then(|f| f.kappa),
        krippendorff_alpha: krippendorff_alpha_nominal(&units, k),
        per_label,
    }
}

/// The label most annotators gave each item, with its share of the item's annotations; items
/// whose top labels tie are left out (they need adjudication, not a coin flip).
pub fn consensus(annotations: &[Annotation]) -> BTreeMap<String, (String, f64)> {
    let mut items: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for a in annotations {
        items
            .entry(a.record_id.as_str())
            .or_default()
            .insert(a.annotator.as_str(), a.label.as_str());
    }
    let mut out = BTreeMap::new();
    for (id, ratings) in items {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for label in ratings.values() {
            *votes.entry(label).or_default() += 1;
        }
        let best = votes.values().copied().max().unwrap_or(0);
        let mut top = votes.iter().filter(|(_, &c)| c == best);
        if let (Some((label, _)), None) = (top.next(), top.next()) {
            out.insert(
                id.to_owned(),
                ((*label).to_owned(), best as f64 / ratings.len() as f64),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_chance_agreement() {
        assert_eq!(cohen_kappa(&[0, 1, 2], &[0, 1, 2], 3), Some(1.0));
        assert_eq!(cohen_kappa(&[0, 0], &[0, 0], 2), None);
        // Krippendorff: everyone agrees on two different values -> 1.
        assert_eq!(
            krippendorff_alpha_nominal(&[vec![0, 0], vec![1, 1, 1]], 2),
            Some(1.0)
        );
    }

    #[test]
    fn consensus_skips_ties() {
        let a = |r: &str, who: &str, l: &str| Annotation {
            record_id: r.into(),
            annotator: who.into(),
            label: l.into(),
        };
        let c = consensus(&[
            a("1", "x", "hr"),
            a("1", "y", "hr"),
            a("1", "z", "finance"),
            a("2", "x", "hr"),
            a("2", "y", "finance"),
        ]);
        assert_eq!(c.len(), 1);
        assert_eq!(c["1"].0, "hr");
        assert!((c["1"].1 - 2.0 / 3.0).abs() < 1e-12);
    }
}
