//! The engine's inner loops: dot products and matrix-vector products.
//!
//! **Invariant: the same bits on every target.** A dot product sums `LANES` = 8 interleaved
//! partial sums (lane `j` takes elements `i ≡ j mod 8` of the 8-aligned prefix, multiply then
//! add, never fused), reduces them in a fixed tree (`reduce`), then adds the tail in order.
//! The portable code (which LLVM vectorizes: 2×SSE on x86-64, 2×NEON on aarch64) and the NEON
//! intrinsics in the kernel build follow that order exactly, so greedy text on the host and in
//! the kernel is the same. Fused multiply-add would round differently and is not used.

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
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    {
        neon::dot(a, b)
    }
    #[cfg(not(all(target_arch = "aarch64", target_feature = "neon")))]
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

/// `out = W·x` with `W` row-major `[out.len(), x.len()]`.
pub fn matmul(out: &mut [f32], x: &[f32], w: &[f32]) {
    let n = x.len();
    if n == 0 {
        out.fill(0.0);
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(n)) {
        *o = dot(row, x);
    }
}

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod neon {
    use core::arch::aarch64::*;

    use super::LANES;

    /// [`super::portable_dot`] with two `float32x4_t` accumulators: lanes 0–3 and 4–7.
    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let chunks = n / LANES;
        // SAFETY: every load reads 4 floats at `i * 8` or `i * 8 + 4` with `i < n / 8`, inside
        // both slices; NEON is enabled for this target (cfg above).
        let mut s = unsafe {
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let mut lo = vdupq_n_f32(0.0);
            let mut hi = vdupq_n_f32(0.0);
            for i in 0..chunks {
                let o = i * LANES;
                lo = vaddq_f32(lo, vmulq_f32(vld1q_f32(pa.add(o)), vld1q_f32(pb.add(o))));
                hi = vaddq_f32(
                    hi,
                    vmulq_f32(vld1q_f32(pa.add(o + 4)), vld1q_f32(pb.add(o + 4))),
                );
            }
            let v = vaddq_f32(lo, hi);
            let p = vpaddq_f32(v, v); // (v0+v1, v2+v3, ..)
            vgetq_lane_f32::<0>(p) + vgetq_lane_f32::<1>(p)
        };
        for (x, y) in a[chunks * LANES..n].iter().zip(&b[chunks * LANES..n]) {
            s += x * y;
        }
        s
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
        }
    }
}
