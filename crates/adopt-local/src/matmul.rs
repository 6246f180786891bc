//! Products with quantized weight matrices. GGUF's 32-value block formats (Q4_0, Q4_1, Q5_0,
//! Q5_1, Q8_0) are repacked at load (scales as f32) and multiplied here with AVX2 integer dot
//! products, in tiles of 4 activation rows by 2 weight rows: candle 0.11 has only scalar code
//! for most of them (88% of a SmolLM2 prompt went to `BlockQ4_1::vec_dot_unopt`). The
//! k-quants (Q4_K, Q6_K, ...) stay with candle, whose x86 kernels for them are fast.
//!
//! As llama.cpp does, activations are first quantized to 8 bits per 32-value block (`Q8`);
//! a weight block is `d * q + m` (`m = -8d` for Q4_0, `-16d` for Q5_0, none for Q8_0), so a
//! block product is `d_w d_a sum(q_w q_a) + m_w d_a sum(q_a)`, the sums exact in integers.

// This module's unsafe code is SIMD: AVX2 functions called once the CPU is known to have AVX2,
// and loads of whole blocks from slices whose lengths are checked.
#![allow(unsafe_code)]

use std::cell::OnceCell;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{bail, Device, Module, Result, Tensor};

#[cfg(target_arch = "x86_64")]
use crate::attention::hsum4;
use crate::threads::{for_each_row, pool_threads};

/// Values per block, in every format here.
const BLOCK: usize = 32;

/// 32 activations: `x ~ d * qs`, and `s = d * sum(qs)`.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Q8 {
    qs: [i8; BLOCK],
    d: f32,
    s: f32,
}

/// Q4_0 and Q4_1: element `j` in the low nibble of `qs[j]`, `j + 16` in its high nibble.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct W4 {
    qs: [u8; 16],
    d: f32,
    m: f32,
}

/// Q5_0 and Q5_1: W4's nibbles, the fifth bit of element `j` in bit `j` of `qh`.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct W5 {
    qs: [u8; 16],
    qh: u32,
    d: f32,
    m: f32,
}

/// Q8_0: signed values.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct W8 {
    qs: [i8; BLOCK],
    d: f32,
}

/// A weight block: its values as integers, its scale and its offset.
trait Block: Copy + Send + Sync {
    const HAS_MIN: bool;
    fn d(&self) -> f32;
    fn m(&self) -> f32;
    /// The 32 integer values.
    fn values(&self) -> [i32; BLOCK];

    #[cfg(target_arch = "x86_64")]
    /// The values as 32 bytes (unsigned for W4/W5, signed for W8).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    unsafe fn load(&self) -> std::arch::x86_64::__m256i;

    #[cfg(target_arch = "x86_64")]
    /// Eight partial sums of `w * a` over the 32 lanes of `load()` and activations `a`.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    unsafe fn dot(
        w: std::arch::x86_64::__m256i,
        a: std::arch::x86_64::__m256i,
    ) -> std::arch::x86_64::__m256i;
}

