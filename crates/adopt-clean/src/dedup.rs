//! Exact duplicates by a hash of the normalised text, near duplicates by MinHash + LSH over
//! CJK-aware shingles.
//!
//! Shingles: the text is split into tokens (each CJK character is one token, each run of other
//! letters/digits one lower-cased word) and a shingle is `n` consecutive tokens, with `n =
//! cjk-ngram` (character n-grams) when most tokens are CJK and `n = word-ngram` (word shingles)
//! otherwise. Candidate pairs from the LSH bands are verified against the MinHash estimate of
//! their Jaccard similarity before they join a cluster, so a chance band collision does not merge
//! two unrelated documents.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use crate::script::{tokens, Token};

/// Settings of deduplication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct DedupConfig {
    /// Drop exact duplicates: documents whose text is equal once case and whitespace are ignored.
    pub exact: bool,
    /// Drop near duplicates found with MinHash + LSH.
    pub near: bool,
    /// Estimated Jaccard similarity of the shingle sets at or above which two documents are near
    /// duplicates (0..=1). 0.7 is Data-Juicer's default; with 5-character shingles one changed
    /// character in a hundred already lowers the similarity to about 0.9.
    pub threshold: f64,
    /// Number of MinHash permutations; more is more accurate and slower.
    pub num_perm: usize,
    /// Shingle size in tokens for CJK-dominant text (character n-grams).
    pub cjk_ngram: usize,
    /// Shingle size in tokens for other text (word n-grams).
    pub word_ngram: usize,
    /// Seed of the MinHash permutations; fixed so that runs are reproducible.
    pub seed: u64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            exact: true,
            near: true,
            threshold: 0.7,
            num_perm: 128,
            cjk_ngram: 5,
            word_ngram: 3,
            seed: 42,
        }
    }
}

impl DedupConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            errors.push(format!(
                "dedup.threshold must be within (0, 1], got {}",
                self.threshold
            ));
        }
        if !(2..=1024).contains(&self.num_perm) {
            errors.push(format!(
                "dedup.num-perm must be within 2..=1024, got {}",
                self.num_perm
            ));
        }
        if self.cjk_ngram == 0 || self.word_ngram == 0 {
            errors.push("dedup.cjk-ngram and dedup.word-ngram must be at least 1".into());
        }
    }
}

/// Key for exact deduplication: 128-bit hash of the text lower-cased, without whitespace and
/// unit separators (so re-paginated or re-wrapped copies still match); `None` for text that is
/// only whitespace, which is not worth calling a duplicate.
/// The exact key and near-duplicate signature of one text, taken before PII redaction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DedupKeys {
    pub exact: Option<u128>,
    pub near: Option<Vec<u32>>,
}

pub fn exact_key(text: &str) -> Option<u128> {
    let mut buf = String::with_capacity(text.len());
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '\u{c}') {
        if c.is_ascii() {
            buf.push(c.to_ascii_lowercase());
        } else {
            buf.extend(c.to_lowercase());
        }
    }
    (!buf.is_empty()).then(|| xxh3_128(buf.as_bytes()))
}

