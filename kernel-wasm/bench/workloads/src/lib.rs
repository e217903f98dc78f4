//! The compute workloads of `cargo xtask bench`, written once.
//!
//! This file exists so that every runtime runs the same computation: it is compiled to a `cdylib`
//! for `wasm32-unknown-unknown` (the module kernel-wasm, raw wasmi and wasmtime load, also written to
//! `target/bench/wasm/workloads.wasm` for the kernel's own `bench` command) and linked as an `rlib`
//! into the bench binary for the "native" column. Each workload returns a checksum; the bench refuses
//! to report a case whose runtimes disagree on it.
//!
//! The crate is `no_std` and allocation-free: buffers are statics, which on wasm32 are zero-initialised
//! linear memory (no data segment). Inputs pass through [`black_box`] so the native compiler cannot
//! fold a workload into a constant.

#![no_std]

// Natively the crate is also built as a cdylib, which needs std's panic handler; the bench binary links
// std anyway. On wasm32 a panic is a trap.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

use core::cell::UnsafeCell;
use core::hint::black_box;

/// A static buffer the workloads reuse.
///
/// Safety contract: the bench runs one workload at a time on one thread (a wasm instance is
/// single-threaded by construction; natively the bench calls the functions sequentially), so no two
/// live references to one buffer ever exist.
struct Scratch<T>(UnsafeCell<T>);

// SAFETY: see the contract above; the workloads are never called concurrently.
unsafe impl<T> Sync for Scratch<T> {}

impl<T> Scratch<T> {
    /// # Safety
    /// The caller must be the only user of this buffer for the lifetime of the reference.
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self) -> &mut T {
        // SAFETY: exclusivity is the caller's obligation (single-threaded, non-reentrant workloads).
        unsafe { &mut *self.0.get() }
    }
}

/// xorshift32: the deterministic pseudo-random source of every generated input.
#[derive(Clone, Copy)]
struct Rng(u32);

