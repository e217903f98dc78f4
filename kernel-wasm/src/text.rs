//! Text that came from a guest (or a file, a package, a model) shown by the host: agent messages
//! and logs, module and agent names, spawn paths, file names listed by the shell, error details.
//!
//! **Invariant:** every host line that embeds such text embeds it through [`Escaped`], so it stays
//! one line and cannot drive the terminal (clear the screen, move the cursor, forge a line of the
//! shell's own). A guest's own stdout/stderr is its output, passed through as written.

use core::fmt;

/// Displays bytes with every control character escaped as Rust escapes it (`\n`, `\t`,
/// `\u{1b}`) and every byte that is not part of valid UTF-8 as `\xNN`; other text as is.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a [u8]);

impl<'a> Escaped<'a> {
    /// [`Escaped`] of a string.
    pub fn str(text: &'a str) -> Self {
        Escaped(text.as_bytes())
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            let valid = chunk.valid();
            // Runs of plain text are written in one piece (the common case: nothing to escape).
            let mut plain = 0;
            for (at, c) in valid.char_indices() {
                if c.is_control() {
                    f.write_str(&valid[plain..at])?;
                    for e in c.escape_default() {
                        fmt::Write::write_char(f, e)?;
                    }
                    plain = at + c.len_utf8();
                }
            }
            f.write_str(&valid[plain..])?;
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

/// Whether `text` would be shown changed by [`Escaped`].
pub fn needs_escaping(text: &[u8]) -> bool {
    match core::str::from_utf8(text) {
        Ok(text) => text.chars().any(char::is_control),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn control_characters_and_invalid_bytes_are_escaped() {
        let show = |b: &[u8]| format!("{}", Escaped(b));
        assert_eq!(show(b"plain text"), "plain text");
        assert_eq!(show("héllo".as_bytes()), "héllo");
        assert_eq!(show(b"a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(show(b"\x1b[2J\0"), "\\u{1b}[2J\\u{0}");
        assert_eq!(show(b"\xff\x1b"), "\\xff\\u{1b}");
        // C1 controls (U+0080..U+009F) are controls too; a cut-off UTF-8 sequence is bytes.
        assert_eq!(show("x\u{9b}y".as_bytes()), "x\\u{9b}y");
        assert_eq!(show(b"ok\xc3"), "ok\\xc3");
        assert_eq!(show(b""), "");
        assert!(needs_escaping(b"\x07") && needs_escaping(b"\xc3") && !needs_escaping(b"ok"));
    }
}
