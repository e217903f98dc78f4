//! Randomized mutation of a small checkpoint and tokenizer: every mutant loads or fails with an
//! `LlmError`, never panics, and loaded mutants generate without panicking.

use super::checkpoint::tiny_checkpoint;
use super::*;
use crate::test_rng::XorShift;

fn tiny_tokenizer(n: usize) -> Vec<u8> {
    let mut b = 8i32.to_le_bytes().to_vec();
    for i in 0..n {
        let t: Vec<u8> = match i {
            0 => b"<unk>".to_vec(),
            1 => b"<s>".to_vec(),
            2 => b" ".to_vec(),
            _ => alloc::vec![b'a' + (i % 26) as u8],
        };
        b.extend_from_slice(&(i as f32).to_le_bytes());
        b.extend_from_slice(&(t.len() as i32).to_le_bytes());
        b.extend_from_slice(&t);
    }
    b
}

#[test]
fn mutants_never_panic() {
    let ck = tiny_checkpoint([8, 16, 2, 2, 1, 10, 6], 3);
    let tk = tiny_tokenizer(10);
    let mut m = Model::from_bytes(&ck).unwrap();
    let t = Tokenizer::from_bytes(&tk, 10).unwrap();
    generate(&mut m, &t, "def", 6).unwrap();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let mut c = ck.clone();
        let mut k = tk.clone();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % 40) as usize % c.len();
            c[i] = rng.next() as u8;
            let j = (rng.next() as usize) % k.len();
            k[j] = rng.next() as u8;
        }
        if rng.next() % 4 == 0 {
            c.truncate((rng.next() as usize) % c.len());
            k.truncate((rng.next() as usize) % k.len());
        }
        let Ok(mut m) = Model::from_bytes(&c) else {
            continue;
        };
        if let Ok(t) = Tokenizer::from_bytes(&k, m.config.vocab_size) {
            let _ = generate(&mut m, &t, "abz", 5);
            let _ = generate_with(&mut m, &t, &mut Sampler::new(0.8, 0.9, 5), "b", 5);
        }
    }
}
