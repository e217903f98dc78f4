//! Everything the kernel needs from the device tree, copied out into plain numbers at boot.
//!
//! The DTB's memory is handed to the heap once boot is done, so nothing here borrows from it.

use fdt::Fdt;
use kernel_wasm::memmap::Range;

use crate::arch::exit::PsciConduit;

/// A fixed-capacity list (the heap does not exist yet while the device tree is read).
#[derive(Clone, Copy)]
pub struct List<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> List<T, N> {
    fn new() -> Self {
        List {
            items: [T::default(); N],
            len: 0,
        }
    }

    /// Appends `item`; returns false (dropping it) when full.
    pub fn push(&mut self, item: T) -> bool {
        if self.len == N {
            return false;
        }
        self.items[self.len] = item;
        self.len += 1;
        true
    }

    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }
}

/// What the kernel learned from the device tree.
pub struct BootInfo {
    /// Where the DTB itself lies.
    pub dtb: Range,
    /// RAM banks (`/memory` `reg`).
    pub memory: List<Range, 8>,
    /// `/memreserve/` entries.
    pub reserved: List<Range, 8>,
    pub uart: Option<usize>,
    pub rtc: Option<usize>,
    /// `virtio,mmio` transports (virt has 32, most empty).
    pub virtio_mmio: List<usize, 64>,
    /// `/chosen` `linux,initrd-start` / `linux,initrd-end`.
    pub initrd: Option<Range>,
    pub psci: PsciConduit,
    bootargs: [u8; 256],
    bootargs_len: usize,
}

impl BootInfo {
    /// `/chosen` `bootargs` (QEMU `-append`), cut at 256 bytes.
    pub fn bootargs(&self) -> &str {
        core::str::from_utf8(&self.bootargs[..self.bootargs_len]).unwrap_or("")
    }
}

fn first_reg(node: fdt::node::FdtNode<'_, '_>) -> Option<usize> {
    node.reg()?.next().map(|r| r.starting_address as usize)
}

fn is_compatible(node: fdt::node::FdtNode<'_, '_>, with: &str) -> bool {
    node.compatible()
        .is_some_and(|c| c.all().any(|s| s == with))
}

/// Parses the DTB at `addr`.
///
/// # Safety
/// `addr` must point to readable memory holding a DTB (or at least a header that is rejected).
pub unsafe fn parse(addr: usize) -> Result<BootInfo, fdt::FdtError> {
    if addr == 0 {
        return Err(fdt::FdtError::BadPtr);
    }
    // SAFETY: per this function's contract; `from_ptr` checks the magic and reads `totalsize`.
    let fdt = unsafe { Fdt::from_ptr(addr as *const u8)? };
    let mut info = BootInfo {
        dtb: Range::with_size(addr as u64, fdt.total_size() as u64),
        memory: List::new(),
        reserved: List::new(),
        uart: None,
        rtc: None,
        virtio_mmio: List::new(),
        initrd: None,
        psci: PsciConduit::None,
        bootargs: [0; 256],
        bootargs_len: 0,
    };
    for region in fdt.memory().regions() {
        if let Some(size) = region.size {
            info.memory.push(Range::with_size(
                region.starting_address as u64,
                size as u64,
            ));
        }
    }
    for r in fdt.memory_reservations() {
        info.reserved
            .push(Range::with_size(r.address() as u64, r.size() as u64));
    }
    let chosen = fdt.chosen();
    info.uart = chosen
        .stdout()
        .filter(|n| is_compatible(*n, "arm,pl011"))
        .and_then(first_reg)
        .or_else(|| fdt.find_compatible(&["arm,pl011"]).and_then(first_reg));
    info.rtc = fdt.find_compatible(&["arm,pl031"]).and_then(first_reg);
    for node in fdt.all_nodes().filter(|n| is_compatible(*n, "virtio,mmio")) {
        if let Some(base) = first_reg(node) {
            info.virtio_mmio.push(base);
        }
    }
    let chosen_node = fdt.find_node("/chosen");
    let prop = |name: &str| {
        chosen_node
            .and_then(|n| n.property(name))
            .and_then(|p| p.as_usize())
    };
    let (start, end) = (prop("linux,initrd-start"), prop("linux,initrd-end"));
    if let (Some(start), Some(end)) = (start, end) {
        if end > start {
            info.initrd = Some(Range {
                start: start as u64,
                end: end as u64,
            });
        }
    }
    info.psci = match fdt
        .find_node("/psci")
        .and_then(|n| n.property("method"))
        .and_then(|p| p.as_str())
    {
        Some("hvc") => PsciConduit::Hvc,
        Some("smc") => PsciConduit::Smc,
        _ => PsciConduit::None,
    };
    if let Some(args) = chosen.bootargs() {
        let n = args.len().min(info.bootargs.len());
        // Cut on a character boundary.
        let n = (0..=n)
            .rev()
            .find(|&i| args.is_char_boundary(i))
            .unwrap_or(0);
        info.bootargs[..n].copy_from_slice(&args.as_bytes()[..n]);
        info.bootargs_len = n;
    }
    Ok(info)
}
