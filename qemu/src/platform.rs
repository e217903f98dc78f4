//! The kernel's implementations of kernel-wasm's [`Console`] and [`Clock`] traits, over the PL011
//! UART, the generic timer and the PL031 RTC.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use kernel_wasm::line_editor::{Event, LineEditor, Typeahead};
use kernel_wasm::{Clock, Console, Stream};
use spin::Mutex;

use crate::arch::timer;
use crate::board::virt::pl011::Pl011;

/// The serial console. Guest stdin is line-edited like the shell: a line is delivered with its
/// `\n` once Enter is pressed; Ctrl-D on an empty line is end of input. While something runs,
/// Ctrl-C interrupts it ([`Console::take_interrupt`]); other bytes typed meanwhile wait in a
/// [`Typeahead`] for the next line.
pub struct UartConsole {
    uart: Pl011,
    stdin: Mutex<Stdin>,
}

struct Stdin {
    editor: LineEditor,
    pending: VecDeque<u8>,
    typeahead: Typeahead,
}

impl UartConsole {
    pub fn new(uart: Pl011) -> Self {
        UartConsole {
            uart,
            stdin: Mutex::new(Stdin {
                editor: LineEditor::default(),
                pending: VecDeque::new(),
                typeahead: Typeahead::default(),
            }),
        }
    }

    /// Reads one edited line from the UART, echoing as the user types.
    pub fn read_line(&self) -> Event {
        let mut stdin = self.stdin.lock();
        let Stdin {
            editor, typeahead, ..
        } = &mut *stdin;
        // A Ctrl-C that came as the last command ended was meant for that command.
        typeahead.clear_interrupt();
        self.next_event(editor, typeahead)
    }

    fn next_event(&self, editor: &mut LineEditor, typeahead: &mut Typeahead) -> Event {
        loop {
            if let Some(event) = self.next_event_until(editor, typeahead, None) {
                return event;
            }
        }
    }

    /// The next line-editor event, or `None` once monotonic time `deadline_ns` has passed
    /// without one (the editor keeps a partly typed line for the next read).
    fn next_event_until(
        &self,
        editor: &mut LineEditor,
        typeahead: &mut Typeahead,
        deadline_ns: Option<u64>,
    ) -> Option<Event> {
        let mut echo = Vec::new();
        let freq = timer::frequency();
        loop {
            let byte = match typeahead.pop().or_else(|| self.uart.try_read()) {
                Some(byte) => byte,
                None if deadline_ns
                    .is_some_and(|d| timer::ticks_to_ns(timer::ticks(), freq) >= d) =>
                {
                    return None
                }
                None => {
                    core::hint::spin_loop();
                    continue;
                }
            };
            let event = editor.feed(byte, &mut echo);
            self.uart.write_translated(&echo);
            echo.clear();
            if event.is_some() {
                return event;
            }
        }
    }

    /// Moves the next line (or end of input / interrupt) into `pending`, waiting at most until
    /// `deadline_ns`; `Some(n)` is the bytes of `buf` filled, `None` the deadline.
    fn read_until(&self, buf: &mut [u8], deadline_ns: Option<u64>) -> Option<usize> {
        if buf.is_empty() {
            return Some(0);
        }
        let mut stdin = self.stdin.lock();
        let Stdin {
            editor,
            pending,
            typeahead,
        } = &mut *stdin;
        while pending.is_empty() {
            match self.next_event_until(editor, typeahead, deadline_ns)? {
                Event::Line(line) => {
                    pending.extend(line.as_bytes());
                    pending.push_back(b'\n');
                }
                // The guest reading stdin is interrupted: it gets nothing, and the WASI layer
                // asks `take_interrupt` why.
                Event::Interrupt => {
                    typeahead.interrupt();
                    return Some(0);
                }
                Event::Eof => return Some(0),
            }
        }
        let n = buf.len().min(pending.len());
        for (dst, src) in buf.iter_mut().zip(pending.drain(..n)) {
            *dst = src;
        }
        Some(n)
    }
}

impl Console for UartConsole {
    fn write(&self, _stream: Stream, bytes: &[u8]) {
        self.uart.write_translated(bytes);
    }

    fn read(&self, buf: &mut [u8]) -> usize {
        self.read_until(buf, None).unwrap_or(0)
    }

    fn read_timeout(&self, buf: &mut [u8], timeout_ns: u64) -> Option<usize> {
        let now = timer::ticks_to_ns(timer::ticks(), timer::frequency());
        self.read_until(buf, Some(now.saturating_add(timeout_ns)))
    }

    fn take_interrupt(&self) -> bool {
        let mut stdin = self.stdin.lock();
        while let Some(byte) = self.uart.try_read() {
            stdin.typeahead.push(byte);
        }
        stdin.typeahead.take_interrupt()
    }
}

/// Monotonic time from CNTPCT_EL0 at CNTFRQ_EL0; real time from the PL031 read once at boot
/// plus the monotonic time elapsed since.
pub struct KernelClock {
    freq: u64,
    /// Real time (ns since the epoch) at monotonic time `mono_at_sync`.
    realtime_at_sync: u64,
    mono_at_sync: u64,
}

impl KernelClock {
    /// `rtc_seconds`: the RTC's reading now, if the board has one.
    pub fn new(rtc_seconds: Option<u32>) -> Self {
        let freq = timer::frequency();
        let mono = timer::ticks_to_ns(timer::ticks(), freq);
        let realtime = rtc_seconds.map_or(mono, |s| u64::from(s) * 1_000_000_000);
        KernelClock {
            freq,
            realtime_at_sync: realtime,
            mono_at_sync: mono,
        }
    }

    pub fn frequency(&self) -> u64 {
        self.freq
    }
}

impl Clock for KernelClock {
    fn monotonic_ns(&self) -> u64 {
        timer::ticks_to_ns(timer::ticks(), self.freq)
    }

    fn realtime_ns(&self) -> u64 {
        let elapsed = self.monotonic_ns().saturating_sub(self.mono_at_sync);
        self.realtime_at_sync.saturating_add(elapsed)
    }

    fn resolution_ns(&self) -> u64 {
        (1_000_000_000 / self.freq.max(1)).max(1)
    }
}
