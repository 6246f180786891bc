//! Near-duplicate clusters on real Chinese paragraphs and generated English ones, with planted
//! edits of known extent.

use adopt_clean::{DedupConfig, NearDupDetector};

use crate::{cmrc_contexts, Rng};

/// Replaces about `rate` of the characters (CJK) or words (otherwise) with others.
fn edit(rng: &mut Rng, text: &str, rate: f64) -> String {
    let threshold = (rate * 1000.0) as usize;
    if text.is_ascii() {
        text.split(' ')
            .map(|w| {
                if rng.below(1000) < threshold {
                    "edited"
                } else {
                    w
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text.chars()
            .map(|c| {
                if rng.below(1000) < threshold {
                    '改'
                } else {
                    c
                }
            })
            .collect()
    }
}

#[test]
fn planted_near_duplicates_are_found_and_nothing_else() {
    let Some(contexts) = cmrc_contexts() else {
        return;
    };
    let mut rng = Rng(5);
    let mut texts: Vec<String> = contexts.iter().take(120).cloned().collect();
    // English documents from a small vocabulary: similar style, different content.
    let words = [
        "contract",
        "supplier",
        "approval",
        "budget",
        "the",
        "and",
        "review",
        "quarterly",
        "director",
        "payment",
        "invoice",
        "delivery",
        "term",
        "renewal",
        "policy",
        "risk",
    ];
    for _ in 0..60 {
        let doc: Vec<&str> = (0..120).map(|_| *rng.pick(&words)).collect();
        texts.push(doc.join(" "));
    }
    let originals = texts.len();
    let mut planted = Vec::new();
    for i in (0..originals).step_by(4) {
        planted.push((i, texts.len()));
        let variant = edit(&mut rng, &texts[i], 0.01);
        texts.push(variant);
    }
    let detector = NearDupDetector::new(&DedupConfig::default());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let clusters = detector.clusters(&refs);

    let mut found = Vec::new();
    for c in &clusters {
        for (k, &a) in c.iter().enumerate() {
            for &b in &c[k + 1..] {
                found.push((a, b));
            }
        }
    }
    let hits = planted.iter().filter(|p| found.contains(p)).count();
    let false_pairs = found.iter().filter(|p| !planted.contains(p)).count();
    assert!(
        hits as f64 >= 0.9 * planted.len() as f64,
        "found {hits} of {} planted pairs",
        planted.len()
    );
    assert_eq!(false_pairs, 0, "{found:?}");
}
