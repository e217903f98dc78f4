//! Choosing the next token as run.c does: greedy argmax at temperature 0, otherwise softmax with
//! temperature and multinomial or top-p (nucleus) sampling driven by run.c's xorshift.

use alloc::vec::Vec;

/// A sampler's settings and random state.
#[derive(Clone, Debug)]
pub struct Sampler {
    pub temperature: f32,
    pub topp: f32,
    state: u64,
    scratch: Vec<(usize, f32)>,
}

/// In-place softmax (run.c `softmax`).
pub fn softmax(x: &mut [f32]) {
    let Some(&first) = x.first() else { return };
    let max = x.iter().fold(first, |m, &v| if v > m { v } else { m });
    let mut sum = 0.0f32;
    for v in x.iter_mut() {
        *v = libm::expf(*v - max);
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// Index of the first largest value (run.c `sample_argmax`).
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best
}

impl Sampler {
    /// Always the most likely token (temperature 0).
    pub fn greedy() -> Sampler {
        Sampler::new(0.0, 0.9, 1)
    }

    /// Reserves the top-p scratch for a vocabulary of `n`, so sampling never allocates.
    pub fn reserve(&mut self, n: usize) {
        self.scratch.reserve(n.saturating_sub(self.scratch.len()));
    }

    /// run.c's sampler: temperature 0 is greedy; otherwise softmax at `temperature`, then top-p
    /// when `0 < topp < 1`, else plain multinomial; `seed` drives run.c's xorshift (a zero seed
    /// would stay zero, so it is replaced by 1).
    pub fn new(temperature: f32, topp: f32, seed: u64) -> Sampler {
        Sampler {
            temperature,
            topp,
            state: if seed == 0 { 1 } else { seed },
            scratch: Vec::new(),
        }
    }

    fn random_u32(&mut self) -> u32 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    fn random_f32(&mut self) -> f32 {
        (self.random_u32() >> 8) as f32 / 16_777_216.0
    }

    /// Picks a token from `logits` (modified in place, as in run.c).
    pub fn sample(&mut self, logits: &mut [f32]) -> usize {
        if logits.is_empty() {
            return 0;
        }
        if self.temperature == 0.0 {
            return argmax(logits);
        }
        for l in logits.iter_mut() {
            *l /= self.temperature;
        }
        softmax(logits);
        let coin = self.random_f32();
        if self.topp <= 0.0 || self.topp >= 1.0 {
            let mut cdf = 0.0f32;
            for (i, &p) in logits.iter().enumerate() {
                cdf += p;
                if coin < cdf {
                    return i;
                }
            }
            return logits.len() - 1;
        }
        self.topp(logits, coin)
    }

    fn topp(&mut self, probs: &[f32], coin: f32) -> usize {
        let n = probs.len();
        let cutoff = (1.0 - self.topp) / (n.max(2) - 1) as f32;
        self.scratch.clear();
        self.scratch.extend(
            probs
                .iter()
                .copied()
                .enumerate()
                .filter(|&(_, p)| p >= cutoff),
        );
        if self.scratch.is_empty() {
            return argmax(probs);
        }
        self.scratch
            .sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(core::cmp::Ordering::Equal));
        let mut cum = 0.0f32;
        let mut last = self.scratch.len() - 1;
        for (i, &(_, p)) in self.scratch.iter().enumerate() {
            cum += p;
            if cum > self.topp {
                last = i;
                break;
            }
        }
        let r = coin * cum;
        let mut cdf = 0.0f32;
        for &(idx, p) in &self.scratch[..=last] {
            cdf += p;
            if r < cdf {
                return idx;
            }
        }
        self.scratch[last].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_seeded() {
        let mut s = Sampler::new(0.0, 0.9, 1);
        assert_eq!(s.sample(&mut [0.1, 3.0, 2.0]), 1);
        let mut a = Sampler::new(1.0, 0.9, 42);
        let mut b = Sampler::new(1.0, 0.9, 42);
        for _ in 0..50 {
            let mut l1 = [0.5, 1.0, 0.2, 0.9];
            let mut l2 = l1;
            let x = a.sample(&mut l1);
            assert_eq!(x, b.sample(&mut l2));
            assert!(x < 4);
        }
        let mut m = Sampler::new(1.0, 1.0, 7);
        assert!(m.sample(&mut [f32::NAN, 1.0]) < 2);
    }
}
