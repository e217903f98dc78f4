//! The kernel's [`Entropy`]: a ChaCha20 CSPRNG seeded once at boot from RNDR when the CPU has it,
//! otherwise from virtio-rng. There is no fixed seed: without a source the kernel stops.

use kernel_wasm::Entropy;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use spin::Mutex;

use crate::arch::rndr;
use crate::board::virt::virtio_rng::VirtioRng;

pub struct KernelEntropy {
    rng: Mutex<ChaCha20Rng>,
}

impl KernelEntropy {
    /// Seeds the CSPRNG; `Err` names what is missing when no source works.
    pub fn seed(virtio_transports: &[usize]) -> Result<Self, &'static str> {
        let mut seed = [0u8; 32];
        if !(rndr::available() && rndr::fill(&mut seed)) {
            let mut dev = VirtioRng::probe(virtio_transports).ok_or(
                "no entropy source: the CPU has no RNDR (use -cpu max) and there is no \
                 virtio-rng device (add -device virtio-rng-device)",
            )?;
            if !dev.fill(&mut seed) {
                return Err("virtio-rng device did not deliver entropy");
            }
        }
        let rng = ChaCha20Rng::from_seed(seed);
        seed.fill(0);
        Ok(KernelEntropy {
            rng: Mutex::new(rng),
        })
    }
}

impl Entropy for KernelEntropy {
    fn fill(&self, buf: &mut [u8]) {
        self.rng.lock().fill_bytes(buf);
    }
}
