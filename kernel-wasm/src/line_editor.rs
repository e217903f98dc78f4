//! The serial console's line editor, as a portable state machine.
//!
//! The kernel reads raw bytes from the UART; this module turns them into completed lines and the
//! echo the terminal should show, so the interesting part (backspace, Ctrl-C, Ctrl-D, escape
//! sequences, CR/LF pairs) is tested on the host and the kernel only moves bytes.
//!
//! Feed one byte at a time with [`LineEditor::feed`]; echo bytes are appended to a caller buffer
//! (newlines are plain `\n`: the console translates them to `\r\n`), and a completed line, an
//! interrupt or end of input is returned as an [`Event`].

use alloc::string::String;
use alloc::vec::Vec;

/// The longest line the editor keeps, in bytes; further typed characters are dropped (with a bell).
pub const DEFAULT_MAX_LINE: usize = 4096;

/// What one byte completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Enter was pressed: the line without its terminator (invalid UTF-8 replaced by U+FFFD).
    Line(String),
    /// Ctrl-C: the line was dropped (the echo shows `^C` and a newline).
    Interrupt,
    /// Ctrl-D on an empty line: end of input.
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// After ESC.
    Start,
    /// Inside a CSI (`ESC [`) or SS3 (`ESC O`) sequence: swallowed until its final byte.
    Sequence,
}

/// A line editor fed one byte at a time.
#[derive(Debug, Clone)]
pub struct LineEditor {
    buf: Vec<u8>,
    max_len: usize,
    /// The previous byte was `\r`, so a following `\n` belongs to the same Enter.
    after_cr: bool,
    escape: Escape,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

const BELL: u8 = 0x07;
const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const CTRL_U: u8 = 0x15;
const ESC: u8 = 0x1b;
const DEL: u8 = 0x7f;

impl LineEditor {
    /// An editor keeping lines of at most `max_len` bytes (at least 1).
    pub fn new(max_len: usize) -> Self {
        LineEditor {
            buf: Vec::new(),
            max_len: max_len.max(1),
            after_cr: false,
            escape: Escape::None,
        }
    }

