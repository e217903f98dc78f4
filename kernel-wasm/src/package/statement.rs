//! The statement a package signature signs: its name and version, the signing key's id, and the
//! size and SHA-256 of every other entry, in archive order.
//!
//! ```text
//! kwasm statement v1
//! name hello
//! version 1.0.0
//! key-id 8c2f9e41d0a3b7c6
//! file manifest.toml 96 <64 hex: SHA-256>
//! file module.wasm 120 <64 hex>
//! file assets/greeting.txt 6 <64 hex>
//! ```
//!
//! The signature covers SHA-256 of these bytes exactly. [`Statement::parse`] accepts only the
//! canonical text ([`Statement::encode`] of what it parsed must give the same bytes back), so a
//! statement has one spelling.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::archive::{check_name, Archive};
use super::signature::KeyId;
use super::{hex, sha256, unhex, MAX_ASSETS};

const HEADER: &str = "kwasm statement v1";

/// One entry a statement covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub name: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub name: String,
    /// The version as written in the manifest.
    pub version: String,
    pub key: KeyId,
    /// manifest.toml, module.wasm, then the assets, as in the archive.
    pub files: Vec<FileDigest>,
}

impl Statement {
    /// The statement of `archive` for package `name` `version`, to be signed by `key`.
    pub fn of(archive: &Archive<'_>, name: &str, version: &str, key: KeyId) -> Statement {
        Statement {
            name: name.to_string(),
            version: version.to_string(),
            key,
            files: archive
                .files()
                .map(|(name, data)| FileDigest {
                    name: name.to_string(),
                    size: data.len() as u64,
                    sha256: sha256(data),
                })
                .collect(),
        }
    }

    pub fn encode(&self) -> String {
        let mut out = format!(
            "{HEADER}\nname {}\nversion {}\nkey-id {}\n",
            self.name, self.version, self.key
        );
        for file in &self.files {
            out.push_str(&format!(
                "file {} {} {}\n",
                file.name,
                file.size,
                hex(&file.sha256)
            ));
        }
        out
    }

    /// Parses the canonical text of a statement; the error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Statement, String> {
        let text = core::str::from_utf8(bytes).map_err(|_| "the statement is not UTF-8")?;
        let body = text
            .strip_suffix('\n')
            .ok_or("the statement does not end with a newline")?;
        let mut lines = body.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(format!("the statement does not start with {HEADER:?}"));
        }
        let mut field = |word: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(word))
                .and_then(|l| l.strip_prefix(' '))
                .ok_or_else(|| format!("the statement has no {word} line where expected"))
        };
        let name = field("name")?.to_string();
        let version = field("version")?.to_string();
        let key = KeyId::parse(field("key-id")?)
            .ok_or("the statement's key-id is not 16 lowercase hex digits")?;
        let mut files = Vec::new();
        for line in lines {
            if files.len() >= MAX_ASSETS + 2 {
                return Err(format!(
                    "the statement lists more than {} files",
                    MAX_ASSETS + 2
                ));
            }
            let mut words = line.splitn(4, ' ');
            let (Some("file"), Some(file), Some(size), Some(digest)) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(format!(
                    "statement line {:?} is not \"file NAME SIZE SHA256\"",
                    super::printable(line)
                ));
            };
            check_name(file).map_err(|why| format!("statement file name: {why}"))?;
            let size: u64 = size
                .parse()
                .map_err(|_| format!("statement size of {file} is not a number"))?;
            let sha256 = unhex::<32>(digest).ok_or_else(|| {
                format!("statement digest of {file} is not 64 lowercase hex digits")
            })?;
            files.push(FileDigest {
                name: file.to_string(),
                size,
                sha256,
            });
        }
        let statement = Statement {
            name,
            version,
            key,
            files,
        };
        if statement.encode().as_bytes() != bytes {
            return Err("the statement is not in canonical form".into());
        }
        Ok(statement)
    }
}
