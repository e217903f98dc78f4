//! The SIS kernel for QEMU `virt` (aarch64): boots, finds its devices and memory in the device
//! tree, builds a kernel-wasm [`Platform`] (UART console, generic-timer/PL031 clock, RNDR or
//! virtio-rng seeded CSPRNG, in-memory root file system filled from the initrd) and runs the
//! kernel-wasm shell on the serial console.
//!
//! Glue only: every piece of logic that can run on a host lives in kernel-wasm and is tested
//! there (line editing, cpio, the memory map, the shell). See docs/kernel.md.

#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod board;
mod entropy;
mod heap;
mod platform;

use alloc::sync::Arc;
use core::fmt::Write;

use kernel_wasm::line_editor::Event;
use kernel_wasm::llm::boot::load_default;
use kernel_wasm::llm::LlmLimits;
use kernel_wasm::memmap::{for_each_free, Range};
use kernel_wasm::package::TrustStore;
use kernel_wasm::shell::{Shell, ShellStatus};
use kernel_wasm::vfs::cpio;
use kernel_wasm::{Console, MemFs, Platform, RuntimeConfig, Stream, Vfs};

use arch::exit::exit;
use board::virt::{devicetree, pl031};

/// QEMU's exit status when the kernel panics.
pub const EXIT_PANIC: i32 = 101;
/// QEMU's exit status when boot cannot continue (no device tree, no RAM, no entropy).
pub const EXIT_BOOT_FAILURE: i32 = 103;

/// Prints to the console UART without locks (usable from any context).
macro_rules! kprintln {
    ($($arg:tt)*) => {{
        let _ = writeln!($crate::board::RawConsole, $($arg)*);
    }};
}

fn fatal(what: core::fmt::Arguments<'_>) -> ! {
    kprintln!("[boot] fatal: {what}");
    exit(EXIT_BOOT_FAILURE)
}

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// The smallest free RAM fragment worth handing to the allocator.
const MIN_HEAP_FRAGMENT: u64 = 64 * 1024;
const PAGE: u64 = 4096;

/// Called by boot.s on the boot core with the MMU on, FP enabled and `.bss` cleared.
#[no_mangle]
extern "C" fn kernel_main(dtb: usize) -> ! {
    // SAFETY: QEMU passes the DTB address in x0 under the arm64 Image boot protocol; `parse`
    // rejects a null pointer or a bad header.
    let info = match unsafe { devicetree::parse(dtb) } {
        Ok(info) => info,
        Err(e) => fatal(format_args!("no usable device tree at {dtb:#x}: {e:?}")),
    };
    if let Some(uart) = info.uart {
        board::virt::set_uart_base(uart);
    }
    arch::exit::set_psci_conduit(info.psci);

    // Heap, phase 1: all RAM except the kernel, the DTB, the initrd and firmware reservations.
    // Linker-script symbols: only their addresses are taken.
    let kernel = Range {
        start: core::ptr::addr_of!(__kernel_start) as u64,
        end: core::ptr::addr_of!(__kernel_end) as u64,
    };
    let mut reserved = info.reserved;
    for r in [Some(kernel), Some(info.dtb), info.initrd]
        .into_iter()
        .flatten()
    {
        if !reserved.push(r) {
            fatal(format_args!("too many memory reservations"));
        }
    }
    for_each_free(
        info.memory.as_slice(),
        reserved.as_mut_slice(),
        PAGE,
        MIN_HEAP_FRAGMENT,
        |r| {
            // SAFETY: `r` is RAM from the device tree outside every range in use (kernel image and
            // stacks, DTB, initrd, /memreserve/), and is identity mapped as normal memory.
            unsafe { heap::claim(r) };
        },
    );
    if heap::size() == 0 {
        fatal(format_args!(
            "no free RAM for the heap in the device tree's /memory"
        ));
    }

    let clock = Arc::new(platform::KernelClock::new(
        // SAFETY: the base comes from an `arm,pl031` node, inside the identity-mapped MMIO region.
        info.rtc.map(|base| unsafe { pl031::read_seconds(base) }),
    ));
    let entropy = match entropy::KernelEntropy::seed(info.virtio_mmio.as_slice()) {
        Ok(entropy) => Arc::new(entropy),
        Err(e) => fatal(format_args!("{e}")),
    };

    let fs_budget = heap::size() / 2;
    // `Platform` takes `Arc<dyn Vfs>`; the kernel runs on one core, so `Send`/`Sync` do not matter.
    #[allow(clippy::arc_with_non_send_sync)]
    let fs = Arc::new(MemFs::new(fs_budget, 1 << 20).with_clock(clock.clone()));
    if let Some(initrd) = info.initrd {
        // SAFETY: QEMU loaded the initrd into RAM at the range `/chosen` names, and the heap was
        // kept away from it; nothing writes it until phase 2 below.
        let archive = unsafe {
            core::slice::from_raw_parts(initrd.start as *const u8, initrd.len() as usize)
        };
        if let Err(e) = cpio::unpack(archive, &*fs, fs.root()) {
            kprintln!("[boot] initrd: {e} (continuing with what was unpacked)");
        }
    }

    // Heap, phase 2: the initrd and the DTB are no longer needed (`info` holds copies).
    let mut still_reserved = info.reserved;
    still_reserved.push(kernel);
    for r in [info.initrd, Some(info.dtb)].into_iter().flatten() {
        for_each_free(
            &[r],
            still_reserved.as_mut_slice(),
            PAGE,
            MIN_HEAP_FRAGMENT,
            |r| {
                // SAFETY: `r` lies in the initrd or the DTB, both copied out above and unused from
                // now on, and outside the kernel and firmware reservations.
                unsafe { heap::claim(r) };
            },
        );
    }

    selftest(info.bootargs());

    let net = network(info.virtio_mmio.as_slice(), &*entropy, clock.clone());
    let console = Arc::new(platform::UartConsole::new(board::virt::uart()));
    let platform = Platform {
        console: console.clone(),
        clock: clock.clone(),
        entropy,
        vfs: fs,
        net,
    };
    // Guest memory, all instances together, gets a quarter of the heap: with the file system's
    // half, a quarter stays for the kernel itself (modules, compiled code, messages), so no
    // guest can make the kernel's own allocations fail.
    let runtime = RuntimeConfig {
        // usize is 64 bits on aarch64: the heap size fits.
        guest_memory: Some(usize::try_from(heap::size() / 4).unwrap_or(usize::MAX)),
        ..RuntimeConfig::default()
    };
    let mut shell = Shell::with_runtime(platform.clone(), runtime);
    shell.set_packages(trust_root(), false);

    let boot_ms = arch::timer::ticks_to_ns(arch::timer::ticks(), clock.frequency()) / 1_000_000;
    kprintln!(
        "[boot] sis-kernel: heap {} MiB, boot {} ms",
        heap::size() / (1024 * 1024),
        boot_ms
    );
    // The signed packages of the initrd (/boot/packages): installed under /pkg, each refusal
    // reported with its reason; the kernel boots on either way.
    for line in shell.install_boot_packages() {
        console.write(Stream::Stdout, line.as_bytes());
        console.write(Stream::Stdout, b"\n");
    }
    // Then the default model, found as `kwasm shell` finds it (kernel_wasm::llm::boot; a model
    // package installed above is found the same way). Loaded quietly (`llm-info` describes it);
    // a model that is there but broken is reported, as kwasm shell reports it, and the kernel
    // runs without one.
    match load_default(&*platform.vfs, LlmLimits::default()) {
        Ok(model) => shell.set_llm(model.map(Arc::new)),
        Err(e) => {
            let line = alloc::format!("[boot] {e} (no model loaded)\n");
            console.write(Stream::Stdout, line.as_bytes());
        }
    }

    loop {
        console.write(Stream::Stdout, shell.prompt().as_bytes());
        match console.read_line() {
            Event::Line(line) => {
                if let ShellStatus::Exit(code) = shell.execute(&line) {
                    exit(code);
                }
            }
            Event::Interrupt => {}
            Event::Eof => {
                console.write(Stream::Stdout, b"\n");
                exit(0);
            }
        }
    }
}