impl Block for W4 {
    const HAS_MIN: bool = true;
    fn d(&self) -> f32 {
        self.d
    }
    fn m(&self) -> f32 {
        self.m
    }
    fn values(&self) -> [i32; BLOCK] {
        let mut v = [0; BLOCK];
        for j in 0..16 {
            v[j] = (self.qs[j] & 0x0f) as i32;
            v[j + 16] = (self.qs[j] >> 4) as i32;
        }
        v
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load(&self) -> std::arch::x86_64::__m256i {
        use std::arch::x86_64::*;
        let qs = _mm_loadu_si128(self.qs.as_ptr().cast());
        let low = _mm_set1_epi8(0x0f);
        let lo = _mm_and_si128(qs, low);
        let hi = _mm_and_si128(_mm_srli_epi16(qs, 4), low);
        _mm256_set_m128i(hi, lo)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot(
        w: std::arch::x86_64::__m256i,
        a: std::arch::x86_64::__m256i,
    ) -> std::arch::x86_64::__m256i {
        unsigned_dot(w, a)
    }
}

impl Block for W5 {
    const HAS_MIN: bool = true;
    fn d(&self) -> f32 {
        self.d
    }
    fn m(&self) -> f32 {
        self.m
    }
    fn values(&self) -> [i32; BLOCK] {
        let mut v = [0; BLOCK];
        for j in 0..16 {
            v[j] = (self.qs[j] & 0x0f) as i32 | (((self.qh >> j) & 1) << 4) as i32;
            v[j + 16] = (self.qs[j] >> 4) as i32 | (((self.qh >> (j + 16)) & 1) << 4) as i32;
        }
        v
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load(&self) -> std::arch::x86_64::__m256i {
        use std::arch::x86_64::*;
        let nibbles = W4 {
            qs: self.qs,
            d: 0.0,
            m: 0.0,
        }
        .load();
        // llama.cpp's bytes_from_bits_32: byte j is 0xff when bit j of qh is set.
        let shuffle = _mm256_set_epi64x(
            0x0303_0303_0303_0303,
            0x0202_0202_0202_0202,
            0x0101_0101_0101_0101,
            0,
        );
        let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(self.qh as i32), shuffle);
        let bits = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe));
        let set = _mm256_cmpeq_epi8(bits, _mm256_set1_epi64x(-1));
        _mm256_or_si256(nibbles, _mm256_and_si256(set, _mm256_set1_epi8(0x10)))
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot(
        w: std::arch::x86_64::__m256i,
        a: std::arch::x86_64::__m256i,
    ) -> std::arch::x86_64::__m256i {
        unsigned_dot(w, a)
    }
}

impl Block for W8 {
    const HAS_MIN: bool = false;
    fn d(&self) -> f32 {
        self.d
    }
    fn m(&self) -> f32 {
        0.0
    }
    fn values(&self) -> [i32; BLOCK] {
        self.qs.map(i32::from)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load(&self) -> std::arch::x86_64::__m256i {
        std::arch::x86_64::_mm256_loadu_si256(self.qs.as_ptr().cast())
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot(
        w: std::arch::x86_64::__m256i,
        a: std::arch::x86_64::__m256i,
    ) -> std::arch::x86_64::__m256i {
        use std::arch::x86_64::*;
        // maddubs takes one unsigned side: |w| against a with w's sign (|q| <= 127, no overflow).
        let ones = _mm256_set1_epi16(1);
        let p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
        _mm256_madd_epi16(p, ones)
    }
}

/// `sum(w * a)` in eight lanes, `w` in 0..=31 (no 16-bit overflow: 2 * 31 * 127 < 2^15).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn unsigned_dot(
    w: std::arch::x86_64::__m256i,
    a: std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1))
}

