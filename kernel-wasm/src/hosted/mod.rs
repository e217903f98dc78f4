//! Hosted implementations of the platform traits (feature `std`): the process's stdio, the OS
//! clocks, the OS entropy source, the OS's TCP sockets ([`net`]). `kwasm` and the tests use them.

pub mod net;

use std::io::{Read, Write};
use std::string::String;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use crate::platform::{Clock, Console, Entropy, OutputClosed, Stream};

/// The process's stdin, stdout and stderr.
///
/// Stdin is read through a buffer of the console's own (not std's), with `poll(2)` when a read
/// has a timeout: a guest with a time limit blocked on stdin is stopped at its limit. Bytes
/// buffered and not yet read (what follows a shell line in a script) stay for the next reader,
/// so `kwasm shell` reads its lines through the same console as the guests it runs.
#[derive(Debug, Default)]
pub struct StdConsole {
    stdin: Mutex<StdinBuffer>,
}

/// Bytes read from fd 0 and not yet handed out: `data[start..end]`.
#[derive(Debug, Default)]
struct StdinBuffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

/// How much stdin one `read(2)` asks for (as std's stdin buffer).
const STDIN_BUFFER: usize = 8 * 1024;

impl StdinBuffer {
    /// Copies buffered bytes into `buf`; how many.
    fn take(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.end - self.start);
        buf[..n].copy_from_slice(&self.data[self.start..self.start + n]);
        self.start += n;
        n
    }

    /// Reads from fd 0 (blocking) into `buf` directly when it is at least a buffer's worth,
    /// else through the buffer. 0 at end of input or on an error (as a closed stdin).
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        if buf.len() >= STDIN_BUFFER {
            return read_stdin(buf);
        }
        if self.data.len() < STDIN_BUFFER {
            self.data.resize(STDIN_BUFFER, 0);
        }
        self.start = 0;
        self.end = read_stdin(&mut self.data);
        self.take(buf)
    }
}

/// One `read(2)` of fd 0, retried on EINTR and, for a non-blocking stdin, after waiting for
/// input; 0 at end of input or on an error.
fn read_stdin(buf: &mut [u8]) -> usize {
    let stdin = rustix::stdio::stdin();
    loop {
        match rustix::io::read(stdin, &mut *buf) {
            Ok(n) => return n,
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => {
                let _ = wait_for_stdin(None);
            }
            Err(_) => return 0,
        }
    }
}

/// Waits until fd 0 has input (or end of input, or an error to report) or `timeout_ns` passes;
/// whether it is readable.
fn wait_for_stdin(timeout_ns: Option<u64>) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let timeout = timeout_ns.map(|ns| Timespec {
        tv_sec: i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX),
        tv_nsec: (ns % 1_000_000_000) as _,
    });
    let stdin = rustix::stdio::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    loop {
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(rustix::io::Errno::INTR) => {}
            // Not pollable: let the read itself tell.
            Err(_) => return true,
        }
    }
}

