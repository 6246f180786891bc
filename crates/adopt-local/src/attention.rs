//! Softmax attention over the key/value cache, for a block of query rows that share one
//! key/value head: scores as tiles of 2 rows by 4 keys, a vectorised softmax, then the values
//! weighted in tiles of 2 rows by 32 dimensions, with AVX2 when the CPU has it. The result is
//! left unnormalised with each row's maximum and sum, so that blocks over disjoint key ranges
//! can be merged ([`combine`]): generation splits one query's keys over the threads.

// This module's unsafe code is SIMD: AVX2 functions called once the CPU is known to have AVX2,
// and unaligned loads and stores of 8 floats inside slices whose lengths are checked.
#![allow(unsafe_code)]

use crate::kernels;

/// The cache of one layer: position-major `[pos][kv_head][d]`.
pub(crate) struct Cache<'a> {
    pub keys: &'a [f32],
    pub values: &'a [f32],
    /// Values between positions (`kv_heads * d`), and this head's offset in a position.
    pub stride: usize,
    pub offset: usize,
    pub d: usize,
}

impl Cache<'_> {
    fn key(&self, pos: usize) -> &[f32] {
        let at = pos * self.stride + self.offset;
        &self.keys[at..at + self.d]
    }

    fn value(&self, pos: usize) -> &[f32] {
        let at = pos * self.stride + self.offset;
        &self.values[at..at + self.d]
    }
}

/// A block of query rows: row `r` is `queries[r * d..]` and sees keys `spans[r].0..spans[r].1`.
pub(crate) struct Rows<'a> {
    pub queries: &'a [f32],
    pub spans: &'a [(usize, usize)],
    pub scale: f32,
}

/// Attention of `rows` over the keys `start..end` of `cache` (each row limited to its span):
/// `out` gets `sum_j e^(s_j - max) v_j` per row (`rows * d` values), `stats` each row's max
/// then each row's sum (`2 * rows` values). `scores` is scratch.
pub(crate) fn attend(
    cache: &Cache<'_>,
    rows: &Rows<'_>,
    start: usize,
    end: usize,
    out: &mut [f32],
    stats: &mut [f32],
    scores: &mut Vec<f32>,
) {
    let n_rows = rows.spans.len();
    let width = end.saturating_sub(start);
    scores.clear();
    scores.resize(n_rows * width, f32::NEG_INFINITY);
    #[cfg(target_arch = "x86_64")]
    if cache.d.is_multiple_of(32)
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { attend_avx2(cache, rows, start, end, out, stats, scores) };
        return;
    }
    attend_scalar(cache, rows, start, end, out, stats, scores);
}

fn attend_scalar(
    cache: &Cache<'_>,
    rows: &Rows<'_>,
    start: usize,
    end: usize,
    out: &mut [f32],
    stats: &mut [f32],
    scores: &mut [f32],
) {
    let d = cache.d;
    let n_rows = rows.spans.len();
    let width = end.saturating_sub(start);
    for (r, &(s, e)) in rows.spans.iter().enumerate() {
        let q = &rows.queries[r * d..(r + 1) * d];
        let row = &mut scores[r * width..(r + 1) * width];
        for j in s.max(start)..e.min(end) {
            row[j - start] = kernels::dot(q, cache.key(j)) * rows.scale;
        }
    }
    softmax_rows(scores, n_rows, width, stats);
    out[..n_rows * d].fill(0.0);
    for r in 0..n_rows {
        let o = &mut out[r * d..(r + 1) * d];
        for j in start..end {
            let p = scores[r * width + j - start];
            if p != 0.0 {
                kernels::axpy(o, p, cache.value(j));
            }
        }
    }
}

