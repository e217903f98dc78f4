//! The trust store: the public keys whose signatures are accepted, and the revoked key ids.
//!
//! A revocation list is text, one key id per line (16 lowercase hex digits), optionally followed
//! by a space and a comment; empty lines and lines starting with `#` are ignored:
//!
//! ```text
//! # keys no longer trusted
//! 8c2f9e41d0a3b7c6 laptop lost 2025-01-02
//! ```
//!
//! A revoked key is refused even when it is also in the store, and even with
//! `--allow-unsigned`: revoking says "this key signs nothing any more".

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::signature::{KeyId, PublicKey};

/// The largest revocation list read, in bytes.
pub const MAX_REVOCATION_BYTES: usize = 256 << 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustStore {
    keys: Vec<PublicKey>,
    revoked: BTreeSet<KeyId>,
}

impl TrustStore {
    /// An empty store: every signed package is from an unknown key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` (a second copy of the same key is ignored).
    pub fn add(&mut self, key: PublicKey) {
        if !self.keys.iter().any(|k| k.id == key.id) {
            self.keys.push(key);
        }
    }

    /// Parses and trusts a public key file.
    pub fn add_key_file(&mut self, text: &[u8]) -> Result<KeyId, String> {
        let key = PublicKey::parse(text)?;
        let id = key.id;
        self.add(key);
        Ok(id)
    }

    pub fn revoke(&mut self, id: KeyId) {
        self.revoked.insert(id);
    }

    /// Parses a revocation list and revokes every key id in it; returns how many lines named one.
    pub fn add_revocation_list(&mut self, text: &[u8]) -> Result<usize, String> {
        if text.len() > MAX_REVOCATION_BYTES {
            return Err(format!(
                "{} bytes is too long for a revocation list (at most {MAX_REVOCATION_BYTES})",
                text.len()
            ));
        }
        let text = core::str::from_utf8(text).map_err(|_| String::from("not UTF-8 text"))?;
        let mut ids = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = line.split(' ').next().unwrap_or_default();
            let id = KeyId::parse(id).ok_or_else(|| {
                format!(
                    "line {}: expected a key id (16 lowercase hex digits), then an optional comment",
                    number + 1
                )
            })?;
            ids.push(id);
        }
        let count = ids.len();
        self.revoked.extend(ids);
        Ok(count)
    }

    /// The trusted key `id`, unless it is revoked.
    pub fn key(&self, id: KeyId) -> Option<&PublicKey> {
        if self.is_revoked(id) {
            return None;
        }
        self.keys.iter().find(|k| k.id == id)
    }

    pub fn is_revoked(&self, id: KeyId) -> bool {
        self.revoked.contains(&id)
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    pub fn revoked(&self) -> impl Iterator<Item = &KeyId> {
        self.revoked.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::SecretKey;

    #[test]
    fn revocation_lists_parse_strictly_and_win_over_keys() {
        let key = SecretKey::from_seed("k", [3; 32]).unwrap().public();
        let mut store = TrustStore::new();
        store.add(key.clone());
        store.add(key.clone());
        assert_eq!(store.keys().len(), 1);
        assert!(store.key(key.id).is_some());
        let list = format!("# comment\n\n{} lost laptop\n", key.id);
        assert_eq!(store.add_revocation_list(list.as_bytes()), Ok(1));
        assert!(store.is_revoked(key.id));
        assert!(store.key(key.id).is_none());
        let err = store.add_revocation_list(b"not-a-key-id\n").unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
        assert!(store.add_revocation_list(b"ABCDEF0123456789\n").is_err());
    }
}