    /// The bytes typed so far on the current line.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Processes one input byte: appends what the terminal should show to `echo` and returns the
    /// event the byte completed, if any.
    pub fn feed(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<Event> {
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        // A control byte (Enter, Ctrl-C, another ESC ...) inside an escape sequence cancels the
        // sequence and does its own job, as terminals execute C0 controls mid-sequence: a stray
        // ESC never swallows the Enter after it.
        if self.escape != Escape::None && (byte < 0x20 || byte == DEL) {
            self.escape = Escape::None;
        }
        match self.escape {
            Escape::Start => {
                self.escape = if byte == b'[' || byte == b'O' {
                    Escape::Sequence
                } else {
                    Escape::None
                };
                return None;
            }
            Escape::Sequence => {
                // Parameter and intermediate bytes are 0x20..=0x3f; the final byte ends it.
                if !(0x20..=0x3f).contains(&byte) {
                    self.escape = Escape::None;
                }
                return None;
            }
            Escape::None => {}
        }
        match byte {
            b'\n' if after_cr => None,
            b'\r' | b'\n' => {
                self.after_cr = byte == b'\r';
                echo.push(b'\n');
                let line = String::from_utf8_lossy(&self.buf).into_owned();
                self.buf.clear();
                Some(Event::Line(line))
            }
            BACKSPACE | DEL => {
                self.erase_char(echo);
                None
            }
            CTRL_U => {
                while !self.buf.is_empty() {
                    self.erase_char(echo);
                }
                None
            }
            CTRL_C => {
                self.buf.clear();
                echo.extend_from_slice(b"^C\n");
                Some(Event::Interrupt)
            }
            CTRL_D => {
                if self.buf.is_empty() {
                    Some(Event::Eof)
                } else {
                    echo.push(BELL);
                    None
                }
            }
            ESC => {
                self.escape = Escape::Start;
                None
            }
            b'\t' => self.insert(b' ', echo),
            0x00..=0x1f => None,
            _ => self.insert(byte, echo),
        }
    }

    fn insert(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<Event> {
        if self.buf.len() < self.max_len {
            self.buf.push(byte);
            echo.push(byte);
        } else {
            echo.push(BELL);
        }
        None
    }

    /// Removes the last character (a whole UTF-8 sequence) and erases one terminal column.
    ///
    /// A character is at most one lead byte and three continuation bytes; a stray continuation
    /// byte or lead byte (invalid UTF-8, shown as U+FFFD) goes on its own, never taking the
    /// character typed before it.
    fn erase_char(&mut self, echo: &mut Vec<u8>) {
        let Some(last) = self.buf.pop() else {
            return;
        };
        let continuation = |b: u8| b & 0xc0 == 0x80;
        if continuation(last) {
            // The continuation bytes before it (a character has at most three) and its lead.
            let mut count = 1;
            let mut end = self.buf.len();
            while count < 3 && end > 0 && continuation(self.buf[end - 1]) {
                end -= 1;
                count += 1;
            }
            let announced = match end.checked_sub(1).map(|i| self.buf[i]) {
                Some(b) if b & 0xe0 == 0xc0 => 1,
                Some(b) if b & 0xf0 == 0xe0 => 2,
                Some(b) if b & 0xf8 == 0xf0 => 3,
                _ => 0,
            };
            // Only a lead byte announcing exactly these continuation bytes makes one character
            // of them; otherwise the last byte, already popped, was a character of its own.
            if announced == count {
                self.buf.truncate(end - 1);
            }
        }
        echo.extend_from_slice(b"\x08 \x08");
    }
}

/// Bytes typed while a guest or the agents run, kept for the line editor, and the Ctrl-C among
/// them. The console drains its receiver into this when asked for an interrupt
/// ([`Console::take_interrupt`](crate::Console::take_interrupt)); Ctrl-C drops what was typed
/// before it (as a terminal flushes its input on an interrupt) and is reported once.
#[derive(Debug, Clone, Default)]
pub struct Typeahead {
    bytes: alloc::collections::VecDeque<u8>,
    interrupted: bool,
}

/// The most bytes [`Typeahead`] keeps; later ones are dropped until the editor takes some.
pub const MAX_TYPEAHEAD: usize = DEFAULT_MAX_LINE;

impl Typeahead {
    /// Records one received byte.
    pub fn push(&mut self, byte: u8) {
        if byte == CTRL_C {
            self.bytes.clear();
            self.interrupted = true;
        } else if self.bytes.len() < MAX_TYPEAHEAD {
            self.bytes.push_back(byte);
        }
    }

    /// Records an interrupt that did not come as a byte here (Ctrl-C typed into the line editor
    /// while a guest was reading its stdin).
    pub fn interrupt(&mut self) {
        self.interrupted = true;
    }

    /// Whether a Ctrl-C came since the last call.
    pub fn take_interrupt(&mut self) -> bool {
        core::mem::take(&mut self.interrupted)
    }

    /// Forgets an interrupt nobody took (the command it was meant for has ended).
    pub fn clear_interrupt(&mut self) {
        self.interrupted = false;
    }

    /// The oldest byte kept, for the line editor.
    pub fn pop(&mut self) -> Option<u8> {
        self.bytes.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;
    use alloc::vec;

    fn run(editor: &mut LineEditor, input: &[u8]) -> (Vec<Event>, Vec<u8>) {
        let mut echo = Vec::new();
        let events = input
            .iter()
            .filter_map(|&b| editor.feed(b, &mut echo))
            .collect();
        (events, echo)
    }

    fn line(s: &str) -> Event {
        Event::Line(s.into())
    }

    #[test]
    fn typeahead_keeps_bytes_and_reports_ctrl_c_once() {
        let mut t = Typeahead::default();
        for &b in b"ls\r" {
            t.push(b);
        }
        assert!(!t.take_interrupt());
        assert_eq!((t.pop(), t.pop()), (Some(b'l'), Some(b's')));
        // Ctrl-C drops what came before it; what comes after stays.
        for &b in b"xy\x03cat\r" {
            t.push(b);
        }
        assert!(t.take_interrupt());
        assert!(!t.take_interrupt());
        let rest: Vec<u8> = core::iter::from_fn(|| t.pop()).collect();
        assert_eq!(rest, b"cat\r");
        // Bounded: a flood keeps the first MAX_TYPEAHEAD bytes.
        for _ in 0..MAX_TYPEAHEAD + 10 {
            t.push(b'a');
        }
        assert_eq!(core::iter::from_fn(|| t.pop()).count(), MAX_TYPEAHEAD);
        t.interrupt();
        t.clear_interrupt();
        assert!(!t.take_interrupt());
    }

    #[test]
    fn plain_line_is_echoed_and_completed() {
        let mut ed = LineEditor::default();
        let (events, echo) = run(&mut ed, b"echo hi\r");
        assert_eq!(events, vec![line("echo hi")]);
        assert_eq!(echo, b"echo hi\n");
    }

    #[test]
    fn crlf_and_lf_each_end_one_line() {
        let mut ed = LineEditor::default();
        let (events, _) = run(&mut ed, b"a\r\nb\nc\r\r");
        assert_eq!(events, vec![line("a"), line("b"), line("c"), line("")]);
    }

    #[test]
    fn backspace_and_del_erase() {
        let mut ed = LineEditor::default();
        let (events, echo) = run(&mut ed, b"abc\x08\x7fd\n");
        assert_eq!(events, vec![line("ad")]);
        assert_eq!(echo, b"abc\x08 \x08\x08 \x08d\n");
    }

    #[test]
    fn backspace_on_empty_line_does_nothing() {
        let mut ed = LineEditor::default();
        let (events, echo) = run(&mut ed, b"\x7f\x7f");
        assert!(events.is_empty());
        assert!(echo.is_empty());
    }

    #[test]
    fn backspace_removes_whole_utf8_character() {
        let mut ed = LineEditor::default();
        let (events, echo) = run(&mut ed, "xé€\x7f\x7f\n".as_bytes());
        assert_eq!(events, vec![line("x")]);
        assert!(echo.ends_with(b"\x08 \x08\x08 \x08\n"));
    }

    #[test]
    fn ctrl_c_drops_the_line() {
        let mut ed = LineEditor::default();
        let (events, echo) = run(&mut ed, b"rm -rf\x03ls\n");
        assert_eq!(events, vec![Event::Interrupt, line("ls")]);
        assert_eq!(echo, b"rm -rf^C\nls\n");
    }

    #[test]
    fn ctrl_d_ends_input_only_on_empty_line() {
        let mut ed = LineEditor::default();
        let (events, echo) = run(&mut ed, b"ab\x04");
        assert!(events.is_empty());
        assert_eq!(echo, b"ab\x07");
        let (events, _) = run(&mut ed, b"\x7f\x7f\x04");
        assert_eq!(events, vec![Event::Eof]);
    }

    #[test]
    fn ctrl_u_kills_the_line() {
        let mut ed = LineEditor::default();
        let (events, _) = run(&mut ed, b"abc\x15x\n");
        assert_eq!(events, vec![line("x")]);
    }

    #[test]
    fn escape_sequences_are_swallowed() {
        let mut ed = LineEditor::default();
        // Up arrow, Delete key (ESC [ 3 ~), F1 (ESC O P).
        let (events, echo) = run(&mut ed, b"a\x1b[A\x1b[3~\x1bOPb\n");
        assert_eq!(events, vec![line("ab")]);
        assert_eq!(echo, b"ab\n");
    }

    #[test]
    fn other_control_bytes_are_ignored_and_tab_is_a_space() {
        let mut ed = LineEditor::default();
        let (events, _) = run(&mut ed, b"a\x00\x01\tb\n");
        assert_eq!(events, vec![line("a b")]);
    }

    #[test]
    fn overlong_lines_are_capped() {
        let mut ed = LineEditor::new(3);
        let (events, echo) = run(&mut ed, b"abcde\n");
        assert_eq!(events, vec![line("abc")]);
        assert_eq!(echo, b"abc\x07\x07\n");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        let mut ed = LineEditor::default();
        let (events, _) = run(&mut ed, b"a\xffb\n");
        assert_eq!(events, vec![line("a\u{fffd}b")]);
    }

    #[test]
    fn a_stray_escape_does_not_swallow_enter_or_ctrl_c() {
        let mut ed = LineEditor::default();
        // ESC then Enter; ESC [ then Enter; ESC [ 1 then Ctrl-C; ESC ESC [ A (the second ESC
        // starts a new sequence).
        let (events, echo) = run(&mut ed, b"a\x1b\rb\x1b[\rc\x1b[1\x03d\x1b\x1b[Ae\n");
        assert_eq!(
            events,
            vec![line("a"), line("b"), Event::Interrupt, line("de")]
        );
        assert_eq!(echo, b"a\nb\nc^C\nde\n");
        // Ctrl-D inside a sequence is end of input on an empty line.
        let (events, _) = run(&mut ed, b"\x1b[\x04");
        assert_eq!(events, vec![Event::Eof]);
        // Backspace (DEL) inside a sequence erases.
        let (events, _) = run(&mut ed, b"xy\x1b[\x7f\n");
        assert_eq!(events, vec![line("x")]);
    }

    #[test]
    fn backspace_over_invalid_utf8_takes_one_byte_not_the_character_before() {
        let mut ed = LineEditor::default();
        // Two stray continuation bytes after 'a': two backspaces leave 'a'.
        let (events, _) = run(&mut ed, b"a\x80\x80\x7f\x7f\n");
        assert_eq!(events, vec![line("a")]);
        // A lone lead byte, then a truncated three-byte sequence (E2 82).
        let (events, _) = run(&mut ed, b"b\xc3\x7f\n");
        assert_eq!(events, vec![line("b")]);
        let (events, _) = run(&mut ed, b"c\xe2\x82\x7f\n");
        assert_eq!(events, vec![line("c\u{fffd}")]);
        // A four-byte character goes with one backspace.
        let (events, _) = run(&mut ed, "d😀\x7f\n".as_bytes());
        assert_eq!(events, vec![line("d")]);
    }

    #[test]
    fn nul_and_control_bytes_never_reach_the_line_or_the_echo() {
        let mut ed = LineEditor::default();
        let input: Vec<u8> = (0u8..0x20)
            .filter(|b| ![b'\r', b'\n', CTRL_C, CTRL_D, BACKSPACE, CTRL_U, ESC].contains(b))
            .chain(*b"ok\n")
            .collect();
        let (events, echo) = run(&mut ed, &input);
        assert_eq!(events, vec![line(" ok")]); // the tab became a space
        assert_eq!(echo, b" ok\n");
    }

    #[test]
    fn a_very_long_line_is_capped_in_memory() {
        let mut ed = LineEditor::default();
        let mut echo = Vec::new();
        for _ in 0..1_000_000 {
            assert_eq!(ed.feed(b'x', &mut echo), None);
            echo.clear();
        }
        assert_eq!(ed.pending().len(), DEFAULT_MAX_LINE);
        assert_eq!(
            ed.feed(b'\n', &mut echo),
            Some(line(&"x".repeat(DEFAULT_MAX_LINE)))
        );
    }

    #[test]
    fn random_bytes_keep_every_invariant() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        // Bytes biased towards the interesting ones: controls, ESC, '[', UTF-8 leads and tails.
        const SPECIAL: &[u8] =
            b"\x00\x03\x04\x08\x09\x0a\x0d\x15\x1b[O~\x7f\x80\xbf\xc3\xe2\xf0\xff";
        for round in 0..3000 {
            let max = 1 + (rng.next() % 64) as usize;
            let mut ed = LineEditor::new(max);
            let len = (rng.next() % 200) as usize;
            let mut echo = Vec::new();
            for _ in 0..len {
                let r = rng.next();
                let byte = if r % 3 == 0 {
                    SPECIAL[(r >> 8) as usize % SPECIAL.len()]
                } else {
                    (r >> 16) as u8
                };
                let event = ed.feed(byte, &mut echo);
                assert!(ed.pending().len() <= max, "round {round}");
                if let Some(Event::Line(text)) = event {
                    // At most `max` bytes typed, each at worst one U+FFFD (3 bytes).
                    assert!(text.len() <= 3 * max, "round {round}: {text:?}");
                    assert!(
                        !text.chars().any(|c| (c as u32) < 0x20 || c == '\x7f'),
                        "round {round}: {text:?}"
                    );
                }
            }
            // The echo never carries a raw control byte: only bell, backspace and newline.
            assert!(
                echo.iter()
                    .all(|&b| b >= 0x20 && b != DEL || [BELL, BACKSPACE, b'\n'].contains(&b)),
                "round {round}: {echo:?}"
            );
        }
    }
}
