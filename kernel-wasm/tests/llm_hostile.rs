//! Hostile model files: absurd header fields, truncations, tokenizers with bad lengths and random
//! mutations are refused with an `LlmError`, never a panic — and the loaders allocate nothing
//! beyond the file's own size on the way (a counting allocator watches every allocation of the
//! test's thread).

mod llm_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kernel_wasm::llm::{
    checkpoint::STATE_SLACK_BYTES, Config, Generation, Limits, LlmError, Model, Sampler, State,
    Tokenizer, Weights,
};
use llm_support::file;

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(n: usize) {
    let _ = LIVE.try_with(|l| {
        let live = l.get() + n;
        l.set(live);
        let _ = PEAK.try_with(|p| p.set(p.get().max(live)));
        let _ = LARGEST.try_with(|m| m.set(m.get().max(n)));
    });
}

fn note_free(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
}

// SAFETY: forwards to the system allocator; the bookkeeping touches only thread-locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with (largest single allocation, peak bytes live) during it.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    LARGEST.with(|m| m.set(0));
    let r = f();
    (r, LARGEST.with(Cell::get), PEAK.with(Cell::get) - base)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const ABSURD: [i32; 12] = [
    0,
    -1,
    1,
    2,
    3,
    7,
    1 << 16,
    1 << 20,
    1 << 30,
    i32::MAX,
    i32::MIN,
    -(1 << 20),
];

#[test]
fn absurd_headers_are_refused_before_allocating() {
    let good = file("stories260K.bin");
    let mut refused = 0;
    for field in 0..7 {
        for v in ABSURD {
            let mut b = good.clone();
            b[field * 4..field * 4 + 4].copy_from_slice(&v.to_le_bytes());
            let (r, largest, _) = measured(|| Weights::from_bytes(&b));
            match r {
                Err(e) => {
                    refused += 1;
                    assert!(
                        largest < 1024,
                        "field {field} = {v}: {e}, allocated {largest}"
                    );
                }
                Ok(w) => assert!(largest <= b.len(), "field {field} = {v}: {w:?}"),
            }
        }
    }
    assert!(refused >= 7 * 10, "only {refused} refused");
}

#[test]
fn truncated_and_extended_checkpoints_are_refused() {
    let good = file("stories260K.bin");
    let mut rng = Rng(42);
    for _ in 0..200 {
        let n = (rng.next() as usize) % good.len();
        let (r, largest, _) = measured(|| Weights::from_bytes(&good[..n]));
        assert!(
            matches!(r, Err(LlmError::Truncated)),
            "{n} bytes: {:?}",
            r.err()
        );
        assert!(largest < 1024);
    }
    let mut long = good.clone();
    long.extend_from_slice(&[0; 4]);
    assert_eq!(
        Weights::from_bytes(&long).err(),
        Some(LlmError::TrailingBytes)
    );
}

fn checkpoint(hdr: [i32; 7]) -> Vec<u8> {
    let c = Config::from_header(hdr).unwrap();
    let mut b: Vec<u8> = hdr.iter().flat_map(|v| v.to_le_bytes()).collect();
    b.resize(c.file_size().unwrap(), 0);
    b
}

#[test]
fn a_kv_cache_beyond_the_bound_is_refused() {
    // Tiny weights but many layers and positions: the file is a few MB, the KV cache it asks
    // for hundreds.
    let b = checkpoint([8, 8, 64, 1, 1, 4, 100_000]);
    let (r, largest, _) = measured(|| Weights::from_bytes(&b));
    assert_eq!(r.err(), Some(LlmError::StateTooLarge));
    assert!(largest < 1024);
    // Within the bound it loads, and a full state stays within 4 × file + slack.
    let b = checkpoint([8, 8, 2, 1, 1, 4, 10_000]);
    let w = Weights::from_bytes(&b).unwrap();
    let (s, _, peak) = measured(|| State::new(w.config()).unwrap());
    assert!(peak <= 4 * b.len() + STATE_SLACK_BYTES, "{peak}");
    assert_eq!(s.context(), 10_000);
}

#[test]
fn mutated_checkpoints_never_panic() {
    let good = file("stories260K.bin");
    let tok = file("tok512.bin");
    let mut rng = Rng(7);
    for i in 0..120 {
        let mut b = good.clone();
        for _ in 0..1 + rng.next() % 4 {
            // Mostly the header; sometimes the weights (NaN and infinities included).
            let span = if i % 2 == 0 { 28 } else { b.len() };
            let at = (rng.next() as usize) % span;
            b[at] = rng.next() as u8;
        }
        let (r, largest, _) = measured(|| Model::from_bytes(&b));
        let Ok(mut m) = r else {
            assert!(largest < 1024);
            continue;
        };
        if let Ok(t) = Tokenizer::from_bytes(&tok, m.config.vocab_size) {
            let _ = kernel_wasm::llm::generate(&mut m, &t, "Once upon", 6);
        }
    }
}

