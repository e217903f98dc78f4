//! What the model's and the adapter's training loops share: the learning-rate schedule and the
//! batches of next-token windows. Both runs are byte-for-byte reproducible, so these are the
//! exact operations, in order, that each loop did on its own before.

use anyhow::Result;
use candle_core::{Device, Tensor};

use crate::rng::Rng;

/// The learning rate of `step` of `steps`: a linear warm-up to `peak` over `warmup` steps, then a
/// cosine decay to a tenth of it.
pub fn learning_rate(step: usize, steps: usize, peak: f64, warmup: usize) -> f64 {
    if step < warmup {
        peak * (step + 1) as f64 / warmup as f64
    } else {
        let p = (step - warmup) as f64 / (steps - warmup).max(1) as f64;
        peak * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * p).cos()))
    }
}

/// `batch` windows of `window` tokens from random offsets of `data` (drawn from `r`), and the
/// tokens that follow each position: inputs `[batch, window]`, targets `[batch * window]`.
pub fn next_token_batch(
    r: &mut Rng,
    data: &[u32],
    batch: usize,
    window: usize,
    dev: &Device,
) -> Result<(Tensor, Tensor)> {
    let mut xs = Vec::with_capacity(batch * window);
    let mut ys = Vec::with_capacity(batch * window);
    for _ in 0..batch {
        let o = r.below(data.len() - window - 1);
        xs.extend_from_slice(&data[o..o + window]);
        ys.extend_from_slice(&data[o + 1..o + window + 1]);
    }
    let x = Tensor::from_vec(xs, (batch, window), dev)?;
    let y = Tensor::from_vec(ys, batch * window, dev)?;
    Ok((x, y))
}
