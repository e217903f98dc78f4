//! Splitting a shell line into words: whitespace separates, `"…"` and `'…'` quote, `\` escapes
//! the next character outside single quotes.

use alloc::string::String;
use alloc::vec::Vec;

/// The longest line the shell accepts, so a hostile input cannot make it allocate without bound.
pub const MAX_LINE: usize = 64 * 1024;

pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    if line.len() > MAX_LINE {
        return Err(alloc::format!("line longer than {MAX_LINE} bytes"));
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
                            None => return Err(String::from("line ends with a backslash")),
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
}
