//! Timing and checksum bookkeeping shared by every group, so each figure is taken the same way:
//! one untimed warm-up, then `runs` timed repetitions, reporting the median.

use std::time::Instant;

use anyhow::{bail, Context, Result};

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

/// One timed unit of work that returns a checksum.
pub type Runner = Box<dyn FnMut() -> Result<u32>>;

/// Like [`median_ms`] for several runners at once, taking turns within each repetition (so drift in
/// machine load hits all alike). Returns `(median ms, checksum)` per runner, in order.
pub fn interleaved(runs: usize, runners: &mut [(&'static str, Runner)]) -> Result<Vec<(f64, u32)>> {
    let mut expected = Vec::with_capacity(runners.len());
    for (name, run) in runners.iter_mut() {
        expected.push(run().with_context(|| format!("on {name}"))?);
    }
    let mut times = vec![Vec::with_capacity(runs); runners.len()];
    for _ in 0..runs {
        for (i, (name, run)) in runners.iter_mut().enumerate() {
            let start = Instant::now();
            let got = run().with_context(|| format!("on {name}"))?;
            times[i].push(start.elapsed().as_secs_f64() * 1e3);
            if got != expected[i] {
                bail!(
                    "{name}: checksum changed between repetitions: {:#010x} then {got:#010x}",
                    expected[i]
                );
            }
        }
    }
    Ok(times
        .iter_mut()
        .zip(expected)
        .map(|(t, sum)| (median(t), sum))
        .collect())
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
