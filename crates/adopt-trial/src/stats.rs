//! Small statistics: a seeded generator (so bootstrap intervals repeat run to run),
//! percentile bootstrap intervals and percentiles.

/// SplitMix64: tiny, seeded, and plenty for resampling indices.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0); the modulo bias is negligible for dataset sizes.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Percentile bootstrap interval of `statistic` over `n` items: resample item indices with
/// replacement `resamples` times. Returns `(low, high)`; with no items, `(0, 0)`.
pub fn bootstrap_ci(
    n: usize,
    resamples: usize,
    seed: u64,
    confidence: f64,
    statistic: impl Fn(&[usize]) -> f64,
) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let mut rng = SplitMix64::new(seed);
    let mut idx = vec![0usize; n];
    let mut values: Vec<f64> = (0..resamples.max(1))
        .map(|_| {
            for i in idx.iter_mut() {
                *i = rng.below(n);
            }
            statistic(&idx)
        })
        .collect();
    values.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    (
        percentile_sorted(&values, alpha),
        percentile_sorted(&values, 1.0 - alpha),
    )
}

/// Linear-interpolated percentile (`q` in 0..=1) of sorted values.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Percentile of unsorted values; `None` when there are none.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    Some(percentile_sorted(&v, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_mean() {
        let scores: Vec<f64> = (0..50).map(|i| f64::from(u8::from(i % 4 != 0))).collect();
        let mean = |idx: &[usize]| idx.iter().map(|&i| scores[i]).sum::<f64>() / idx.len() as f64;
        let a = bootstrap_ci(scores.len(), 500, 7, 0.95, mean);
        let b = bootstrap_ci(scores.len(), 500, 7, 0.95, mean);
        assert_eq!(a, b);
        assert!(a.0 < 0.75 && 0.75 < a.1, "{a:?}");
        assert!(a.1 - a.0 < 0.35);
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95), Some(4.8));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
