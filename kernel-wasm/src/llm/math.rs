//! Scalar math for the engine without `std` or `libm`: evaluated in `f64` and rounded once to
//! `f32`, so each result is within an ulp of the C library's `expf`/`sqrtf`/`cosf`/`sinf`/`powf`.

use core::f64::consts::{LN_2, PI};

/// `e^x`: range reduction by `ln 2`, then a Taylor series on `|r| <= ln2/2`.
pub fn exp(x: f32) -> f32 {
    exp64(f64::from(x)) as f32
}

fn exp64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    let k = (x / LN_2 + if x >= 0.0 { 0.5 } else { -0.5 }) as i64;
    let r = x - k as f64 * LN_2;
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    for n in 1..=20 {
        term *= r / f64::from(n);
        sum += term;
    }
    // Scale by 2^k in steps that stay in range.
    let mut k = k;
    while k > 1000 {
        sum *= f64::from_bits(((1023 + 1000) as u64) << 52);
        k -= 1000;
    }
    while k < -1000 {
        sum *= f64::from_bits(((1023 - 1000) as u64) << 52);
        k += 1000;
    }
    sum * f64::from_bits(((1023 + k) as u64) << 52)
}

/// `ln x` for positive finite `x` (used only for `powf` with a constant base).
fn ln64(x: f64) -> f64 {
    // x = m * 2^e with m in [1, 2); ln m through atanh series.
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut n = 1.0;
    while n < 80.0 {
        sum += term / n;
        term *= s2;
        n += 2.0;
    }
    2.0 * sum + e as f64 * LN_2
}

/// `base^e` for positive `base`.
pub fn powf(base: f32, e: f32) -> f32 {
    exp64(f64::from(e) * ln64(f64::from(base))) as f32
}

/// Square root by Newton's method in `f64`.
pub fn sqrt(x: f32) -> f32 {
    let x = f64::from(x);
    if x.is_nan() || x < 0.0 {
        return f32::NAN;
    }
    if x == 0.0 || x.is_infinite() {
        return x as f32;
    }
    let bits = x.to_bits();
    let mut y = f64::from_bits((bits >> 1) + (1023u64 << 51));
    for _ in 0..8 {
        y = 0.5 * (y + x / y);
    }
    y as f32
}

/// `(cos x, sin x)`: reduction modulo `2π` in `f64`, then Taylor series on `[-π, π]`.
pub fn cos_sin(x: f32) -> (f32, f32) {
    let x = f64::from(x);
    if !x.is_finite() {
        return (f32::NAN, f32::NAN);
    }
    let two_pi = 2.0 * PI;
    let mut r = x - (x / two_pi + 0.5).floor_f64() * two_pi;
    if r > PI {
        r -= two_pi;
    }
    let r2 = r * r;
    let (mut c, mut s) = (1.0f64, r);
    let (mut tc, mut ts) = (1.0f64, r);
    for n in 1..30 {
        let n = f64::from(n);
        tc *= -r2 / ((2.0 * n - 1.0) * (2.0 * n));
        ts *= -r2 / ((2.0 * n) * (2.0 * n + 1.0));
        c += tc;
        s += ts;
    }
    (c as f32, s as f32)
}

trait Floor {
    fn floor_f64(self) -> f64;
}

impl Floor for f64 {
    fn floor_f64(self) -> f64 {
        let t = self as i64 as f64;
        if t > self {
            t - 1.0
        } else {
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((exp(1.0) - core::f32::consts::E).abs() < 1e-6);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(sqrt(4.0), 2.0);
        assert!((sqrt(2.0) - core::f32::consts::SQRT_2).abs() < 1e-7);
        let (c, s) = cos_sin(1.0);
        assert!((c - 0.540_302_3).abs() < 1e-6 && (s - 0.841_471).abs() < 1e-6);
        assert!((powf(10000.0, 0.5) - 100.0).abs() < 1e-4);
    }
}
