//! Splitting a shell line into words: whitespace separates, `"…"` and `'…'` quote, `\` escapes
//! the next character outside single quotes. A line whose first non-blank character is an
//! unquoted `#` is a comment: no words, whatever follows (quotes included). Control characters
//! other than whitespace (NUL, ESC, ...) are refused: the kernel's line editor never passes them
//! on, so refusing them keeps every host's shell the same.

use alloc::string::String;
use alloc::vec::Vec;

/// The longest line the shell accepts, so a hostile input cannot make it allocate without bound.
pub const MAX_LINE: usize = 64 * 1024;

pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    if line.len() > MAX_LINE {
        return Err(alloc::format!("line longer than {MAX_LINE} bytes"));
    }
    if line.trim_start().starts_with('#') {
        return Ok(Vec::new());
    }
    if let Some((at, c)) = line
        .char_indices()
        .find(|&(_, c)| c.is_control() && !c.is_whitespace())
    {
        return Err(alloc::format!(
            "control character U+{:04X} at byte {at}",
            u32::from(c)
        ));
    }
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                in_word = true;
                let quote = c;
                loop {
                    match chars.next() {
                        None => return Err(alloc::format!("unterminated {quote} quote")),
                        Some(q) if q == quote => break,
                        Some('\\') if quote == '"' => match chars.next() {
                            Some(e) => current.push(e),
                            None => return Err(String::from("unterminated \" quote")),
                        },
                        Some(other) => current.push(other),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(e) => {
                    current.push(e);
                    in_word = true;
                }
                None => return Err(String::from("line ends with a backslash")),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(core::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    #[test]
    fn splits_and_quotes() {
        assert_eq!(split_words("  echo  a b ").unwrap(), ["echo", "a", "b"]);
        assert_eq!(
            split_words(r#"echo "a b" 'c "d"' e\ f"#).unwrap(),
            ["echo", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(split_words(r#"x """#).unwrap(), ["x", ""]);
        assert!(split_words("echo \"open").is_err());
        assert!(split_words("echo \\").is_err());
        assert!(split_words(&"x".repeat(MAX_LINE + 1)).is_err());
    }

    #[test]
    fn unterminated_quotes_and_trailing_backslashes_are_named() {
        let err = |line: &str| split_words(line).unwrap_err();
        assert_eq!(err("echo \"abc"), "unterminated \" quote");
        assert_eq!(err("echo 'abc"), "unterminated ' quote");
        assert_eq!(err("echo abc\\"), "line ends with a backslash");
        // A backslash inside an open double quote: the quote is what is unterminated.
        assert_eq!(err("echo \"a\\"), "unterminated \" quote");
        // Inside single quotes a backslash is literal, and the quote closes.
        assert_eq!(split_words("echo 'a\\'").unwrap(), ["echo", "a\\"]);
        assert_eq!(
            err(&"x".repeat(MAX_LINE + 1)),
            "line longer than 65536 bytes"
        );
        // Exactly the limit is fine.
        assert_eq!(split_words(&"x".repeat(MAX_LINE)).unwrap().len(), 1);
    }

    #[test]
    fn comments_are_whole_lines_whatever_they_contain() {
        for line in ["# plain", "   # indented", "# don't stop", "#\"open", "#\\"] {
            assert_eq!(split_words(line).unwrap(), Vec::<String>::new(), "{line}");
        }
        // Only a leading, unquoted `#` starts a comment.
        assert_eq!(split_words("echo a # b").unwrap(), ["echo", "a", "#", "b"]);
        assert_eq!(split_words("'#x' y").unwrap(), ["#x", "y"]);
        assert_eq!(split_words("\\#x").unwrap(), ["#x"]);
    }

    #[test]
    fn control_characters_are_refused_whitespace_separates() {
        assert_eq!(
            split_words("echo a\0b").unwrap_err(),
            "control character U+0000 at byte 6"
        );
        assert_eq!(
            split_words("echo \"\x1b[2J\"").unwrap_err(),
            "control character U+001B at byte 6"
        );
        assert_eq!(
            split_words("echo \x7f").unwrap_err(),
            "control character U+007F at byte 5"
        );
        assert_eq!(
            split_words("echo\ta\rb\x0bc\x0cd").unwrap(),
            ["echo", "a", "b", "c", "d"]
        );
        assert_eq!(split_words("'\t'").unwrap(), ["\t"]);
    }

    #[test]
    fn non_ascii_text_is_kept() {
        assert_eq!(
            split_words("echo héllo 'wörld €' \u{fffd}").unwrap(),
            ["echo", "héllo", "wörld €", "\u{fffd}"]
        );
    }

    #[test]
    fn random_lines_split_or_fail_cleanly() {
        let mut rng = XorShift(0x1357_9bdf_2468_ace0);
        const PIECES: &[&str] = &[
            "\"", "'", "\\", " ", "\t", "#", "a", "é", "€", "\0", "\x1b", "\r", "\u{85}", "--fuel",
        ];
        for round in 0..5000 {
            let mut line = String::new();
            for _ in 0..rng.next() % 40 {
                let r = rng.next();
                if r % 4 == 0 {
                    line.push(char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('?'));
                } else {
                    line.push_str(PIECES[(r >> 8) as usize % PIECES.len()]);
                }
            }
            match split_words(&line) {
                Ok(words) => {
                    assert!(words.len() <= line.len(), "round {round}: {line:?}");
                    for word in &words {
                        assert!(
                            !word.chars().any(|c| c.is_control() && !c.is_whitespace()),
                            "round {round}: {line:?}"
                        );
                        assert!(word.len() <= line.len());
                    }
                }
                Err(message) => assert!(!message.contains('\n'), "round {round}: {message}"),
            }
        }
    }
}