/// Number of LSH bands and rows per band that minimise the equally weighted probability of false
/// positives (similarity below `threshold` sharing a band) and false negatives — the rule
/// datasketch's `MinHashLSH` uses, so both pick the same banding for the same settings.
pub fn optimal_bands(threshold: f64, num_perm: usize) -> (usize, usize) {
    // Probability that two documents of similarity s share at least one band.
    let collide = |s: f64, b: usize, r: usize| 1.0 - (1.0 - s.powi(r as i32)).powi(b as i32);
    let integrate = |f: &dyn Fn(f64) -> f64, lo: f64, hi: f64| {
        // Simpson's rule; the integrands are smooth polynomials.
        let n = 200;
        let h = (hi - lo) / n as f64;
        let mut sum = f(lo) + f(hi);
        for i in 1..n {
            sum += f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        sum * h / 3.0
    };
    let mut best = (f64::INFINITY, (1, 1));
    for b in 1..=num_perm {
        for r in 1..=num_perm / b {
            let fp = integrate(&|s| collide(s, b, r), 0.0, threshold);
            let fneg = integrate(&|s| 1.0 - collide(s, b, r), threshold, 1.0);
            let err = 0.5 * fp + 0.5 * fneg;
            if err < best.0 {
                best = (err, (b, r));
            }
        }
    }
    best.1
}

/// MinHash signatures and LSH clustering with fixed settings.
pub struct NearDupDetector {
    threshold: f64,
    cjk_ngram: usize,
    word_ngram: usize,
    bands: usize,
    rows: usize,
    // Permutation i maps a shingle's 32-bit hash x to a[i]*x + b[i] mod 2^32 (a[i] odd, so a
    // bijection), followed by an xorshift to mix high bits into low ones. Shingle hashes are
    // already uniformly random, so this cheap family behaves like random permutations, and being
    // 32-bit lane arithmetic it vectorises: 128 of them per shingle are the hot loop.
    mul: Vec<u32>,
    add: Vec<u32>,
}

impl NearDupDetector {
    pub fn new(config: &DedupConfig) -> Self {
        let (bands, rows) = optimal_bands(config.threshold, config.num_perm);
        let mut state = config.seed;
        let mut next = || {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mul = (0..config.num_perm).map(|_| (next() as u32) | 1).collect();
        let add = (0..config.num_perm).map(|_| next() as u32).collect();
        NearDupDetector {
            threshold: config.threshold,
            cjk_ngram: config.cjk_ngram.max(1),
            word_ngram: config.word_ngram.max(1),
            bands,
            rows,
            mul,
            add,
        }
    }

    /// LSH bands and rows per band.
    pub fn bands_rows(&self) -> (usize, usize) {
        (self.bands, self.rows)
    }

    pub fn num_perm(&self) -> usize {
        self.mul.len()
    }

    /// 64-bit hashes of the document's shingles (see the module doc); empty for text without
    /// letters or digits. Text shorter than one shingle yields a single shingle of all its tokens.
    pub fn shingles(&self, text: &str) -> Vec<u64> {
        let mut word = Vec::new();
        let mut cjk = 0usize;
        let hashes: Vec<u64> = tokens(text)
            .map(|t| match t {
                Token::Cjk(c) => {
                    cjk += 1;
                    mix64(u64::from(c) ^ 0xC3A5_C85C_97CB_3127)
                }
                Token::Word(w) => {
                    word.clear();
                    if w.is_ascii() {
                        word.extend(w.bytes().map(|b| b.to_ascii_lowercase()));
                    } else {
                        word.extend(w.to_lowercase().bytes());
                    }
                    xxh3_64(&word)
                }
            })
            .collect();
        if hashes.is_empty() {
            return hashes;
        }
        let n = if 2 * cjk >= hashes.len() {
            self.cjk_ngram
        } else {
            self.word_ngram
        };
        let shingle = |w: &[u64]| {
            mix64(w.iter().fold(w.len() as u64, |acc, &t| {
                (acc ^ t)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(31)
            }))
        };
        if hashes.len() <= n {
            return vec![shingle(&hashes)];
        }
        hashes.windows(n).map(shingle).collect()
    }

    /// The MinHash signature of `text`, or `None` when it has no shingles.
    pub fn signature(&self, text: &str) -> Option<Vec<u32>> {
        let shingles = self.shingles(text);
        if shingles.is_empty() {
            return None;
        }
        let xs: Vec<u32> = shingles.iter().map(|&x| (x ^ (x >> 32)) as u32).collect();
        let mut sig = vec![u32::MAX; self.mul.len()];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of
            // calling a `#[target_feature(enable = "avx2")]` function.
            #[allow(unsafe_code)]
            unsafe {
                minhash_avx2(&xs, &self.mul, &self.add, &mut sig)
            };
            return Some(sig);
        }
        minhash_into(&xs, &self.mul, &self.add, &mut sig);
        Some(sig)
    }

    /// Fraction of equal signature positions: the MinHash estimate of Jaccard similarity.
    pub fn similarity(a: &[u32], b: &[u32]) -> f64 {
        let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
        same as f64 / a.len().max(1) as f64
    }

    /// Groups of near-duplicate texts (indices into `texts`), each sorted, groups ordered by
    /// their first index; texts without a duplicate are in no group.
    pub fn clusters(&self, texts: &[&str]) -> Vec<Vec<usize>> {
        let sigs: Vec<Option<Vec<u32>>> = texts.par_iter().map(|t| self.signature(t)).collect();
        self.clusters_of_signatures(&sigs)
    }

    /// [`NearDupDetector::clusters`] for precomputed signatures.
    pub fn clusters_of_signatures(&self, sigs: &[Option<Vec<u32>>]) -> Vec<Vec<usize>> {
        let rows = self.rows;
        let mut pairs: Vec<(u32, u32)> = (0..self.bands)
            .into_par_iter()
            .flat_map_iter(|band| {
                let mut keys: Vec<(u64, u32)> = sigs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| {
                        let s = s.as_ref()?;
                        let key = s[band * rows..(band + 1) * rows]
                            .iter()
                            .fold(band as u64, |acc, &v| mix64(acc ^ u64::from(v)));
                        Some((key, i as u32))
                    })
                    .collect();
                keys.sort_unstable();
                let mut out = Vec::new();
                for bucket in keys.chunk_by(|a, b| a.0 == b.0).filter(|b| b.len() > 1) {
                    // All pairs in ordinary buckets; a huge bucket (boilerplate shared by
                    // thousands of documents) is linked as a star plus a chain to stay linear.
                    if bucket.len() <= 64 {
                        for (i, x) in bucket.iter().enumerate() {
                            for y in &bucket[i + 1..] {
                                out.push((x.1, y.1));
                            }
                        }
                    } else {
                        for w in bucket.windows(2) {
                            out.push((w[0].1, w[1].1));
                        }
                        for y in &bucket[2..] {
                            out.push((bucket[0].1, y.1));
                        }
                    }
                }
                out
            })
            .collect();
        pairs.par_sort_unstable();
        pairs.dedup();
        let verified: Vec<(u32, u32)> = pairs
            .into_par_iter()
            .filter(|&(a, b)| {
                let (Some(x), Some(y)) = (&sigs[a as usize], &sigs[b as usize]) else {
                    return false;
                };
                Self::similarity(x, y) >= self.threshold
            })
            .collect();

        let mut parent: Vec<u32> = (0..sigs.len() as u32).collect();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                parent[x as usize] = parent[parent[x as usize] as usize];
                x = parent[x as usize];
            }
            x
        }
        for (a, b) in verified {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb) as usize] = ra.min(rb);
            }
        }
        let mut groups: HashMap<u32, Vec<usize>> = HashMap::new();
        for i in 0..sigs.len() as u32 {
            let root = find(&mut parent, i);
            groups.entry(root).or_default().push(i as usize);
        }
        let mut clusters: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
        clusters.sort_unstable_by_key(|g| g[0]);
        clusters
    }
}

