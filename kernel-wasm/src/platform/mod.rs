//! What the kernel (or the hosted tool) provides to the runtime: a console, clocks, entropy, a file
//! system and (optionally) a network. Each is a small trait so the bare-metal kernel and `kwasm` plug in their own drivers while
//! every piece of logic above them stays portable and is tested on the host.
//!
//! Architecture invariant: nothing in kernel-wasm talks to hardware or the OS except through these traits
//! (and, behind feature `std`, the implementations in [`hosted`](crate::hosted)).

use alloc::sync::Arc;

use crate::net::Network;
use crate::vfs::Vfs;

/// One of the two output streams of a guest (WASI fd 1 and 2) or the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Output a console could not deliver (kwasm's stdout is a closed pipe): a guest's `fd_write`
/// answers `EIO`, as wasmtime's does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputClosed;

/// Text in and out: the UART on the kernel, stdin/stdout/stderr in `kwasm`.
pub trait Console {
    /// Writes all of `bytes` to `stream`; output that cannot be delivered is dropped (the
    /// shell's and the host's own lines). Guests write through [`Console::try_write`].
    fn write(&self, stream: Stream, bytes: &[u8]);
    /// Writes all of `bytes` to `stream`, saying whether the output took them. The default
    /// (a UART always takes bytes) writes with [`Console::write`] and never fails.
    fn try_write(&self, stream: Stream, bytes: &[u8]) -> Result<(), OutputClosed> {
        self.write(stream, bytes);
        Ok(())
    }
    /// Reads up to `buf.len()` bytes of standard input; `0` means end of input.
    fn read(&self, buf: &mut [u8]) -> usize;
    /// Like [`Console::read`], but waits at most `timeout_ns` for input: `None` when the time
    /// passed with nothing to read. A guest with a time limit reads stdin through this, so a
    /// blocked read ends at the limit. The default waits as `read` does; consoles whose input
    /// can block (a terminal, a pipe, the UART) override it.
    fn read_timeout(&self, buf: &mut [u8], timeout_ns: u64) -> Option<usize> {
        let _ = timeout_ns;
        Some(self.read(buf))
    }
    /// Flushes buffered output (called at instance exit).
    fn flush(&self) {}
    /// Whether guest descriptor `fd` (0 stdin, 1 stdout, 2 stderr) is a terminal; WASI reports
    /// a terminal as a character device and anything else as an unknown file type (as wasmtime).
    fn is_terminal(&self, _fd: u32) -> bool {
        false
    }
    /// Whether the user asked to stop what is running (Ctrl-C typed on the kernel's UART while a
    /// guest or the agents run). Polled between fuel slices and while the host waits on a guest's
    /// behalf ([`Platform::wait_until`]); answering `true` consumes the request. Other input typed
    /// meanwhile stays for the next read. On the host the OS delivers Ctrl-C as a signal instead,
    /// so the default never interrupts.
    fn take_interrupt(&self) -> bool {
        false
    }
}

/// Time as the guest sees it. All values are nanoseconds.
pub trait Clock {
    /// Nanoseconds since an arbitrary fixed point; never goes backwards and advances between calls
    /// that are separated by real time (Go's runtime dies if it does not).
    fn monotonic_ns(&self) -> u64;
    /// Nanoseconds since the Unix epoch.
    fn realtime_ns(&self) -> u64;
    /// The resolution of [`Clock::monotonic_ns`] in nanoseconds (at least 1).
    fn resolution_ns(&self) -> u64;
    /// Waits until `monotonic_ns() >= deadline_ns`. Used by `poll_oneoff` clock subscriptions.
    fn sleep_until_ns(&self, deadline_ns: u64) {
        while self.monotonic_ns() < deadline_ns {
            core::hint::spin_loop();
        }
    }
}

/// Cryptographically secure random bytes (RNDR- or virtio-rng-seeded CSPRNG on the kernel, the OS on
/// the host). There is no fixed seed anywhere.
pub trait Entropy {
    fn fill(&self, buf: &mut [u8]);
}

/// The bundle of kernel services one runtime uses. Cloning shares the services.
#[derive(Clone)]
pub struct Platform {
    pub console: Arc<dyn Console>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    /// The system file system: the shell's `ls`/`cat` and the source of modules; WASI preopens map
    /// directories of it (or of another [`Vfs`]) into guests.
    pub vfs: Arc<dyn Vfs>,
    /// The TCP/IP service guests' sockets use (`None`: no network; listening and connecting
    /// fail with "network is down").
    pub net: Option<Arc<dyn Network>>,
}

/// How often a wait looks for an interrupt: short enough that Ctrl-C feels immediate.
pub const INTERRUPT_POLL_NS: u64 = 10_000_000;

/// How a [`Platform::wait_until`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The deadline came.
    Deadline,
    /// The user interrupted ([`Console::take_interrupt`]) first.
    Interrupted,
}

impl Platform {
    /// Waits until monotonic time `deadline_ns` (a guest's sleep, the agent scheduler with every
    /// agent waiting), looking for an interrupt every [`INTERRUPT_POLL_NS`].
    pub fn wait_until(&self, deadline_ns: u64) -> Waited {
        loop {
            if self.console.take_interrupt() {
                return Waited::Interrupted;
            }
            let now = self.clock.monotonic_ns();
            if now >= deadline_ns {
                return Waited::Deadline;
            }
            self.clock
                .sleep_until_ns(deadline_ns.min(now.saturating_add(INTERRUPT_POLL_NS)));
            // A stack the host drives itself (the kernel's) keeps answering peers meanwhile.
            if let Some(net) = &self.net {
                net.poll();
            }
        }
    }
}

impl core::fmt::Debug for Platform {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Platform { .. }")
    }
}
