//! Slice arithmetic of the decoder: norms, activations, rotary embeddings. Written as
//! plain loops over fixed-width lanes that the compiler vectorises, each public function
//! compiled twice, for AVX2+FMA and for the baseline, and picked at run time (`multiversion!`).

/// Lanes of the accumulators: two AVX registers, for independent chains.
const LANES: usize = 16;

/// Defines `fn $name` that runs `$body` compiled for AVX2+FMA when the CPU has them, else the
/// baseline build of the same body. Helpers it calls are `#[inline(always)]`, so they are
/// compiled with the caller's features.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx2` is compiled for.
                    #[allow(unsafe_code)]
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for t in 0..LANES {
            acc[t] += x[t] * y[t];
        }
    }
    let mut sum = hsum(&acc);
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        sum += x * y;
    }
    sum
}

#[inline(always)]
fn hsum(acc: &[f32; LANES]) -> f32 {
    let mut half = [0f32; LANES / 2];
    for t in 0..LANES / 2 {
        half[t] = acc[t] + acc[t + LANES / 2];
    }
    let mut quarter = [0f32; LANES / 4];
    for t in 0..LANES / 4 {
        quarter[t] = half[t] + half[t + LANES / 4];
    }
    quarter.iter().sum()
}

/// `y += a * x`.
#[inline(always)]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `e^x` for every value, to about 2 ulp (Cephes' polynomial), without a libm call per value so
/// that the loop vectorises; below -87 (and for -inf) it is 0, above ln(f32::MAX) it saturates.
#[inline(always)]
pub(crate) fn exp_in_place(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = exp(*x);
    }
}

#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to the nearest integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let input = x;
    let x = x.clamp(-87.0, 88.722_83);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5e-1;
    let e = p * r * r + r + 1.0;
    // 2^n, built in the exponent bits; n is in -126..=128 after the clamp, and 2^128 is not a
    // finite f32, so that one is 2^127 * 2.
    let scale = f32::from_bits(((n.min(127.0) as i32 + 127) as u32) << 23);
    let twice = if n > 127.0 { 2.0 } else { 1.0 };
    if input > -87.0 {
        e * scale * twice
    } else {
        0.0
    }
}

multiversion! {
    /// `out = x / rms(x) * weight` for each `weight.len()`-long row of `x`.
    pub(crate) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
        let d = weight.len();
        for (x, out) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let scale = 1.0 / (dot(x, x) / d as f32 + eps).sqrt();
            for ((o, x), w) in out.iter_mut().zip(x).zip(weight) {
                *o = x * scale * w;
            }
        }
    }
}

multiversion! {
    /// [`rms_norm`] in place.
    pub(crate) fn rms_norm_in_place(x: &mut [f32], weight: &[f32], eps: f32) {
        let d = weight.len();
        for x in x.chunks_exact_mut(d) {
            let scale = 1.0 / (dot(x, x) / d as f32 + eps).sqrt();
            for (x, w) in x.iter_mut().zip(weight) {
                *x *= scale * w;
            }
        }
    }
}

multiversion! {
    /// `gate = silu(gate) * up`.
    pub(crate) fn silu_mul(gate: &mut [f32], up: &[f32]) {
        for chunk in gate.chunks_mut(256).zip(up.chunks(256)) {
            let (g, u) = chunk;
            let mut e = [0f32; 256];
            let e = &mut e[..g.len()];
            for (e, g) in e.iter_mut().zip(g.iter()) {
                *e = -*g;
            }
            exp_in_place(e);
            for ((g, u), e) in g.iter_mut().zip(u).zip(e.iter()) {
                *g = *g / (1.0 + e) * u;
            }
        }
    }
}