/// A tokenizer file from (score, bytes) entries.
fn tokenizer_bytes(max_len: i32, entries: &[(f32, i32, &[u8])]) -> Vec<u8> {
    let mut b = max_len.to_le_bytes().to_vec();
    for (s, len, t) in entries {
        b.extend_from_slice(&s.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(t);
    }
    b
}

#[test]
fn tokenizers_with_bad_lengths_are_refused() {
    let e = |max_len, entries: &[(f32, i32, &[u8])], n| {
        let b = tokenizer_bytes(max_len, entries);
        let (r, largest, _) = measured(|| Tokenizer::from_bytes(&b, n));
        assert!(
            largest <= b.len().max(64),
            "allocated {largest} for {} bytes",
            b.len()
        );
        r.err()
    };
    let ok: &[(f32, i32, &[u8])] = &[(0.0, 5, b"<unk>"), (0.0, 3, b"<s>"), (0.0, 1, b" ")];
    assert_eq!(e(8, ok, 3), None);
    assert_eq!(e(0, ok, 3), Some(LlmError::TokenizerBadLength));
    assert_eq!(e(-7, ok, 3), Some(LlmError::TokenizerBadLength));
    assert_eq!(e(2, ok, 3), Some(LlmError::TokenizerBadLength));
    assert_eq!(
        e(8, &[(0.0, -1, b"")], 1),
        Some(LlmError::TokenizerBadLength)
    );
    assert_eq!(
        e(i32::MAX, &[(0.0, i32::MAX, b"abc")], 1),
        Some(LlmError::TokenizerTruncated)
    );
    assert_eq!(e(8, ok, 4), Some(LlmError::TokenizerTruncated));
    assert_eq!(e(8, ok, 1 << 40), Some(LlmError::TokenizerTruncated));
    assert_eq!(e(8, ok, 0), Some(LlmError::TokenizerTruncated));
    assert_eq!(e(8, ok, 2), Some(LlmError::TokenizerTrailingBytes));
    assert_eq!(
        e(8, &[(0.0, 2, b"\xc3\x28")], 1),
        Some(LlmError::TokenizerNotUtf8)
    );
}

#[test]
fn mutated_tokenizers_never_panic_and_stay_within_the_file() {
    let tok = file("tok512.bin");
    let mut rng = Rng(99);
    let mut loaded = 0;
    for i in 0..500 {
        let mut b = tok.clone();
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() as usize) % b.len();
            b[at] = rng.next() as u8;
        }
        if i % 4 == 0 {
            b.truncate((rng.next() as usize) % b.len());
        }
        let (r, largest, peak) = measured(|| Tokenizer::from_bytes(&b, 512));
        assert!(
            largest <= b.len().max(64),
            "single allocation {largest} > {}",
            b.len()
        );
        assert!(
            peak <= 3 * b.len() + 64,
            "peak {peak} for {} bytes",
            b.len()
        );
        if let Ok(t) = r {
            loaded += 1;
            let _ = t.encode("Once upon a time, \u{1F600} \0 zz", true);
        }
    }
    assert!(loaded > 0);
}

#[test]
fn huge_prompts_are_refused_before_encoding() {
    let m = Model::from_bytes(&file("stories260K.bin")).unwrap();
    let t = Tokenizer::from_bytes(&file("tok512.bin"), 512).unwrap();
    let huge = "a".repeat(1 << 20);
    let (r, largest, _) = measured(|| {
        Generation::new(
            &t,
            m.state(),
            &huge,
            Limits::new_tokens(1),
            Sampler::greedy(),
        )
    });
    assert_eq!(r.err(), Some(LlmError::PromptTooLong));
    assert!(largest < 1024);
    // The longest prompt that might fit is encoded quickly (O(n log n) merges) and then
    // refused or accepted by its token count.
    let long = "Once upon a time, ".repeat(t.max_token_length() * 512 / 18 - 1);
    let r = Generation::new(
        &t,
        m.state(),
        &long,
        Limits::new_tokens(1),
        Sampler::greedy(),
    );
    assert_eq!(r.err(), Some(LlmError::PromptTooLong));
    let fits = "Once upon a time, ".repeat(60);
    assert!(Generation::new(
        &t,
        m.state(),
        &fits,
        Limits::new_tokens(1),
        Sampler::greedy()
    )
    .is_ok());
}