impl Rng {
    fn new(seed: u32) -> Self {
        Rng(if seed == 0 { 0x9E37_79B9 } else { seed })
    }
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

// ---------------------------------------------------------------------------------------------------
// fib

/// Naive recursive Fibonacci: call-heavy, no memory traffic.
#[cfg_attr(target_arch = "wasm32", export_name = "fib")]
pub extern "C" fn fib(n: u32) -> u32 {
    fn go(n: u32) -> u32 {
        if n < 2 {
            n
        } else {
            go(n - 1).wrapping_add(go(n - 2))
        }
    }
    go(black_box(n))
}

// ---------------------------------------------------------------------------------------------------
// sha256

const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// FIPS 180-4 SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut chunks = data.chunks_exact(64);
    for block in &mut chunks {
        compress(&mut h, block);
    }
    // Padding: the remainder, 0x80, zeros, and the bit length in the last 8 bytes (one or two blocks).
    let rest = chunks.remainder();
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let tail_len = if rest.len() < 56 { 64 } else { 128 };
    let bits = (data.len() as u64).wrapping_mul(8);
    tail[tail_len - 8..tail_len].copy_from_slice(&bits.to_be_bytes());
    for block in tail[..tail_len].chunks_exact(64) {
        compress(&mut h, block);
    }
    let mut out = [0u8; 32];
    for (dst, word) in out.chunks_exact_mut(4).zip(h) {
        dst.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn compress(h: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for (i, word) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    for i in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K256[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (slot, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
        *slot = slot.wrapping_add(v);
    }
}

const MIB: usize = 1 << 20;
static SHA_BUF: Scratch<[u8; MIB]> = Scratch(UnsafeCell::new([0; MIB]));

/// Fills a 1 MiB buffer with pseudo-random bytes and hashes it with SHA-256. Returns the first four
/// digest bytes (big-endian) as the checksum.
#[cfg_attr(target_arch = "wasm32", export_name = "sha256_1mib")]
pub extern "C" fn sha256_1mib() -> u32 {
    // SAFETY: single-threaded, non-reentrant (see `Scratch`).
    let buf = unsafe { SHA_BUF.get() };
    let mut rng = Rng::new(black_box(0x5EED_0001));
    for word in buf.chunks_exact_mut(4) {
        word.copy_from_slice(&rng.next().to_le_bytes());
    }
    let digest = sha256(black_box(&buf[..]));
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

// ---------------------------------------------------------------------------------------------------
// matmul

const N: usize = 128;
static MAT: Scratch<[[f64; N * N]; 3]> = Scratch(UnsafeCell::new([[0.0; N * N]; 3]));

/// C = A × B for 128×128 `f64` matrices with generated entries in [-1, 1). The checksum folds the bit
/// patterns of C, so every runtime must round exactly alike (wasm and Rust never fuse multiply-adds).
#[cfg_attr(target_arch = "wasm32", export_name = "matmul128")]
pub extern "C" fn matmul128() -> u32 {
    // SAFETY: single-threaded, non-reentrant (see `Scratch`).
    let [a, b, c] = unsafe { MAT.get() };
    let mut rng = Rng::new(black_box(0x5EED_0002));
    for x in a.iter_mut().chain(b.iter_mut()) {
        *x = f64::from(rng.next() >> 8) / f64::from(1u32 << 23) - 1.0;
    }
    for i in 0..N {
        for j in 0..N {
            let mut sum = 0.0;
            for k in 0..N {
                sum += a[i * N + k] * b[k * N + j];
            }
            c[i * N + j] = sum;
        }
    }
    let mut check = 0u32;
    for x in black_box(&c[..]) {
        let bits = x.to_bits();
        check = check.rotate_left(5) ^ (bits as u32) ^ ((bits >> 32) as u32);
    }
    check
}

// ---------------------------------------------------------------------------------------------------
// sort

/// The largest `n` [`sort`] accepts (4 MiB of `u32`).
pub const SORT_MAX: u32 = 1 << 20;
static SORT_BUF: Scratch<[u32; SORT_MAX as usize]> =
    Scratch(UnsafeCell::new([0; SORT_MAX as usize]));

/// Generates `n` (at most [`SORT_MAX`]) pseudo-random `u32`s, sorts them with core's unstable sort
/// and returns a position-weighted checksum (0 if the result is not sorted).
#[cfg_attr(target_arch = "wasm32", export_name = "sort")]
pub extern "C" fn sort(n: u32) -> u32 {
    let n = black_box(n).min(SORT_MAX) as usize;
    // SAFETY: single-threaded, non-reentrant (see `Scratch`).
    let buf = &mut unsafe { SORT_BUF.get() }[..n];
    let mut rng = Rng::new(0x5EED_0003);
    for x in buf.iter_mut() {
        *x = rng.next();
    }
    buf.sort_unstable();
    if buf.windows(2).any(|w| w[0] > w[1]) {
        return 0;
    }
    buf.iter().enumerate().fold(0u32, |acc, (i, &x)| {
        acc.wrapping_mul(31).wrapping_add(x ^ i as u32)
    })
}

// ---------------------------------------------------------------------------------------------------
// coremark_like

/// A CoreMark-style mix, written for this project (CoreMark's own source is not used): each iteration
/// runs list processing, a small integer matrix kernel and a number-parsing state machine on inputs
/// derived from the iteration, and chains all results through CRC-16. Returns the final CRC.
#[cfg_attr(target_arch = "wasm32", export_name = "coremark_like")]
pub extern "C" fn coremark_like(iterations: u32) -> u32 {
    let iterations = black_box(iterations);
    let mut crc = 0u16;
    for it in 0..iterations {
        let seed = it.wrapping_mul(0x9E37_79B9) ^ 0x1234_5678;
        crc = crc16(list_kernel(seed), crc);
        crc = crc16(matrix_kernel(seed), crc);
        crc = crc16(state_kernel(seed), crc);
    }
    u32::from(crc)
}

/// CRC-16/ARC of the four little-endian bytes of `value`, continuing from `crc`.
fn crc16(value: u32, mut crc: u16) -> u16 {
    for byte in value.to_le_bytes() {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

const LIST_LEN: usize = 64;
const NIL: u16 = u16::MAX;

/// A singly linked list kept in an array (nodes link by index, as CoreMark's list does): build it,
/// search it, reverse it, merge-sort it by value, and fold the walk into a checksum.
fn list_kernel(seed: u32) -> u32 {
    let mut rng = Rng::new(seed);
    let mut value = [0i16; LIST_LEN];
    let mut next = [NIL; LIST_LEN];
    for i in 0..LIST_LEN {
        value[i] = (rng.next() & 0x7fff) as i16 - 0x4000;
        next[i] = if i + 1 < LIST_LEN {
            (i + 1) as u16
        } else {
            NIL
        };
    }
    let mut head = 0u16;
    let mut acc = 0u32;
    // Find a few values by linear search.
    for probe in 0..4 {
        let target = value[(seed as usize + probe * 17) % LIST_LEN];
        let (mut cur, mut steps) = (head, 0u32);
        while cur != NIL && value[cur as usize] != target {
            cur = next[cur as usize];
            steps += 1;
        }
        acc = acc.wrapping_add(steps);
    }
    // Reverse in place.
    let mut prev = NIL;
    while head != NIL {
        let after = next[head as usize];
        next[head as usize] = prev;
        prev = head;
        head = after;
    }
    head = prev;
    // Merge sort by value.
    head = merge_sort(&value, &mut next, head, LIST_LEN);
    // Walk the sorted list: check order and fold values with positions.
    let (mut cur, mut pos, mut last) = (head, 0u32, i16::MIN);
    while cur != NIL {
        let v = value[cur as usize];
        if v < last {
            return 0;
        }
        last = v;
        acc = acc.wrapping_mul(33).wrapping_add((v as u32) ^ pos);
        pos += 1;
        cur = next[cur as usize];
    }
    acc ^ pos
}

/// Sorts the `len`-node list at `head` by value (top-down merge sort, stable); returns the new head.
fn merge_sort(value: &[i16; LIST_LEN], next: &mut [u16; LIST_LEN], head: u16, len: usize) -> u16 {
    if len < 2 {
        return head;
    }
    // Cut after the first half.
    let half = len / 2;
    let mut cut = head;
    for _ in 1..half {
        cut = next[cut as usize];
    }
    let second = next[cut as usize];
    next[cut as usize] = NIL;
    let mut left = merge_sort(value, next, head, half);
    let mut right = merge_sort(value, next, second, len - half);
    let (mut merged, mut tail) = (NIL, NIL);
    while left != NIL || right != NIL {
        let take_left =
            right == NIL || (left != NIL && value[left as usize] <= value[right as usize]);
        let node = if take_left { left } else { right };
        if take_left {
            left = next[left as usize];
        } else {
            right = next[right as usize];
        }
        if tail == NIL {
            merged = node;
        } else {
            next[tail as usize] = node;
        }
        tail = node;
    }
    merged
}

const MDIM: usize = 12;

/// CoreMark's matrix part in spirit: add a constant, multiply by a constant, matrix × vector,
/// matrix × matrix, and a bit-extracting pass, on small 16-bit inputs with 32-bit results.
fn matrix_kernel(seed: u32) -> u32 {
    let mut rng = Rng::new(seed ^ 0xA5A5_A5A5);
    let mut a = [[0i32; MDIM]; MDIM];
    let mut b = [[0i32; MDIM]; MDIM];
    for i in 0..MDIM {
        for j in 0..MDIM {
            a[i][j] = i32::from((rng.next() & 0xffff) as u16 as i16) >> 4;
            b[i][j] = i32::from((rng.next() & 0xffff) as u16 as i16) >> 4;
        }
    }
    let k = (seed & 0xff) as i32 + 1;
    let mut acc = 0u32;
    for row in a.iter_mut() {
        for x in row.iter_mut() {
            *x = x.wrapping_add(k);
        }
    }
    for row in b.iter_mut() {
        for x in row.iter_mut() {
            *x = x.wrapping_mul(k);
        }
    }
    // Matrix × vector (the first column of b).
    for row in &a {
        let mut s = 0i32;
        for (j, x) in row.iter().enumerate() {
            s = s.wrapping_add(x.wrapping_mul(b[j][0]));
        }
        acc = acc.wrapping_add(s as u32);
    }
    // Matrix × matrix, then pull bit fields out of each product.
    for a_row in &a {
        for j in 0..MDIM {
            let mut s = 0i32;
            for (a_ik, b_row) in a_row.iter().zip(&b) {
                s = s.wrapping_add(a_ik.wrapping_mul(b_row[j]));
            }
            let field = ((s as u32) >> 2) & 0x0f;
            acc = acc.wrapping_mul(7).wrapping_add((s as u32) ^ field);
        }
    }
    acc
}

/// CoreMark's state machine in spirit: classify comma-separated tokens of a generated text as
/// integer, decimal, scientific or invalid, counting transitions and each class.
fn state_kernel(seed: u32) -> u32 {
    const ALPHABET: &[u8; 16] = b"0123456789.e-+,x";
    let mut rng = Rng::new(seed ^ 0x5A5A_5A5A);
    let mut text = [0u8; 256];
    for c in text.iter_mut() {
        // Bias towards digits and separators so every state is reached.
        let r = rng.next();
        *c = if r & 3 != 0 {
            ALPHABET[(r >> 8) as usize % 10]
        } else {
            ALPHABET[(r >> 8) as usize % 16]
        };
    }
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Start,
        Sign,
        Int,
        Dot,
        Frac,
        Exp,
        ExpSign,
        ExpInt,
        Invalid,
    }
    let mut counts = [0u32; 9];
    let mut transitions = 0u32;
    let mut state = S::Start;
    for &c in text.iter() {
        let next = if c == b',' {
            counts[state as usize] += 1;
            S::Start
        } else {
            match (state, c) {
                (S::Start, b'+' | b'-') => S::Sign,
                (S::Start | S::Sign | S::Int, b'0'..=b'9') => S::Int,
                (S::Start | S::Sign | S::Int, b'.') => S::Dot,
                (S::Dot | S::Frac, b'0'..=b'9') => S::Frac,
                (S::Int | S::Frac, b'e') => S::Exp,
                (S::Exp, b'+' | b'-') => S::ExpSign,
                (S::Exp | S::ExpSign | S::ExpInt, b'0'..=b'9') => S::ExpInt,
                _ => S::Invalid,
            }
        };
        if next != state {
            transitions += 1;
        }
        state = next;
    }
    counts[state as usize] += 1;
    counts
        .iter()
        .fold(transitions, |acc, &n| acc.wrapping_mul(31).wrapping_add(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answers() {
        // FIPS 180-4 examples: one block, empty input, and the two-block padding case.
        assert_eq!(sha256(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(sha256(b"abc")[28..], [0xf2, 0x00, 0x15, 0xad]);
        assert_eq!(sha256(b"")[..4], [0xe3, 0xb0, 0xc4, 0x42]);
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(sha256(two_blocks)[..4], [0x24, 0x8d, 0x6a, 0x61]);
    }

    #[test]
    fn fib_and_sort() {
        assert_eq!(fib(20), 6765);
        assert_ne!(sort(1000), 0);
    }

    #[test]
    fn coremark_is_deterministic() {
        assert_eq!(coremark_like(3), coremark_like(3));
        assert_ne!(list_kernel(7), 0);
    }
}
