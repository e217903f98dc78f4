//! The engine's inner loops: dot products and matrix-vector products.
//!
//! **Invariant: the same bits on every target.** A dot product sums `LANES` = 8 interleaved
//! partial sums (lane `j` takes elements `i ≡ j mod 8` of the 8-aligned prefix, multiply then
//! add, never fused), reduces them in a fixed tree (`reduce`), then adds the tail in order.
//! The portable code and the 4-wide vector kernels (SSE2 on x86-64, NEON on aarch64, one source
//! over a few wrappers) follow that order exactly, so greedy text on the host and in the kernel
//! is the same. Fused multiply-add would round differently and is not used.

/// Interleaved partial sums per dot product.
pub const LANES: usize = 8;

/// The fixed reduction of the 8 partial sums: `(l0+l4, l1+l5, l2+l6, l3+l7)` (two 4-wide vectors
/// added), then pairwise `((v0+v1) + (v2+v3))` (NEON's `faddp` order).
#[inline(always)]
fn reduce(l: [f32; LANES]) -> f32 {
    let v = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    (v[0] + v[1]) + (v[2] + v[3])
}

/// `a · b` over the shorter length.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(any(
        all(target_arch = "aarch64", target_feature = "neon"),
        all(target_arch = "x86_64", target_feature = "sse2")
    ))]
    {
        simd::dot(a, b)
    }
    #[cfg(not(any(
        all(target_arch = "aarch64", target_feature = "neon"),
        all(target_arch = "x86_64", target_feature = "sse2")
    )))]
    {
        portable_dot(a, b)
    }
}

/// The reference implementation of [`dot`]'s summation order.
#[inline]
pub fn portable_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ac = a.chunks_exact(LANES);
    let bc = b.chunks_exact(LANES);
    let (ta, tb) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    let mut s = reduce(acc);
    for (x, y) in ta.iter().zip(tb) {
        s += x * y;
    }
    s
}

/// `out = W·x` with `W` row-major `[out.len(), x.len()]`; every element is [`dot`] of its row
/// and `x`, bit for bit (the SIMD kernels compute four rows at a time, sharing the loads of `x`).
pub fn matmul(out: &mut [f32], x: &[f32], w: &[f32]) {
    let n = x.len();
    if n == 0 {
        out.fill(0.0);
        return;
    }
    let rows = out.len().min(w.len() / n);
    #[cfg(any(
        all(target_arch = "aarch64", target_feature = "neon"),
        all(target_arch = "x86_64", target_feature = "sse2")
    ))]
    let done = simd::rows4(&mut out[..rows], x, &w[..rows * n]);
    #[cfg(not(any(
        all(target_arch = "aarch64", target_feature = "neon"),
        all(target_arch = "x86_64", target_feature = "sse2")
    )))]
    let done = 0;
    for (o, row) in out[done..rows]
        .iter_mut()
        .zip(w[done * n..].chunks_exact(n))
    {
        *o = dot(row, x);
    }
}

/// The kernels over 4-wide vectors, the same code for SSE2 and NEON through a few wrappers:
/// lanes 0–3 in one vector, 4–7 in another, multiply then add.
#[cfg(any(
    all(target_arch = "aarch64", target_feature = "neon"),
    all(target_arch = "x86_64", target_feature = "sse2")
))]
mod simd {
    use super::LANES;

    #[cfg(target_arch = "aarch64")]
    mod v {
        use core::arch::aarch64::*;
        pub type V = float32x4_t;
        #[inline(always)]
        pub unsafe fn zero() -> V {
            vdupq_n_f32(0.0)
        }
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V {
            unsafe { vld1q_f32(p) }
        }
        #[inline(always)]
        pub unsafe fn mul_add(acc: V, a: V, b: V) -> V {
            vaddq_f32(acc, vmulq_f32(a, b))
        }
        #[inline(always)]
        pub unsafe fn add(a: V, b: V) -> V {
            vaddq_f32(a, b)
        }
        /// `(v0 + v1) + (v2 + v3)`
        #[inline(always)]
        pub unsafe fn sum(v: V) -> f32 {
            let p = vpaddq_f32(v, v);
            vgetq_lane_f32::<0>(p) + vgetq_lane_f32::<1>(p)
        }
    }

    #[cfg(target_arch = "x86_64")]
    mod v {
        use core::arch::x86_64::*;
        pub type V = __m128;
        #[inline(always)]
        pub unsafe fn zero() -> V {
            unsafe { _mm_setzero_ps() }
        }
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V {
            unsafe { _mm_loadu_ps(p) }
        }
        #[inline(always)]
        pub unsafe fn mul_add(acc: V, a: V, b: V) -> V {
            unsafe { _mm_add_ps(acc, _mm_mul_ps(a, b)) }
        }
        #[inline(always)]
        pub unsafe fn add(a: V, b: V) -> V {
            unsafe { _mm_add_ps(a, b) }
        }
        /// `(v0 + v1) + (v2 + v3)`
        #[inline(always)]
        pub unsafe fn sum(v: V) -> f32 {
            let mut l = [0.0f32; 4];
            unsafe { _mm_storeu_ps(l.as_mut_ptr(), v) };
            (l[0] + l[1]) + (l[2] + l[3])
        }
    }

