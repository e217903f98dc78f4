//! virtio-rng over virtio-mmio (QEMU `-device virtio-rng-device`): the entropy source on CPUs
//! without RNDR. Supports the legacy (version 1, QEMU's default) and modern (version 2)
//! transports, one queue, polled: we only ever ask it for a seed.

use core::cell::UnsafeCell;
use core::ptr::{addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{fence, Ordering};

use crate::arch::timer;

const MAGIC: usize = 0x000;
const VERSION: usize = 0x004;
const DEVICE_ID: usize = 0x008;
const DRIVER_FEATURES: usize = 0x020;
const DRIVER_FEATURES_SEL: usize = 0x024;
const GUEST_PAGE_SIZE: usize = 0x028;
const QUEUE_SEL: usize = 0x030;
const QUEUE_NUM_MAX: usize = 0x034;
const QUEUE_NUM: usize = 0x038;
const QUEUE_ALIGN: usize = 0x03c;
const QUEUE_PFN: usize = 0x040;
const QUEUE_READY: usize = 0x044;
const QUEUE_NOTIFY: usize = 0x050;
const STATUS: usize = 0x070;
const QUEUE_DESC: usize = 0x080;
const QUEUE_DRIVER: usize = 0x090;
const QUEUE_DEVICE: usize = 0x0a0;

const VIRTIO_MAGIC: u32 = 0x7472_6976;
const DEVICE_ENTROPY: u32 = 4;
const STATUS_ACK: u32 = 1;
const STATUS_DRIVER: u32 = 2;
const STATUS_DRIVER_OK: u32 = 4;
const STATUS_FEATURES_OK: u32 = 8;
const DESC_F_WRITE: u16 = 2;

const QUEUE_LEN: u16 = 8;
const PAGE: usize = 4096;
const AVAIL_OFFSET: usize = 16 * QUEUE_LEN as usize;
const USED_OFFSET: usize = PAGE;

/// The virtqueue (descriptors, available ring; used ring one page up) and the receive buffer.
#[repr(C, align(4096))]
struct DmaArea {
    queue: [u8; 2 * PAGE],
    buf: [u8; 64],
}

struct Dma(UnsafeCell<DmaArea>);
// SAFETY: only the single boot core touches it, through `VirtioRng`, which exists at most once.
unsafe impl Sync for Dma {}

static DMA: Dma = Dma(UnsafeCell::new(DmaArea {
    queue: [0; 2 * PAGE],
    buf: [0; 64],
}));

pub struct VirtioRng {
    base: usize,
    next_avail: u16,
    last_used: u16,
}

fn reg_read(base: usize, off: usize) -> u32 {
    // SAFETY: `base` is a virtio-mmio transport from the device tree, in identity-mapped MMIO.
    unsafe { read_volatile((base + off) as *const u32) }
}

fn reg_write(base: usize, off: usize, value: u32) {
    // SAFETY: as in `reg_read`.
    unsafe { write_volatile((base + off) as *mut u32, value) }
}

impl VirtioRng {
    /// Finds and initialises the first entropy device among the virtio-mmio transports.
    pub fn probe(transports: &[usize]) -> Option<VirtioRng> {
        let base = *transports.iter().find(|&&b| {
            reg_read(b, MAGIC) == VIRTIO_MAGIC && reg_read(b, DEVICE_ID) == DEVICE_ENTROPY
        })?;
        let version = reg_read(base, VERSION);
        let queue = DMA.0.get() as usize;
        reg_write(base, STATUS, 0);
        reg_write(base, STATUS, STATUS_ACK);
        reg_write(base, STATUS, STATUS_ACK | STATUS_DRIVER);
        let mut status = STATUS_ACK | STATUS_DRIVER;
        if version >= 2 {
            // VIRTIO_F_VERSION_1 (feature bit 32) is mandatory on the modern transport.
            reg_write(base, DRIVER_FEATURES_SEL, 1);
            reg_write(base, DRIVER_FEATURES, 1);
            reg_write(base, DRIVER_FEATURES_SEL, 0);
            reg_write(base, DRIVER_FEATURES, 0);
            status |= STATUS_FEATURES_OK;
            reg_write(base, STATUS, status);
            if reg_read(base, STATUS) & STATUS_FEATURES_OK == 0 {
                return None;
            }
        } else {
            reg_write(base, DRIVER_FEATURES, 0);
            reg_write(base, GUEST_PAGE_SIZE, PAGE as u32);
        }
        reg_write(base, QUEUE_SEL, 0);
        if reg_read(base, QUEUE_NUM_MAX) < u32::from(QUEUE_LEN) {
            return None;
        }
        reg_write(base, QUEUE_NUM, u32::from(QUEUE_LEN));
        if version >= 2 {
            let split = |off: usize, addr: usize| {
                reg_write(base, off, addr as u32);
                reg_write(base, off + 4, (addr as u64 >> 32) as u32);
            };
            split(QUEUE_DESC, queue);
            split(QUEUE_DRIVER, queue + AVAIL_OFFSET);
            split(QUEUE_DEVICE, queue + USED_OFFSET);
            reg_write(base, QUEUE_READY, 1);
        } else {
            reg_write(base, QUEUE_ALIGN, PAGE as u32);
            reg_write(base, QUEUE_PFN, (queue / PAGE) as u32);
        }
        reg_write(base, STATUS, status | STATUS_DRIVER_OK);
        Some(VirtioRng {
            base,
            next_avail: 0,
            last_used: 0,
        })
    }

    /// Fills `out` with device entropy; false if the device stops answering (1 s per request)
    /// or keeps returning nothing.
    pub fn fill(&mut self, out: &mut [u8]) -> bool {
        let mut filled = 0;
        let mut attempts = 0;
        while filled < out.len() {
            attempts += 1;
            let want = (out.len() - filled).min(64);
            let Some(got) = self.request(want) else {
                return false;
            };
            if got == 0 && attempts > 100 {
                return false;
            }
            let buf = DMA.0.get();
            for (i, b) in out[filled..filled + got].iter_mut().enumerate() {
                // SAFETY: `i < got <= 64`, inside the receive buffer the device just wrote.
                *b = unsafe { read_volatile((addr_of_mut!((*buf).buf) as *const u8).add(i)) };
            }
            filled += got;
        }
        true
    }

    /// Offers the receive buffer for `want` (<= 64) bytes and waits for the device's answer.
    fn request(&mut self, want: usize) -> Option<usize> {
        let area = DMA.0.get();
        // SAFETY: `DMA` is only used by this driver (see `Dma`); the raw pointers stay inside it.
        let (queue, buf) = unsafe {
            (
                addr_of_mut!((*area).queue) as *mut u8,
                addr_of_mut!((*area).buf) as *mut u8,
            )
        };
        // SAFETY: every offset written is inside the 8 KiB queue area, aligned for its type.
        unsafe {
            write_volatile(queue as *mut u64, buf as u64);
            write_volatile(queue.add(8) as *mut u32, want as u32);
            write_volatile(queue.add(12) as *mut u16, DESC_F_WRITE);
            write_volatile(queue.add(14) as *mut u16, 0);
            let avail = queue.add(AVAIL_OFFSET);
            let slot = usize::from(self.next_avail % QUEUE_LEN);
            write_volatile(avail.add(4 + 2 * slot) as *mut u16, 0);
            fence(Ordering::SeqCst);
            self.next_avail = self.next_avail.wrapping_add(1);
            write_volatile(avail.add(2) as *mut u16, self.next_avail);
            fence(Ordering::SeqCst);
        }
        reg_write(self.base, QUEUE_NOTIFY, 0);
        let deadline = timer::ticks() + timer::frequency();
        let used = loop {
            // SAFETY: the used ring's index lives at USED_OFFSET + 2 inside the queue area.
            let idx = unsafe { read_volatile(queue.add(USED_OFFSET + 2) as *const u16) };
            if idx != self.last_used {
                break idx;
            }
            if timer::ticks() > deadline {
                return None;
            }
            core::hint::spin_loop();
        };
        fence(Ordering::SeqCst);
        let slot = usize::from(self.last_used % QUEUE_LEN);
        self.last_used = used;
        // SAFETY: used ring element `slot` (id u32, len u32) lies inside the queue area.
        let len = unsafe { read_volatile(queue.add(USED_OFFSET + 4 + 8 * slot + 4) as *const u32) };
        Some((len as usize).min(want))
    }
}
