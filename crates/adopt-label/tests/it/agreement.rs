//! Agreement statistics checked against published worked examples.

use adopt_label::{agreement, cohen_kappa, fleiss_kappa, krippendorff_alpha_nominal, Annotation};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Wikipedia, "Cohen's kappa", worked example: 50 proposals, both readers say yes to 20, A yes
/// and B no 5, A no and B yes 10, both no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
#[test]
fn cohen_kappa_wikipedia_example() {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (x, y, n) in [(0, 0, 20), (0, 1, 5), (1, 0, 10), (1, 1, 15)] {
        a.extend(std::iter::repeat_n(x, n));
        b.extend(std::iter::repeat_n(y, n));
    }
    let k = cohen_kappa(&a, &b, 2).unwrap();
    assert!(close(k, 0.4, 1e-12), "{k}");

    // The same through annotations, by name.
    let annotations: Vec<Annotation> = a
        .iter()
        .zip(&b)
        .enumerate()
        .flat_map(|(i, (&x, &y))| {
            let yes_no = |v: usize| if v == 0 { "yes" } else { "no" }.to_string();
            [
                Annotation {
                    record_id: i.to_string(),
                    annotator: "A".into(),
                    label: yes_no(x),
                },
                Annotation {
                    record_id: i.to_string(),
                    annotator: "B".into(),
                    label: yes_no(y),
                },
            ]
        })
        .collect();
    let report = agreement(&annotations, &["yes".into(), "no".into()]);
    assert_eq!(report.cohen_kappa.len(), 1);
    assert_eq!(report.cohen_kappa[0].items, 50);
    assert!(close(report.cohen_kappa[0].kappa.unwrap(), 0.4, 1e-12));
}

/// Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories;
/// p_j = 0.143 0.200 0.279 0.150 0.229, P-bar = 0.378, P-bar-e = 0.213, kappa = 0.210.
const FLEISS_TABLE: [[usize; 5]; 10] = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
];

#[test]
fn fleiss_kappa_wikipedia_example() {
    let counts: Vec<Vec<usize>> = FLEISS_TABLE.iter().map(|r| r.to_vec()).collect();
    let f = fleiss_kappa(&counts).unwrap();
    assert!(close(f.kappa.unwrap(), 0.210, 5e-4), "{f:?}");
    assert!(close(f.observed, 0.378, 5e-4));
    assert!(close(f.expected, 0.213, 5e-4));
    for (p, want) in f
        .category_share
        .iter()
        .zip([0.143, 0.200, 0.279, 0.150, 0.229])
    {
        assert!(close(*p, want, 5e-4), "{p} vs {want}");
    }

    // The same table as 140 annotations by 14 raters; rater names differ per subject, as
    // Fleiss' kappa does not need the same raters on every subject.
    let labels: Vec<String> = (1..=5).map(|c| format!("c{c}")).collect();
    let mut annotations = Vec::new();
    for (s, row) in FLEISS_TABLE.iter().enumerate() {
        let mut rater = 0;
        for (c, &n) in row.iter().enumerate() {
            for _ in 0..n {
                annotations.push(Annotation {
                    record_id: format!("subject-{s}"),
                    annotator: format!("r{rater}"),
                    label: labels[c].clone(),
                });
                rater += 1;
            }
        }
    }
    let report = agreement(&annotations, &labels);
    assert!(close(report.fleiss_kappa.unwrap(), 0.210, 5e-4));
    assert_eq!(report.items_multiply_annotated, 10);
    assert_eq!(report.per_label.len(), 5);
    // Per-category kappa, Fleiss (1971) eq. 13, by hand for category 1: its counts per subject
    // are 0 0 0 0 2 7 3 2 6 0, so sum_i n_i1 (14 - n_i1) = 24 + 49 + 33 + 24 + 48 = 178 and
    // kappa_1 = 1 - 178 / (N n (n - 1) p_1 q_1) with p_1 = 20/140.
    let p1 = 20.0 / 140.0;
    let k1 = 1.0 - 178.0 / (10.0 * 14.0 * 13.0 * p1 * (1.0 - p1));
    assert!(close(report.per_label[0].fleiss_kappa.unwrap(), k1, 1e-9));
}

/// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: nominal data,
/// four observers, twelve units, missing values; alpha = 0.743.
#[test]
fn krippendorff_alpha_2011_example() {
    const M: u8 = 0; // missing
    let table: [[u8; 12]; 4] = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, M, M, M],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, M, 3],
        [M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, M],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, M],
    ];
    let units: Vec<Vec<usize>> = (0..12)
        .map(|u| {
            table
                .iter()
                .map(|obs| obs[u])
                .filter(|&v| v != M)
                .map(|v| usize::from(v - 1))
                .collect()
        })
        .collect();
    let alpha = krippendorff_alpha_nominal(&units, 5).unwrap();
    assert!(close(alpha, 0.743, 5e-4), "{alpha}");

    let mut annotations = Vec::new();
    for (o, obs) in table.iter().enumerate() {
        for (u, &v) in obs.iter().enumerate() {
            if v != M {
                annotations.push(Annotation {
                    record_id: format!("u{u}"),
                    annotator: ["A", "B", "C", "D"][o].into(),
                    label: v.to_string(),
                });
            }
        }
    }
    let labels: Vec<String> = (1..=5).map(|v| v.to_string()).collect();
    let report = agreement(&annotations, &labels);
    assert!(close(report.krippendorff_alpha.unwrap(), 0.743, 5e-4));
    // Unit 12 has one value and cannot be paired.
    assert_eq!(report.items_multiply_annotated, 11);
    assert_eq!(
        report.cohen_kappa.len(),
        6,
        "every pair of the four observers"
    );
}