/// Exponentiates each row of `scores` (`n_rows` by `width`) against its maximum, in place;
/// `stats` gets the maxima then the sums. A row with no key gets max -inf and sum 0.
#[inline(always)]
fn softmax_rows(scores: &mut [f32], n_rows: usize, width: usize, stats: &mut [f32]) {
    for r in 0..n_rows {
        let row = &mut scores[r * width..(r + 1) * width];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            row.fill(0.0);
            stats[r] = max;
            stats[n_rows + r] = 0.0;
            continue;
        }
        for x in row.iter_mut() {
            *x -= max;
        }
        kernels::exp_in_place(row);
        stats[r] = max;
        stats[n_rows + r] = kernels::sum(row);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn attend_avx2(
    cache: &Cache<'_>,
    rows: &Rows<'_>,
    start: usize,
    end: usize,
    out: &mut [f32],
    stats: &mut [f32],
    scores: &mut [f32],
) {
    use std::arch::x86_64::*;
    let d = cache.d;
    let n_rows = rows.spans.len();
    let width = end.saturating_sub(start);
    assert!(rows.queries.len() >= n_rows * d && out.len() >= n_rows * d);
    assert!(end == start || (end - 1) * cache.stride + cache.offset + d <= cache.keys.len());
    assert!(cache.values.len() == cache.keys.len() && stats.len() >= 2 * n_rows);
    let key = |j: usize| cache.keys.as_ptr().add(j * cache.stride + cache.offset);
    let value = |j: usize| cache.values.as_ptr().add(j * cache.stride + cache.offset);
    let query = |r: usize| rows.queries.as_ptr().add(r * d);

    // Scores: 2 rows x 4 keys at a time over the keys any row of the pair sees.
    let mut r = 0;
    while r < n_rows {
        let pair = (n_rows - r).min(2);
        let (lo, hi) = (0..pair).fold((end, start), |(lo, hi), i| {
            let (s, e) = rows.spans[r + i];
            (lo.min(s.max(start)), hi.max(e.min(end)))
        });
        let q0 = query(r);
        let q1 = query(r + pair - 1);
        let mut j = lo;
        while j < hi {
            let keys = (hi - j).min(4);
            let k: [*const f32; 4] = std::array::from_fn(|i| key(j + i.min(keys - 1)));
            let mut acc = [[_mm256_setzero_ps(); 4]; 2];
            let mut c = 0;
            while c < d {
                let qa = _mm256_loadu_ps(q0.add(c));
                let qb = _mm256_loadu_ps(q1.add(c));
                for i in 0..4 {
                    let kv = _mm256_loadu_ps(k[i].add(c));
                    acc[0][i] = _mm256_fmadd_ps(qa, kv, acc[0][i]);
                    acc[1][i] = _mm256_fmadd_ps(qb, kv, acc[1][i]);
                }
                c += 8;
            }
            for (p, acc) in acc.iter().enumerate().take(pair) {
                let sums = hsum4(acc);
                let (s, e) = rows.spans[r + p];
                for (i, sum) in sums.iter().enumerate().take(keys) {
                    let pos = j + i;
                    if pos >= s && pos < e {
                        scores[(r + p) * width + pos - start] = sum * rows.scale;
                    }
                }
            }
            j += keys;
        }
        r += pair;
    }

    softmax_rows(scores, n_rows, width, stats);

    // Values: 2 rows x 32 dimensions at a time.
    let mut r = 0;
    while r < n_rows {
        let pair = (n_rows - r).min(2);
        let (lo, hi) = (0..pair).fold((end, start), |(lo, hi), i| {
            let (s, e) = rows.spans[r + i];
            (lo.min(s.max(start)), hi.max(e.min(end)))
        });
        let p0 = scores.as_ptr().add(r * width);
        let p1 = scores.as_ptr().add((r + pair - 1) * width);
        let mut c = 0;
        while c < d {
            let mut acc = [[_mm256_setzero_ps(); 4]; 2];
            for j in lo..hi {
                let wa = _mm256_set1_ps(*p0.add(j - start));
                let wb = _mm256_set1_ps(*p1.add(j - start));
                let v = value(j).add(c);
                let [acc0, acc1] = &mut acc;
                for (t, (a0, a1)) in acc0.iter_mut().zip(acc1.iter_mut()).enumerate() {
                    let vv = _mm256_loadu_ps(v.add(8 * t));
                    *a0 = _mm256_fmadd_ps(wa, vv, *a0);
                    *a1 = _mm256_fmadd_ps(wb, vv, *a1);
                }
            }
            for (p, acc) in acc.iter().enumerate().take(pair) {
                let o = out.as_mut_ptr().add((r + p) * d + c);
                for (t, a) in acc.iter().enumerate() {
                    _mm256_storeu_ps(o.add(8 * t), *a);
                }
            }
            c += 32;
        }
        r += pair;
    }
}

/// The sums of four 8-lane vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn hsum4(v: &[std::arch::x86_64::__m256; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let a = _mm256_hadd_ps(v[0], v[1]);
    let b = _mm256_hadd_ps(v[2], v[3]);
    let c = _mm256_hadd_ps(a, b);
    let s = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
    let mut out = [0f32; 4];
    // SAFETY: `out` holds four floats.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), s) };
    out
}

