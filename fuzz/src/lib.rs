//! What the fuzz targets share: a platform whose clock only moves when it is read (so nothing a
//! target runs ever sleeps for real), the trust store the seed packages are signed for, and the
//! drivers of the call-sequence targets (`wasi_seq`, `agent_seq`), the module runner
//! (`module_run`) and the differential runner (`differential`).
//!
//! Every target asserts the properties that must hold for any input (no panic, no escape, the
//! budgets hold); a crash it finds becomes a regression test in `kernel-wasm/tests/` with the
//! crashing input.

pub mod agent_seq;
pub mod differential;
pub mod module_run;
pub mod wasi_seq;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kernel_wasm::hosted::CaptureConsole;
use kernel_wasm::package::{InstallOptions, Manager, SecretKey, TrustStore};
use kernel_wasm::{Clock, MemFs, Platform, Runtime};

/// A clock whose every reading is a millisecond after the previous one: waits (a `poll_oneoff`
/// clock, a receive with a timeout, a time limit) end after as many readings as they have
/// milliseconds, at once in real time, and the same way on every run.
#[derive(Default)]
pub struct TickClock(AtomicU64);

impl Clock for TickClock {
    fn monotonic_ns(&self) -> u64 {
        self.0.fetch_add(1_000_000, Ordering::Relaxed)
    }
    fn realtime_ns(&self) -> u64 {
        self.monotonic_ns()
    }
    fn resolution_ns(&self) -> u64 {
        1
    }
    fn sleep_until_ns(&self, deadline_ns: u64) {
        let now = self.0.load(Ordering::Relaxed);
        self.0.store(now.max(deadline_ns), Ordering::Relaxed);
    }
}

/// A platform for one input: a capture console (stdin `input`), the tick clock, fixed entropy,
/// a small `MemFs` (1 MiB, 256 nodes) and no network.
pub fn platform_with(input: &[u8]) -> (Platform, Arc<CaptureConsole>) {
    let console = Arc::new(CaptureConsole::with_input(input));
    let platform = Platform {
        console: console.clone(),
        clock: Arc::new(TickClock::default()),
        entropy: Arc::new(FixedEntropy),
        vfs: Arc::new(MemFs::new(1 << 20, 256)),
        net: None,
    };
    (platform, console)
}

/// [`platform_with`] with an empty stdin.
pub fn platform() -> Platform {
    platform_with(&[]).0
}

/// Entropy that is the same on every run (a fuzz input must replay exactly).
struct FixedEntropy;

impl kernel_wasm::Entropy for FixedEntropy {
    fn fill(&self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = i as u8;
        }
    }
}

/// The key the seed packages are signed with (`examples/make_seeds.rs`).
pub fn seed_key() -> SecretKey {
    SecretKey::from_seed("fuzz", [7; 32]).expect("a valid key name")
}

/// A trust store holding [`seed_key`]'s public key.
pub fn trust() -> TrustStore {
    let mut trust = TrustStore::new();
    trust.add(seed_key().public());
    trust
}

/// Installs `wap` into a fresh `MemFs` (what `pkg-install` does) and, when that works, loads
/// it back: the loaded module must be the verified one.
pub fn install(wap: &[u8], trust: &TrustStore) {
    let Ok(verified) = kernel_wasm::package::verify(wap, trust, true) else {
        return;
    };
    let fs = MemFs::new(4 << 20, 256);
    let manager = Manager::new(&fs, "/pkg");
    let runtime = Runtime::default();
    if manager
        .install(&verified, &runtime, InstallOptions { force: false })
        .is_err()
    {
        return;
    }
    let loaded = manager
        .load(verified.name(), None)
        .expect("an installed package loads");
    assert_eq!(loaded.module, verified.archive.module);
}