/// The package trust root built into the image (`qemu/build.rs`: the development key unless
/// `SIS_TRUST_ROOT` names another), never read from the initrd it checks.
static TRUST_ROOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trust-root.pub"));
/// Revoked key ids built into the image (`SIS_REVOKED`; empty by default).
static REVOKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/revoked"));

fn trust_root() -> TrustStore {
    let mut trust = TrustStore::new();
    if let Err(e) = trust.add_key_file(TRUST_ROOT) {
        kprintln!("[boot] trust root: {e} (no signed package will verify)");
    }
    if let Err(e) = trust.add_revocation_list(REVOKED) {
        kprintln!("[boot] revocation list: {e}");
    }
    trust
}

/// The TCP/IP stack over the virtio-net device, if QEMU has one (`cargo xtask qemu --net`),
/// with QEMU user networking's fixed addresses (10.0.2.15/24, gateway 10.0.2.2).
fn network(
    transports: &[usize],
    entropy: &dyn kernel_wasm::Entropy,
    clock: Arc<platform::KernelClock>,
) -> Option<Arc<dyn kernel_wasm::net::Network>> {
    let device = board::virt::virtio_net::VirtioNet::probe(transports)?;
    let mut seed = [0u8; 8];
    entropy.fill(&mut seed);
    let config = kernel_wasm::net::smol::SmolConfig {
        mac: device.mac(),
        seed: u64::from_le_bytes(seed),
        ..Default::default()
    };
    // One core: `Send`/`Sync` do not matter (as for the file system).
    #[allow(clippy::arc_with_non_send_sync)]
    let net = Arc::new(kernel_wasm::net::smol::SmolNetwork::new(
        device, config, clock,
    ));
    Some(net)
}

/// Fault-path checks, reachable only through the kernel command line (`cargo xtask qemu
/// --append sis.selftest=fault|panic`), never from the shell.
fn selftest(bootargs: &str) {
    for arg in bootargs.split_whitespace() {
        match arg.strip_prefix("sis.selftest=") {
            Some("fault") => {
                kprintln!("[selftest] reading an unmapped address");
                // SAFETY: deliberately not safe: the read faults (VA beyond the 39-bit map) and
                // the exception report stops the machine. That is the test.
                let value =
                    unsafe { core::ptr::read_volatile(0x0000_8000_0000_0000 as *const u64) };
                kprintln!("[selftest] unexpectedly read {value:#x}");
            }
            Some("panic") => panic!("selftest panic requested on the kernel command line"),
            Some(other) => kprintln!("[selftest] unknown selftest {other:?}"),
            None => {}
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(loc) => kprintln!(
            "\n!!! kernel panic at {}:{}:{}: {}",
            loc.file(),
            loc.line(),
            loc.column(),
            info.message()
        ),
        None => kprintln!("\n!!! kernel panic: {}", info.message()),
    }
    exit(EXIT_PANIC)
}