/// The MinHash hot loop: `sig[i] = min(sig[i], min over x of perm_i(x))`.
///
/// Eight shingles per pass over the permutations, so that each signature slot is loaded and
/// stored once per eight hashes and the loop over permutations vectorises.
#[inline(always)]
fn minhash_into(xs: &[u32], mul: &[u32], add: &[u32], sig: &mut [u32]) {
    let mut blocks = xs.chunks_exact(8);
    for block in &mut blocks {
        let block: &[u32; 8] = block.try_into().expect("chunks of 8");
        for ((s, &a), &b) in sig.iter_mut().zip(mul).zip(add) {
            let mut m = *s;
            for &x in block {
                let h = a.wrapping_mul(x).wrapping_add(b);
                m = m.min(h ^ (h >> 15));
            }
            *s = m;
        }
    }
    for &x in blocks.remainder() {
        for ((s, &a), &b) in sig.iter_mut().zip(mul).zip(add) {
            let h = a.wrapping_mul(x).wrapping_add(b);
            *s = (*s).min(h ^ (h >> 15));
        }
    }
}

/// [`minhash_into`] compiled for AVX2: the default x86-64 target (SSE2) has no 32-bit lane
/// multiply or unsigned minimum, and AVX2 makes signatures several times faster.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn minhash_avx2(xs: &[u32], mul: &[u32], add: &[u32], sig: &mut [u32]) {
    minhash_into(xs, mul, add, sig);
}

/// murmur3's 64-bit finaliser: spreads every input bit over the output.
fn mix64(mut z: u64) -> u64 {
    z ^= z >> 33;
    z = z.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z ^= z >> 33;
    z = z.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    z ^ (z >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banding_matches_datasketch_choice() {
        // (b, r) of datasketch 2.0's MinHashLSH(threshold, num_perm).
        for (threshold, num_perm, expected) in [
            (0.8, 128, (9, 13)),
            (0.5, 128, (25, 5)),
            (0.7, 128, (14, 9)),
            (0.9, 128, (5, 25)),
            (0.8, 256, (17, 15)),
        ] {
            assert_eq!(
                optimal_bands(threshold, num_perm),
                expected,
                "{threshold} {num_perm}"
            );
        }
    }

    #[test]
    fn exact_key_ignores_case_and_whitespace() {
        assert_eq!(
            exact_key("Hello  World\n合同"),
            exact_key("hello world 合 同")
        );
        assert_ne!(exact_key("hello"), exact_key("hallo"));
        assert_eq!(exact_key(" \n\u{c} "), None);
    }

    #[test]
    fn cjk_text_uses_character_ngrams_and_english_word_shingles() {
        let d = NearDupDetector::new(&DedupConfig::default());
        // 10 CJK characters, 5-grams: 6 shingles.
        assert_eq!(d.shingles("为了规范公司合同管理").len(), 6);
        // 5 words, 3-grams: 3 shingles; case does not matter.
        assert_eq!(
            d.shingles("The quick brown fox jumps"),
            d.shingles("the QUICK brown fox jumps")
        );
        assert_eq!(d.shingles("The quick brown fox jumps").len(), 3);
        assert_eq!(d.shingles("短文").len(), 1);
        assert!(d.shingles("。，！").is_empty());
    }

    #[test]
    fn minhash_estimates_jaccard() {
        let d = NearDupDetector::new(&DedupConfig {
            num_perm: 256,
            ..DedupConfig::default()
        });
        let words: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
        let a = words.join(" ");
        // Replace 20 words spread out: each kills 3 shingles of 398.
        let b: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i % 20 == 10 {
                    format!("x{i}")
                } else {
                    w.clone()
                }
            })
            .collect();
        let b = b.join(" ");
        let (sa, sb) = (d.shingles(&a), d.shingles(&b));
        let set_a: std::collections::HashSet<_> = sa.iter().collect();
        let set_b: std::collections::HashSet<_> = sb.iter().collect();
        let truth = set_a.intersection(&set_b).count() as f64 / set_a.union(&set_b).count() as f64;
        let est = NearDupDetector::similarity(&d.signature(&a).unwrap(), &d.signature(&b).unwrap());
        assert!(
            (est - truth).abs() < 0.08,
            "estimate {est} vs truth {truth}"
        );
    }
}