/// Weight rows `w` (each `kb` blocks) against activation rows `a`: `out[r][c] = a[r] . w[c]`.
#[inline(always)]
fn tile_scalar<B: Block, const R: usize, const C: usize>(
    w: [&[B]; C],
    a: [&[Q8]; R],
    out: &mut [[f32; C]; R],
) {
    for r in 0..R {
        for c in 0..C {
            let mut sum = 0.0;
            for (wb, ab) in w[c].iter().zip(a[r]) {
                let v = wb.values();
                let dot: i32 = v.iter().zip(&ab.qs).map(|(x, y)| x * *y as i32).sum();
                sum += wb.d() * ab.d * dot as f32 + wb.m() * ab.s;
            }
            out[r][c] = sum;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tile_avx2<B: Block, const R: usize, const C: usize>(
    w: [&[B]; C],
    a: [&[Q8]; R],
    out: &mut [[f32; C]; R],
) {
    use std::arch::x86_64::*;
    let kb = w[0].len();
    for a in &a {
        assert_eq!(a.len(), kb);
    }
    for w in &w {
        assert_eq!(w.len(), kb);
    }
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    let mut mins = [[0f32; C]; R];
    for b in 0..kb {
        // SAFETY: AVX2 is enabled on this function; the loads read whole blocks of slices
        // whose lengths were checked above.
        #[allow(unsafe_code)]
        unsafe {
            let mut wv = [_mm256_setzero_si256(); C];
            for c in 0..C {
                wv[c] = w[c].get_unchecked(b).load();
                if R == 1 {
                    _mm_prefetch::<_MM_HINT_T0>(w[c].as_ptr().wrapping_add(b + C * kb).cast());
                }
            }
            for r in 0..R {
                let ab = a[r].get_unchecked(b);
                let av = _mm256_loadu_si256(ab.qs.as_ptr().cast());
                for c in 0..C {
                    let wb = w[c].get_unchecked(b);
                    let p = _mm256_cvtepi32_ps(B::dot(wv[c], av));
                    acc[r][c] = _mm256_fmadd_ps(p, _mm256_set1_ps(wb.d() * ab.d), acc[r][c]);
                    if B::HAS_MIN {
                        mins[r][c] += wb.m() * ab.s;
                    }
                }
            }
        }
    }
    for r in 0..R {
        let mut c = 0;
        while c + 4 <= C {
            let sums = hsum4(&[acc[r][c], acc[r][c + 1], acc[r][c + 2], acc[r][c + 3]]);
            for i in 0..4 {
                out[r][c + i] = sums[i] + mins[r][c + i];
            }
            c += 4;
        }
        while c < C {
            out[r][c] = hsum256(acc[r][c]) + mins[r][c];
            c += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn hsum256(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[inline(always)]
fn tile<B: Block, const R: usize, const C: usize>(
    avx2: bool,
    w: [&[B]; C],
    a: [&[Q8]; R],
    out: &mut [[f32; C]; R],
) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` says the CPU has AVX2 and FMA.
        #[allow(unsafe_code)]
        unsafe {
            return tile_avx2(w, a, out);
        }
    }
    let _ = avx2;
    tile_scalar(w, a, out)
}

/// `out[i][j] = a_i . w_j` for `m` activation rows and the `n` rows of `w`.
fn product<B: Block>(w: &[B], n: usize, kb: usize, a: &[Q8], m: usize, out: &mut [f32]) {
    let avx2 = has_avx2();
    let wrow = |j: usize| &w[j * kb..(j + 1) * kb];
    let arow = |i: usize| &a[i * kb..(i + 1) * kb];
    let k = kb * BLOCK;
    if m >= 4 * pool_threads() {
        // Tiles of 4 x 2; each thread a group of 4 activation rows, all weight rows.
        for_each_row(out, 4 * n, 4 * n * k, |g, rows| {
            let first = 4 * g;
            let count = rows.len() / n;
            if count == 4 {
                let a4 = [
                    arow(first),
                    arow(first + 1),
                    arow(first + 2),
                    arow(first + 3),
                ];
                let mut j = 0;
                while j + 2 <= n {
                    let mut o = [[0f32; 2]; 4];
                    tile(avx2, [wrow(j), wrow(j + 1)], a4, &mut o);
                    for (r, o) in o.iter().enumerate() {
                        rows[r * n + j] = o[0];
                        rows[r * n + j + 1] = o[1];
                    }
                    j += 2;
                }
                if j < n {
                    let mut o = [[0f32; 1]; 4];
                    tile(avx2, [wrow(j)], a4, &mut o);
                    for (r, o) in o.iter().enumerate() {
                        rows[r * n + j] = o[0];
                    }
                }
            } else {
                for r in 0..count {
                    let out = &mut rows[r * n..(r + 1) * n];
                    row_product(avx2, w, kb, n, arow(first + r), out, 0);
                }
            }
        });
    } else {
        // Few rows (generation): split each row's columns over the threads instead.
        let chunk = (n / (pool_threads() * 8)).max(16).next_multiple_of(8);
        for i in 0..m {
            let a_i = arow(i);
            for_each_row(&mut out[i * n..(i + 1) * n], chunk, chunk * k, |c, cols| {
                row_product(avx2, w, kb, cols.len(), a_i, cols, c * chunk);
            });
        }
    }
}

/// `out[j] = a . w_(first + j)`, 4 weight rows at a time.
#[inline(always)]
fn row_product<B: Block>(
    avx2: bool,
    w: &[B],
    kb: usize,
    count: usize,
    a: &[Q8],
    out: &mut [f32],
    first: usize,
) {
    let wrow = |j: usize| &w[j * kb..(j + 1) * kb];
    let mut j = 0;
    while j + 8 <= count {
        let at = first + j;
        let mut o = [[0f32; 8]; 1];
        tile(avx2, std::array::from_fn(|i| wrow(at + i)), [a], &mut o);
        out[j..j + 8].copy_from_slice(&o[0]);
        j += 8;
    }
    while j + 4 <= count {
        let at = first + j;
        let mut o = [[0f32; 4]; 1];
        tile(
            avx2,
            [wrow(at), wrow(at + 1), wrow(at + 2), wrow(at + 3)],
            [a],
            &mut o,
        );
        out[j..j + 4].copy_from_slice(&o[0]);
        j += 4;
    }
    while j < count {
        let mut o = [[0f32; 1]; 1];
        tile(avx2, [wrow(first + j)], [a], &mut o);
        out[j] = o[0][0];
        j += 1;
    }
}

crate::kernels::multiversion! {
    /// llama.cpp's `quantize_row_q8_0`/`_q8_1`: per block, `d = max|x| / 127`, `q = round(x/d)`.
    fn quantize_row(x: &[f32], out: &mut [Q8]) {
        for (xs, q) in x.chunks_exact(BLOCK).zip(out.iter_mut()) {
            let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (q, x) in q.qs.iter_mut().zip(xs) {
                let v = (x * id).round_ties_even() as i32;
                *q = v as i8;
                sum += v;
            }
            q.d = d;
            q.s = d * sum as f32;
        }
    }
}

/// The input of one or more products: `rows` rows of `k` values, quantized on first use.
pub(crate) struct Activations<'a> {
    x: &'a [f32],
    rows: usize,
    k: usize,
    q8: OnceCell<Vec<Q8>>,
}

impl<'a> Activations<'a> {
    pub(crate) fn new(x: &'a [f32], rows: usize) -> Self {
        Activations {
            x,
            rows,
            k: x.len() / rows.max(1),
            q8: OnceCell::new(),
        }
    }

    fn quantized(&self) -> &[Q8] {
        self.q8.get_or_init(|| {
            let kb = self.k / BLOCK;
            let zero = Q8 {
                qs: [0; BLOCK],
                d: 0.0,
                s: 0.0,
            };
            let mut q = vec![zero; self.rows * kb];
            let (x, k) = (self.x, self.k);
            for_each_row(&mut q, kb, k, |i, row| {
                quantize_row(&x[i * k..(i + 1) * k], row)
            });
            q
        })
    }
}

pub(crate) enum Blocks {
    W4(Vec<W4>),
    W5(Vec<W5>),
    W8(Vec<W8>),
}

/// Collects weight blocks into memory backed by 2 MB pages where the kernel allows it:
/// generation streams every weight once per token, and with 4 kB pages (transparent huge
/// pages are often opt-in, `madvise`) TLB misses cut that stream by a third (Gemma 3's 188 MB
/// output matrix: 10.6 GB/s on one core). The blocks are advised before they are written,
/// and collapsed after (`MADV_COLLAPSE`, Linux 6.1) in case the allocator reused pages.
trait CollectHuge<T> {
    fn collect_huge(self) -> Vec<T>;
}

impl<T, I: ExactSizeIterator<Item = T>> CollectHuge<T> for I {
    fn collect_huge(self) -> Vec<T> {
        let mut v: Vec<T> = Vec::with_capacity(self.len());
        advise_huge(&v, Advice::HugePages);
        v.extend(self);
        advise_huge(&v, Advice::Collapse);
        v
    }
}

#[derive(Clone, Copy)]
enum Advice {
    HugePages,
    Collapse,
}

/// `madvise` over the whole 2 MB pages inside `v`'s allocation (Linux only); failures are
/// ignored: it is advice.
fn advise_huge<T>(v: &Vec<T>, advice: Advice) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        // Not in libc for every Linux target (musl lacks it); the value is the kernel's.
        const MADV_COLLAPSE: libc::c_int = 25;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<T>();
        let (from, to) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        let advice = match advice {
            Advice::HugePages => libc::MADV_HUGEPAGE,
            Advice::Collapse => MADV_COLLAPSE,
        };
        if to > from {
            // SAFETY: advice about pages inside memory this Vec owns; nothing is read or
            // written, and both advices keep the contents.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, advice);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (v, advice);
}

/// A weight matrix: `n` output rows of `k` inputs.
pub(crate) enum Weight {
    Blocks { n: usize, k: usize, blocks: Blocks },
    Candle { n: usize, k: usize, matmul: QMatMul },
}

fn f16(bytes: &[u8]) -> f32 {
    let h = u16::from_le_bytes([bytes[0], bytes[1]]);
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: normalise.
            let shift = frac.leading_zeros() - 21;
            sign | ((127 - 15 + 1 - shift) << 23) | ((frac << shift) & 0x3ff) << 13
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

impl Weight {
    /// Takes a GGUF tensor of shape `(n, k)`: repacked when its format is one of ours.
    pub(crate) fn new(t: Arc<QTensor>) -> Result<Self> {
        let (n, k) = t.shape().dims2()?;
        let dtype = t.dtype();
        let ours = matches!(
            dtype,
            GgmlDType::Q4_0 | GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 | GgmlDType::Q8_0
        );
        if !ours || k % BLOCK != 0 {
            return Ok(Weight::Candle {
                n,
                k,
                matmul: QMatMul::from_arc(t)?,
            });
        }
        let data = t.data()?;
        let size = dtype.type_size();
        if data.len() != n * k / BLOCK * size {
            bail!("{dtype:?} tensor of {n}x{k} has {} bytes", data.len());
        }
        let raw = data.chunks_exact(size);
        let blocks = match dtype {
            GgmlDType::Q4_0 => Blocks::W4(
                raw.map(|b| {
                    let d = f16(b);
                    W4 {
                        qs: b[2..18].try_into().expect("16 bytes"),
                        d,
                        m: -8.0 * d,
                    }
                })
                .collect_huge(),
            ),
            GgmlDType::Q4_1 => Blocks::W4(
                raw.map(|b| W4 {
                    qs: b[4..20].try_into().expect("16 bytes"),
                    d: f16(b),
                    m: f16(&b[2..]),
                })
                .collect_huge(),
            ),
            GgmlDType::Q5_0 => Blocks::W5(
                raw.map(|b| {
                    let d = f16(b);
                    W5 {
                        qh: u32::from_le_bytes(b[2..6].try_into().expect("4 bytes")),
                        qs: b[6..22].try_into().expect("16 bytes"),
                        d,
                        m: -16.0 * d,
                    }
                })
                .collect_huge(),
            ),
            GgmlDType::Q5_1 => Blocks::W5(
                raw.map(|b| W5 {
                    qh: u32::from_le_bytes(b[4..8].try_into().expect("4 bytes")),
                    qs: b[8..24].try_into().expect("16 bytes"),
                    d: f16(b),
                    m: f16(&b[2..]),
                })
                .collect_huge(),
            ),
            _ => Blocks::W8(
                raw.map(|b| W8 {
                    qs: std::array::from_fn(|j| b[2 + j] as i8),
                    d: f16(b),
                })
                .collect_huge(),
            ),
        };
        Ok(Weight::Blocks { n, k, blocks })
    }

    /// Output values per input row.
    pub(crate) fn rows(&self) -> usize {
        match self {
            Weight::Blocks { n, .. } | Weight::Candle { n, .. } => *n,
        }
    }

    /// Whether the blocks are ours (then [`Weight::dequantize_row`] works).
    pub(crate) fn is_repacked(&self) -> bool {
        matches!(self, Weight::Blocks { .. })
    }

    /// Row `j` as f32 values (an embedding lookup); `false` for candle's formats.
    pub(crate) fn dequantize_row(&self, j: usize, out: &mut [f32]) -> bool {
        fn rows<B: Block>(w: &[B], j: usize, kb: usize, out: &mut [f32]) {
            for (b, o) in w[j * kb..(j + 1) * kb]
                .iter()
                .zip(out.chunks_exact_mut(BLOCK))
            {
                for (o, v) in o.iter_mut().zip(b.values()) {
                    *o = b.d() * v as f32 + b.m();
                }
            }
        }
        let Weight::Blocks { k, blocks, .. } = self else {
            return false;
        };
        let kb = k / BLOCK;
        match blocks {
            Blocks::W4(w) => rows(w, j, kb, out),
            Blocks::W5(w) => rows(w, j, kb, out),
            Blocks::W8(w) => rows(w, j, kb, out),
        }
        true
    }

    /// `x W^T`: `x.rows` rows of `n` values.
    pub(crate) fn forward(&self, x: &Activations<'_>) -> Result<Vec<f32>> {
        match self {
            Weight::Blocks { n, k, blocks } => {
                if x.k != *k {
                    bail!("product of {}-wide rows with a {n}x{k} matrix", x.k);
                }
                let (n, kb, m) = (*n, *k / BLOCK, x.rows);
                let a = x.quantized();
                let mut out = vec![0f32; m * n];
                match blocks {
                    Blocks::W4(w) => product(w, n, kb, a, m, &mut out),
                    Blocks::W5(w) => product(w, n, kb, a, m, &mut out),
                    Blocks::W8(w) => product(w, n, kb, a, m, &mut out),
                }
                Ok(out)
            }
            Weight::Candle { n, k, matmul } => {
                if x.k != *k {
                    bail!("product of {}-wide rows with a {n}x{k} matrix", x.k);
                }
                let t = Tensor::from_slice(x.x, (x.rows, *k), &Device::Cpu)?;
                matmul.forward(&t)?.flatten_all()?.to_vec1::<f32>()
            }
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

    #[test]
    fn f16_decodes_like_the_half_crate() {
        for (bits, want) in [
            (0x3c00u16, 1.0f32),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x0001, 5.960_464_5e-8),
            (0x03ff, 6.097_555e-5),
            (0x7bff, 65504.0),
            (0x0000, 0.0),
        ] {
            assert_eq!(f16(&bits.to_le_bytes()), want, "{bits:#06x}");
        }
        assert!(f16(&0x7c00u16.to_le_bytes()).is_infinite());
    }

    /// Every format, every path (tiles of 4 x 2, row splits, remainders), against candle's
    /// dequantized f32 product of the same quantized matrix.
    #[test]
    fn products_match_dequantized_weights() {
        let (n, k) = (37, 96);
        let w = values(n * k, 7);
        let wt = Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap();
        for dtype in [
            GgmlDType::Q4_0,
            GgmlDType::Q4_1,
            GgmlDType::Q5_0,
            GgmlDType::Q5_1,
            GgmlDType::Q8_0,
        ] {
            let q = QTensor::quantize(&wt, dtype).unwrap();
            let dense = q.dequantize(&Device::Cpu).unwrap();
            let weight = Weight::new(Arc::new(q)).unwrap();
            assert!(weight.is_repacked(), "{dtype:?}");
            let mut row = vec![0f32; k];
            assert!(weight.dequantize_row(5, &mut row));
            let want_row: Vec<f32> = dense.get(5).unwrap().to_vec1().unwrap();
            for (a, b) in row.iter().zip(&want_row) {
                assert!((a - b).abs() < 1e-6, "{dtype:?} row: {a} vs {b}");
            }
            for m in [1, 3, 9, 13] {
                let x = values(m * k, 11 + m as u32);
                let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu).unwrap();
                let want: Vec<f32> = xt
                    .matmul(&dense.t().unwrap())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                let got = weight.forward(&Activations::new(&x, m)).unwrap();
                for (g, w) in got.iter().zip(&want) {
                    // The activations' 8-bit rounding: about 1/254 of each term.
                    assert!(
                        (g - w).abs() < 0.05 + w.abs() * 0.02,
                        "{dtype:?} m={m}: {g} vs {w}"
                    );
                }
            }
        }
    }
}