multiversion! {
    /// `gate = gelu(gate) * up`, GELU's tanh form (`0.5 x (1 + tanh(...))` = `x σ(2 ...)`).
    pub(crate) fn gelu_mul(gate: &mut [f32], up: &[f32]) {
        const SQRT_2_OVER_PI: f32 = 0.797_884_6;
        const COEF: f32 = 0.044_715;
        for chunk in gate.chunks_mut(256).zip(up.chunks(256)) {
            let (g, u) = chunk;
            let mut e = [0f32; 256];
            let e = &mut e[..g.len()];
            for (e, x) in e.iter_mut().zip(g.iter()) {
                *e = -2.0 * SQRT_2_OVER_PI * x * (1.0 + COEF * x * x);
            }
            exp_in_place(e);
            for ((g, u), e) in g.iter_mut().zip(u).zip(e.iter()) {
                *g = *g / (1.0 + e) * u;
            }
        }
    }
}

multiversion! {
    /// `x += y`.
    pub(crate) fn add_in_place(x: &mut [f32], y: &[f32]) {
        for (x, y) in x.iter_mut().zip(y) {
            *x += y;
        }
    }
}

multiversion! {
    /// `x *= a`.
    pub(crate) fn scale_in_place(x: &mut [f32], a: f32) {
        for x in x.iter_mut() {
            *x *= a;
        }
    }
}

/// Rotary position embedding of one head (`x`, `head_dim` values) at the angles whose cosines
/// and sines are `cos`/`sin` (`rot_dim / 2` each); values past `rot_dim` are left alone.
/// `neox`: pairs are `(i, i + rot_dim/2)` (GPT-NeoX, Qwen, Gemma), else `(2i, 2i+1)` (Llama).
#[inline(always)]
pub(crate) fn rope(x: &mut [f32], cos: &[f32], sin: &[f32], neox: bool) {
    let half = cos.len();
    if neox {
        let (a, rest) = x.split_at_mut(half);
        let b = &mut rest[..half];
        for i in 0..half {
            let (x0, x1) = (a[i], b[i]);
            a[i] = x0 * cos[i] - x1 * sin[i];
            b[i] = x0 * sin[i] + x1 * cos[i];
        }
    } else {
        for (i, pair) in x[..2 * half].chunks_exact_mut(2).enumerate() {
            let (x0, x1) = (pair[0], pair[1]);
            pair[0] = x0 * cos[i] - x1 * sin[i];
            pair[1] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

#[inline(always)]
pub(crate) fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for t in 0..LANES {
            acc[t] += c[t];
        }
    }
    hsum(&acc) + chunks.remainder().iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_libm() {
        let mut xs: Vec<f32> = (-1000..=1000).map(|i| i as f32 * 0.09).collect();
        let want: Vec<f32> = xs.iter().map(|x| x.exp()).collect();
        exp_in_place(&mut xs);
        for (got, want) in xs.iter().zip(&want) {
            if want.is_finite() {
                assert!((got - want).abs() <= want * 3e-7 + 1e-37, "{got} vs {want}");
            } else {
                assert!(*got > 3e38, "{got} does not saturate");
            }
        }
        let mut tiny = [-200.0f32, 200.0, f32::NEG_INFINITY];
        exp_in_place(&mut tiny);
        assert!(tiny[0] == 0.0 && tiny[1] > 1e38 && tiny[2] == 0.0);
    }

    #[test]
    fn activations_match_their_definitions() {
        let x: Vec<f32> = (-40..40).map(|i| i as f32 * 0.25).collect();
        let up: Vec<f32> = x.iter().map(|v| 1.0 + v * 0.1).collect();
        let mut silu = x.clone();
        silu_mul(&mut silu, &up);
        let mut gelu = x.clone();
        gelu_mul(&mut gelu, &up);
        for i in 0..x.len() {
            let v = x[i];
            let want = v / (1.0 + (-v).exp()) * up[i];
            assert!((silu[i] - want).abs() < 1e-5, "silu({v})");
            let inner = 0.797_884_6 * (v + 0.044_715 * v * v * v);
            let want = 0.5 * v * (1.0 + inner.tanh()) * up[i];
            assert!(
                (gelu[i] - want).abs() < 1e-5,
                "gelu({v}): {} vs {want}",
                gelu[i]
            );
        }
    }
}
