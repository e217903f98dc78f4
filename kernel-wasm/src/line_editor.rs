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
    fn erase_char(&mut self, echo: &mut Vec<u8>) {
        let Some(last) = self.buf.pop() else {
            return;
        };
        if last >= 0x80 {
            // Drop continuation bytes back to (and including) the lead byte.
            let mut byte = last;
            while byte & 0xc0 == 0x80 {
                match self.buf.pop() {
                    Some(b) => byte = b,
                    None => break,
                }
            }
        }
        echo.extend_from_slice(b"\x08 \x08");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