impl StdConsole {
    fn stdin(&self) -> std::sync::MutexGuard<'_, StdinBuffer> {
        // The buffer is consistent at every point a panic could leave it.
        self.stdin.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Console for StdConsole {
    fn write(&self, stream: Stream, bytes: &[u8]) {
        // The shell's and the host's own output: a closed pipe drops it, as a terminal would.
        let _ = self.try_write(stream, bytes);
    }

    fn try_write(&self, stream: Stream, bytes: &[u8]) -> Result<(), OutputClosed> {
        match stream {
            Stream::Stdout => std::io::stdout().lock().write_all(bytes),
            Stream::Stderr => std::io::stderr().lock().write_all(bytes),
        }
        .map_err(|_| OutputClosed)
    }

    fn read(&self, buf: &mut [u8]) -> usize {
        if buf.is_empty() {
            return 0;
        }
        let mut stdin = self.stdin();
        match stdin.take(buf) {
            0 => stdin.fill(buf),
            n => n,
        }
    }

    fn read_timeout(&self, buf: &mut [u8], timeout_ns: u64) -> Option<usize> {
        if buf.is_empty() {
            return Some(0);
        }
        let mut stdin = self.stdin();
        match stdin.take(buf) {
            0 if !wait_for_stdin(Some(timeout_ns)) => None,
            0 => Some(stdin.fill(buf)),
            n => Some(n),
        }
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
    }

    fn is_terminal(&self, fd: u32) -> bool {
        use std::io::IsTerminal;
        match fd {
            0 => std::io::stdin().is_terminal(),
            1 => std::io::stdout().is_terminal(),
            2 => std::io::stderr().is_terminal(),
            _ => false,
        }
    }
}

/// A console that records everything written, for tests and transcripts. Stdin is a fixed buffer.
#[derive(Debug, Default)]
pub struct CaptureConsole {
    pub output: Mutex<Vec<u8>>,
    pub input: Mutex<std::collections::VecDeque<u8>>,
}

impl CaptureConsole {
    pub fn with_input(input: &[u8]) -> Self {
        CaptureConsole {
            output: Mutex::default(),
            input: Mutex::new(input.iter().copied().collect()),
        }
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().map(|o| o.clone()).unwrap_or_default())
            .into_owned()
    }
}

impl Console for CaptureConsole {
    fn write(&self, _stream: Stream, bytes: &[u8]) {
        if let Ok(mut out) = self.output.lock() {
            out.extend_from_slice(bytes);
        }
    }

    fn read(&self, buf: &mut [u8]) -> usize {
        let Ok(mut input) = self.input.lock() else {
            return 0;
        };
        let n = buf.len().min(input.len());
        for (slot, byte) in buf.iter_mut().zip(input.drain(..n)) {
            *slot = byte;
        }
        n
    }
}

/// The OS clocks: `Instant` for monotonic time, `SystemTime` for real time.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn monotonic_ns(&self) -> u64 {
        // Offset by one second so the clock never reads zero (Go's runtime dies if it does).
        1_000_000_000 + self.origin.elapsed().as_nanos() as u64
    }

    fn realtime_ns(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }

    fn resolution_ns(&self) -> u64 {
        1
    }

    fn sleep_until_ns(&self, deadline_ns: u64) {
        let now = self.monotonic_ns();
        if deadline_ns > now {
            std::thread::sleep(std::time::Duration::from_nanos(deadline_ns - now));
        }
    }
}

/// The OS's CSPRNG (`/dev/urandom`), opened once and kept open so `random_get` costs one read.
#[derive(Debug, Default)]
pub struct OsEntropy {
    source: Mutex<Option<std::fs::File>>,
}

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        if buf.is_empty() {
            return;
        }
        let mut source = self
            .source
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if source.is_none() {
            *source = std::fs::File::open("/dev/urandom").ok();
        }
        let filled = source.as_mut().map(|f| f.read_exact(buf));
        if !matches!(filled, Some(Ok(()))) {
            // Without an OS entropy source there is no safe fallback: refuse to hand out
            // predictable bytes.
            panic!("no OS entropy source (/dev/urandom) available");
        }
    }
}

/// A hosted platform: process stdio, OS clocks and entropy, an in-memory root file system, and
/// the host's sockets.
pub fn platform() -> crate::Platform {
    platform_with_console(std::sync::Arc::new(StdConsole::default()))
}

/// Like [`platform`] with another console (e.g. a [`CaptureConsole`]).
// The platform traits do not require Send/Sync: the kernel runs one core and the hosted tool one
// thread per runtime.
#[allow(clippy::arc_with_non_send_sync)]
pub fn platform_with_console(console: std::sync::Arc<dyn Console>) -> crate::Platform {
    let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(SystemClock::default());
    crate::Platform {
        console,
        clock: clock.clone(),
        entropy: std::sync::Arc::new(OsEntropy::default()),
        vfs: std::sync::Arc::new(crate::MemFs::new(1 << 30, 1 << 20).with_clock(clock)),
        net: Some(std::sync::Arc::new(net::StdNetwork::default())),
    }
}
