//! The kernel heap: `talc` as the global allocator over the RAM the device tree reports, minus
//! the kernel image, the device tree, the initrd and firmware reservations (see `memmap`).

use core::sync::atomic::{AtomicU64, Ordering};

use kernel_wasm::memmap::Range;
use talc::source::Manual;
use talc::TalcLock;

#[global_allocator]
static ALLOCATOR: TalcLock<spinning_top::RawSpinlock, Manual> = TalcLock::new(Manual);

static HEAP_BYTES: AtomicU64 = AtomicU64::new(0);

/// Hands `range` to the allocator for good. Returns whether it was large enough to use.
///
/// # Safety
/// `range` must be RAM that nothing else uses now or later, identity mapped.
pub unsafe fn claim(range: Range) -> bool {
    let Ok(size) = usize::try_from(range.len()) else {
        return false;
    };
    // SAFETY: per this function's contract the memory is unused and ours to give away.
    let claimed = unsafe { ALLOCATOR.lock().claim(range.start as *mut u8, size) }.is_some();
    if claimed {
        HEAP_BYTES.fetch_add(range.len(), Ordering::Relaxed);
    }
    claimed
}

/// Bytes handed to the allocator so far.
pub fn size() -> u64 {
    HEAP_BYTES.load(Ordering::Relaxed)
}
