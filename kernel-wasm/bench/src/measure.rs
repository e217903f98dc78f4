//! Timing and checksum bookkeeping shared by every group, so each figure is taken the same way:
//! one untimed warm-up, then `runs` timed repetitions, reporting the median.

use std::time::Instant;

use anyhow::{bail, Result};

/// Runs `f` once untimed, then `runs` times timed; returns the median duration in milliseconds and
/// the checksum every repetition returned (a repetition that disagrees is an error).
pub fn median_ms(runs: usize, mut f: impl FnMut() -> Result<u32>) -> Result<(f64, u32)> {
    let expected = f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let got = f()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        if got != expected {
            bail!("checksum changed between repetitions: {expected:#010x} then {got:#010x}");
        }
    }
    Ok((median(&mut times), expected))
}

/// The median of `values` (mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> f64 {
    assert!(!values.is_empty(), "median of no values");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Formats a `wasmtime::Error` (which is not a `std::error::Error`) for `anyhow`.
pub fn wt(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("wasmtime: {e:?}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_odd_and_even() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
