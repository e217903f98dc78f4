//! A small deterministic xorshift generator for the randomized tests (unit tests through
//! `crate::test_rng`, integration tests through `#[path]`): the same inputs on every run, no
//! dependency.

/// Marsaglia's xorshift64; the seed must not be zero.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