/// Merges [`attend`] results over consecutive key ranges: `parts` holds each part's `out`
/// then `stats` (`n_rows * d + 2 * n_rows` values a part); `out` gets the attention itself.
pub(crate) fn combine(parts: &[f32], n_rows: usize, d: usize, out: &mut [f32]) {
    let part_len = n_rows * d + 2 * n_rows;
    for r in 0..n_rows {
        let max = parts
            .chunks_exact(part_len)
            .map(|p| p[n_rows * d + r])
            .fold(f32::NEG_INFINITY, f32::max);
        let o = &mut out[r * d..(r + 1) * d];
        o.fill(0.0);
        let mut total = 0.0;
        for p in parts.chunks_exact(part_len) {
            let (acc, stats) = p.split_at(n_rows * d);
            if stats[n_rows + r] == 0.0 {
                continue;
            }
            let w = (stats[r] - max).exp();
            total += w * stats[n_rows + r];
            kernels::axpy(o, w, &acc[r * d..(r + 1) * d]);
        }
        let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
        for x in o.iter_mut() {
            *x *= inv;
        }
    }
}

/// Divides each row of `out` by its sum in `stats` (a single part: the attention itself).
pub(crate) fn normalize(out: &mut [f32], stats: &[f32], n_rows: usize, d: usize) {
    for r in 0..n_rows {
        let sum = stats[n_rows + r];
        let inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
        for x in &mut out[r * d..(r + 1) * d] {
            *x *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// The naive softmax attention of row `r`.
    fn naive(cache: &Cache<'_>, q: &[f32], span: (usize, usize), scale: f32) -> Vec<f32> {
        let s: Vec<f32> = (span.0..span.1)
            .map(|j| q.iter().zip(cache.key(j)).map(|(a, b)| a * b).sum::<f32>() * scale)
            .collect();
        let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = s.iter().map(|x| (x - max).exp()).sum();
        (0..cache.d)
            .map(|t| {
                (span.0..span.1)
                    .map(|j| (s[j - span.0] - max).exp() / z * cache.value(j)[t])
                    .sum()
            })
            .collect()
    }

    #[test]
    fn blocks_and_parts_match_the_naive_softmax() {
        for d in [32, 64, 24] {
            let (positions, heads) = (41, 2);
            let keys = values(positions * heads * d, 3);
            let vals = values(positions * heads * d, 5);
            let cache = Cache {
                keys: &keys,
                values: &vals,
                stride: heads * d,
                offset: d,
                d,
            };
            // Five rows: causal spans, a sliding window, one that sees a single key.
            let spans = [(0, 37), (0, 38), (30, 39), (38, 39), (2, 41)];
            let queries = values(spans.len() * d, 9);
            let rows = Rows {
                queries: &queries,
                spans: &spans,
                scale: 0.3,
            };
            let n = spans.len();
            let mut whole = vec![0f32; n * d];
            let mut stats = vec![0f32; 2 * n];
            attend(
                &cache,
                &rows,
                0,
                positions,
                &mut whole,
                &mut stats,
                &mut Vec::new(),
            );
            normalize(&mut whole, &stats, n, d);
            let part_len = n * d + 2 * n;
            let mut parts = vec![0f32; 3 * part_len];
            for (p, (s, e)) in [(0, 17), (17, 17), (17, positions)].into_iter().enumerate() {
                let (acc, st) = parts[p * part_len..(p + 1) * part_len].split_at_mut(n * d);
                attend(&cache, &rows, s, e, acc, st, &mut Vec::new());
            }
            let mut combined = vec![0f32; n * d];
            combine(&parts, n, d, &mut combined);
            for (r, &span) in spans.iter().enumerate() {
                let want = naive(&cache, &queries[r * d..(r + 1) * d], span, 0.3);
                for t in 0..d {
                    assert!((whole[r * d + t] - want[t]).abs() < 1e-5, "d={d} row {r}");
                    assert!(
                        (combined[r * d + t] - want[t]).abs() < 1e-5,
                        "d={d} row {r}"
                    );
                }
            }
        }
    }
}