    /// [`super::portable_dot`]'s order: two accumulators (lanes 0–3, 4–7), added, summed
    /// pairwise, then the tail in order.
    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let chunks = n / LANES;
        // SAFETY: every load reads 4 floats at `i * 8` or `i * 8 + 4` with `i < n / 8`, inside
        // both slices; the vector extension is part of the target (cfg above).
        let mut s = unsafe {
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let (mut lo, mut hi) = (v::zero(), v::zero());
            for i in 0..chunks {
                let o = i * LANES;
                lo = v::mul_add(lo, v::load(pa.add(o)), v::load(pb.add(o)));
                hi = v::mul_add(hi, v::load(pa.add(o + 4)), v::load(pb.add(o + 4)));
            }
            v::sum(v::add(lo, hi))
        };
        for (x, y) in a[chunks * LANES..n].iter().zip(&b[chunks * LANES..n]) {
            s += x * y;
        }
        s
    }

    /// Rows of `w` (`[out.len(), x.len()]`, checked by the caller) four at a time; returns how
    /// many rows it did (a multiple of 4). Each row's result is [`dot`]'s, bit for bit.
    #[inline]
    pub fn rows4(out: &mut [f32], x: &[f32], w: &[f32]) -> usize {
        let n = x.len();
        let chunks = n / LANES;
        let tail = chunks * LANES;
        let blocks = out.len() / 4;
        if n == 0 || w.len() < blocks * 4 * n {
            return 0;
        }
        for blk in 0..blocks {
            let r0 = blk * 4 * n;
            // SAFETY: rows `r0 + k * n` for k < 4 lie inside `w` (checked above); loads read 4
            // floats at offsets `< chunks * 8 <= n` of a row and of `x`.
            let sums = unsafe {
                let (px, pw) = (x.as_ptr(), w.as_ptr().add(r0));
                let mut lo = [v::zero(); 4];
                let mut hi = [v::zero(); 4];
                for i in 0..chunks {
                    let o = i * LANES;
                    let (xl, xh) = (v::load(px.add(o)), v::load(px.add(o + 4)));
                    for k in 0..4 {
                        let pr = pw.add(k * n + o);
                        lo[k] = v::mul_add(lo[k], v::load(pr), xl);
                        hi[k] = v::mul_add(hi[k], v::load(pr.add(4)), xh);
                    }
                }
                let mut s = [0.0f32; 4];
                for k in 0..4 {
                    s[k] = v::sum(v::add(lo[k], hi[k]));
                }
                s
            };
            for k in 0..4 {
                let row = &w[r0 + k * n..r0 + (k + 1) * n];
                let mut s = sums[k];
                for (a, b) in row[tail..].iter().zip(&x[tail..]) {
                    s += a * b;
                }
                out[blk * 4 + k] = s;
            }
        }
        blocks * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    #[test]
    fn dot_matches_its_definition() {
        let mut rng = XorShift(77);
        for n in [0usize, 1, 7, 8, 9, 16, 63, 64, 65, 172] {
            let a: alloc::vec::Vec<f32> = (0..n)
                .map(|_| (rng.next() % 1000) as f32 / 37.0 - 13.0)
                .collect();
            let b: alloc::vec::Vec<f32> = (0..n)
                .map(|_| (rng.next() % 1000) as f32 / 91.0 - 5.0)
                .collect();
            // The definition, spelled out.
            let mut lanes = [0.0f32; LANES];
            let full = n / LANES * LANES;
            for i in 0..full {
                lanes[i % LANES] += a[i] * b[i];
            }
            let mut want = reduce(lanes);
            for i in full..n {
                want += a[i] * b[i];
            }
            assert_eq!(dot(&a, &b).to_bits(), want.to_bits(), "n = {n}");
            assert_eq!(portable_dot(&a, &b).to_bits(), want.to_bits(), "n = {n}");
            // matmul: every row is the dot product of that row, bit for bit.
            for rows in [1usize, 3, 4, 5, 9] {
                let w: alloc::vec::Vec<f32> = (0..rows * n)
                    .map(|_| (rng.next() % 1000) as f32 / 53.0 - 9.0)
                    .collect();
                let mut out = alloc::vec![f32::NAN; rows];
                matmul(&mut out, &b, &w);
                for (r, o) in out.iter().enumerate() {
                    let want = if n == 0 {
                        0.0
                    } else {
                        portable_dot(&w[r * n..(r + 1) * n], &b)
                    };
                    assert_eq!(o.to_bits(), want.to_bits(), "n = {n}, row {r}/{rows}");
                }
            }
        }
    }
}
