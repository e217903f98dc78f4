//! virtio-net over virtio-mmio (QEMU `-device virtio-net-device`): Ethernet frames in and out
//! for the kernel's TCP/IP stack (`kernel_wasm::net::smol`, smoltcp). Legacy (version 1,
//! QEMU's default) and modern (version 2) transports; one receive and one transmit queue of
//! [`QUEUE_LEN`] buffers each, polled (no interrupt is wired).
//!
//! Bounds: the driver owns 16 receive and 16 transmit buffers of 2 KiB in `.bss` and allocates
//! nothing; a frame that arrives while every receive buffer is full waits in QEMU (which drops
//! what it cannot queue), and a frame to send while every transmit buffer is in flight is dropped
//! (TCP retransmits it). Frames larger than a buffer are dropped and counted.

use core::cell::UnsafeCell;
use core::ptr::{addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{fence, Ordering};

use kernel_wasm::net::smol::FrameStats;
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

const MAGIC: usize = 0x000;
const VERSION: usize = 0x004;
const DEVICE_ID: usize = 0x008;
const DEVICE_FEATURES: usize = 0x010;
const DEVICE_FEATURES_SEL: usize = 0x014;
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
const CONFIG: usize = 0x100;

const VIRTIO_MAGIC: u32 = 0x7472_6976;
const DEVICE_NET: u32 = 1;
const STATUS_ACK: u32 = 1;
const STATUS_DRIVER: u32 = 2;
const STATUS_DRIVER_OK: u32 = 4;
const STATUS_FEATURES_OK: u32 = 8;
const DESC_F_WRITE: u16 = 2;
/// VIRTIO_NET_F_MAC: the device has a MAC address in its configuration space.
const F_MAC: u32 = 1 << 5;

const RX_QUEUE: u32 = 0;
const TX_QUEUE: u32 = 1;
/// Buffers per queue.
pub const QUEUE_LEN: u16 = 16;
const N: usize = QUEUE_LEN as usize;
const PAGE: usize = 4096;
const AVAIL_OFFSET: usize = 16 * N;
const USED_OFFSET: usize = PAGE;
/// One buffer: the virtio-net header and an Ethernet frame (1514 bytes without FCS).
const BUF: usize = 2048;
/// The largest frame handed to or taken from smoltcp.
const MTU: usize = 1514;

/// The queues (descriptors and available ring; used ring one page up) and the buffers.
#[repr(C, align(4096))]
struct DmaArea {
    rxq: [u8; 2 * PAGE],
    txq: [u8; 2 * PAGE],
    rx: [[u8; BUF]; N],
    tx: [[u8; BUF]; N],
}

struct Dma(UnsafeCell<DmaArea>);
// SAFETY: only the single boot core touches it, through `VirtioNet`, which exists at most once
// (`probe` takes the area through `TAKEN`).
unsafe impl Sync for Dma {}

static DMA: Dma = Dma(UnsafeCell::new(DmaArea {
    rxq: [0; 2 * PAGE],
    txq: [0; 2 * PAGE],
    rx: [[0; BUF]; N],
    tx: [[0; BUF]; N],
}));

static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn reg_read(base: usize, off: usize) -> u32 {
    // SAFETY: `base` is a virtio-mmio transport from the device tree, in identity-mapped MMIO.
    unsafe { read_volatile((base + off) as *const u32) }
}

fn reg_write(base: usize, off: usize, value: u32) {
    // SAFETY: as in `reg_read`.
    unsafe { write_volatile((base + off) as *mut u32, value) }
}

/// One split virtqueue inside the DMA area.
struct Queue {
    base: *mut u8,
    /// Next free slot of the available ring (its `idx`).
    avail_idx: u16,
    /// The used ring's `idx` we have consumed up to.
    last_used: u16,
}

impl Queue {
    /// Writes descriptor `id`: `len` bytes at `addr`.
    fn set_desc(&mut self, id: usize, addr: u64, len: u32, flags: u16) {
        // SAFETY: descriptor `id < N` lies in the first 16·N bytes of the queue area.
        unsafe {
            let d = self.base.add(16 * id);
            write_volatile(d as *mut u64, addr);
            write_volatile(d.add(8) as *mut u32, len);
            write_volatile(d.add(12) as *mut u16, flags);
            write_volatile(d.add(14) as *mut u16, 0);
        }
    }

    /// Offers descriptor `id` to the device.
    fn push(&mut self, id: usize) {
        // SAFETY: the available ring (flags, idx, N entries) lies at AVAIL_OFFSET in the area.
        unsafe {
            let avail = self.base.add(AVAIL_OFFSET);
            let slot = usize::from(self.avail_idx) % N;
            write_volatile(avail.add(4 + 2 * slot) as *mut u16, id as u16);
            fence(Ordering::SeqCst);
            self.avail_idx = self.avail_idx.wrapping_add(1);
            write_volatile(avail.add(2) as *mut u16, self.avail_idx);
            fence(Ordering::SeqCst);
        }
    }

    /// The next buffer the device has finished with: (descriptor id, bytes written).
    fn pop_used(&mut self) -> Option<(usize, usize)> {
        // SAFETY: the used ring (flags, idx, N entries of id/len) lies one page up in the area.
        unsafe {
            let used = self.base.add(USED_OFFSET);
            let idx = read_volatile(used.add(2) as *const u16);
            if idx == self.last_used {
                return None;
            }
            fence(Ordering::SeqCst);
            let slot = usize::from(self.last_used) % N;
            let id = read_volatile(used.add(4 + 8 * slot) as *const u32) as usize;
            let len = read_volatile(used.add(4 + 8 * slot + 4) as *const u32) as usize;
            self.last_used = self.last_used.wrapping_add(1);
            Some((id % N, len))
        }
    }
}

/// The virtio-net device.
pub struct VirtioNet {
    base: usize,
    mac: [u8; 6],
    /// Bytes of the virtio-net header before each frame (10 legacy, 12 modern).
    header: usize,
    rxq: Queue,
    txq: Queue,
    /// Transmit buffers not in flight (a bit per buffer).
    tx_free: u32,
    sent: u64,
    received: u64,
    dropped: u64,
}

impl VirtioNet {
    /// Finds and initialises the first network device among the virtio-mmio transports.
    pub fn probe(transports: &[usize]) -> Option<VirtioNet> {
        let base = *transports.iter().find(|&&b| {
            reg_read(b, MAGIC) == VIRTIO_MAGIC && reg_read(b, DEVICE_ID) == DEVICE_NET
        })?;
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        let area = DMA.0.get();
        // SAFETY: `TAKEN` makes this the only user of `DMA`; the raw pointers stay inside it.
        let (rxq, txq, rx, tx) = unsafe {
            (
                addr_of_mut!((*area).rxq) as *mut u8,
                addr_of_mut!((*area).txq) as *mut u8,
                addr_of_mut!((*area).rx) as *mut [u8; BUF],
                addr_of_mut!((*area).tx) as *mut [u8; BUF],
            )
        };
        let version = reg_read(base, VERSION);
        reg_write(base, STATUS, 0);
        reg_write(base, STATUS, STATUS_ACK);
        let mut status = STATUS_ACK | STATUS_DRIVER;
        reg_write(base, STATUS, status);
        reg_write(base, DEVICE_FEATURES_SEL, 0);
        let offered = reg_read(base, DEVICE_FEATURES);
        let features = offered & F_MAC;
        if version >= 2 {
            // VIRTIO_F_VERSION_1 (feature bit 32) is mandatory on the modern transport.
            reg_write(base, DRIVER_FEATURES_SEL, 1);
            reg_write(base, DRIVER_FEATURES, 1);
            reg_write(base, DRIVER_FEATURES_SEL, 0);
            reg_write(base, DRIVER_FEATURES, features);
            status |= STATUS_FEATURES_OK;
            reg_write(base, STATUS, status);
            if reg_read(base, STATUS) & STATUS_FEATURES_OK == 0 {
                return None;
            }
        } else {
            reg_write(base, DRIVER_FEATURES, features);
            reg_write(base, GUEST_PAGE_SIZE, PAGE as u32);
        }
        for (index, queue) in [(RX_QUEUE, rxq), (TX_QUEUE, txq)] {
            reg_write(base, QUEUE_SEL, index);
            if reg_read(base, QUEUE_NUM_MAX) < u32::from(QUEUE_LEN) {
                return None;
            }
            reg_write(base, QUEUE_NUM, u32::from(QUEUE_LEN));
            let addr = queue as usize;
            if version >= 2 {
                let split = |off: usize, a: usize| {
                    reg_write(base, off, a as u32);
                    reg_write(base, off + 4, (a as u64 >> 32) as u32);
                };
                split(QUEUE_DESC, addr);
                split(QUEUE_DRIVER, addr + AVAIL_OFFSET);
                split(QUEUE_DEVICE, addr + USED_OFFSET);
                reg_write(base, QUEUE_READY, 1);
            } else {
                reg_write(base, QUEUE_ALIGN, PAGE as u32);
                reg_write(base, QUEUE_PFN, (addr / PAGE) as u32);
            }
        }
        let mut mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        if features & F_MAC != 0 {
            for (i, b) in mac.iter_mut().enumerate() {
                // SAFETY: the MAC is the first 6 bytes of the device's configuration space.
                *b = unsafe { read_volatile((base + CONFIG + i) as *const u8) };
            }
        }
        let mut dev = VirtioNet {
            base,
            mac,
            header: if version >= 2 { 12 } else { 10 },
            rxq: Queue {
                base: rxq,
                avail_idx: 0,
                last_used: 0,
            },
            txq: Queue {
                base: txq,
                avail_idx: 0,
                last_used: 0,
            },
            tx_free: if N == 32 { u32::MAX } else { (1u32 << N) - 1 },
            sent: 0,
            received: 0,
            dropped: 0,
        };
        for id in 0..N {
            // SAFETY: `rx.add(id)` is receive buffer `id < N` of the DMA area.
            let addr = unsafe { rx.add(id) } as u64;
            dev.rxq.set_desc(id, addr, BUF as u32, DESC_F_WRITE);
            dev.rxq.push(id);
            // SAFETY: as above for the transmit buffers.
            let addr = unsafe { tx.add(id) } as u64;
            dev.txq.set_desc(id, addr, 0, 0);
        }
        reg_write(base, STATUS, status | STATUS_DRIVER_OK);
        reg_write(base, QUEUE_NOTIFY, RX_QUEUE);
        Some(dev)
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn buffer(&self, tx: bool, id: usize) -> *mut u8 {
        let area = DMA.0.get();
        // SAFETY: `id < N`; the pointer is to buffer `id` of the DMA area this driver owns.
        unsafe {
            if tx {
                (addr_of_mut!((*area).tx) as *mut [u8; BUF]).add(id) as *mut u8
            } else {
                (addr_of_mut!((*area).rx) as *mut [u8; BUF]).add(id) as *mut u8
            }
        }
    }

    /// Takes the next received frame into `out`; its length.
    fn receive_into(&mut self, out: &mut [u8; MTU]) -> Option<usize> {
        loop {
            let (id, len) = self.rxq.pop_used()?;
            let buf = self.buffer(false, id);
            let frame = len.saturating_sub(self.header);
            let ok = len >= self.header && frame <= MTU && len <= BUF;
            if ok {
                for (i, b) in out[..frame].iter_mut().enumerate() {
                    // SAFETY: `header + i < len <= BUF`, inside receive buffer `id`.
                    *b = unsafe { read_volatile(buf.add(self.header + i)) };
                }
            }
            // The buffer goes straight back to the device.
            self.rxq.push(id);
            reg_write(self.base, QUEUE_NOTIFY, RX_QUEUE);
            if ok {
                self.received += 1;
                return Some(frame);
            }
            self.dropped += 1;
        }
    }

    /// Takes back transmit buffers the device is done with; a free one, if any.
    fn free_tx(&mut self) -> Option<usize> {
        while let Some((id, _)) = self.txq.pop_used() {
            self.tx_free |= 1 << id;
        }
        (self.tx_free != 0).then(|| self.tx_free.trailing_zeros() as usize)
    }

    /// Sends `len` bytes that `fill` writes (smoltcp's transmit token).
    fn send_with<R>(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut frame = [0u8; MTU];
        let len = len.min(MTU);
        let result = fill(&mut frame[..len]);
        let Some(id) = self.free_tx() else {
            self.dropped += 1;
            return result;
        };
        let buf = self.buffer(true, id);
        for i in 0..self.header {
            // SAFETY: the header lies at the start of transmit buffer `id`.
            unsafe { write_volatile(buf.add(i), 0) };
        }
        for (i, &b) in frame[..len].iter().enumerate() {
            // SAFETY: `header + len <= 12 + 1514 < BUF`, inside transmit buffer `id`.
            unsafe { write_volatile(buf.add(self.header + i), b) };
        }
        self.tx_free &= !(1 << id);
        self.txq
            .set_desc(id, buf as u64, (self.header + len) as u32, 0);
        self.txq.push(id);
        reg_write(self.base, QUEUE_NOTIFY, TX_QUEUE);
        self.sent += 1;
        result
    }
}

impl FrameStats for VirtioNet {
    fn frames(&self) -> (u64, u64, u64) {
        (self.sent, self.received, self.dropped)
    }
}

/// A received frame, copied out of its DMA buffer (which went back to the device at once).
pub struct NetRx {
    frame: [u8; MTU],
    len: usize,
}

pub struct NetTx<'a>(&'a mut VirtioNet);

impl RxToken for NetRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame[..self.len])
    }
}

impl TxToken for NetTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.0.send_with(len, f)
    }
}

impl Device for VirtioNet {
    type RxToken<'a> = NetRx;
    type TxToken<'a> = NetTx<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(NetRx, NetTx<'_>)> {
        let mut rx = NetRx {
            frame: [0; MTU],
            len: 0,
        };
        rx.len = self.receive_into(&mut rx.frame)?;
        Some((rx, NetTx(self)))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<NetTx<'_>> {
        self.free_tx()?;
        Some(NetTx(self))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(N);
        caps
    }
}
