//! Keys, key ids and the `signature` entry of a package.
//!
//! A key id is the first 8 bytes of the SHA-256 of the Ed25519 public key, written as 16
//! lowercase hex digits. Key files are four lines of text (format in `docs/package-format.md`):
//!
//! ```text
//! kwasm public key v1            kwasm secret key v1
//! name development               name development
//! id 8c2f9e41d0a3b7c6            id 8c2f9e41d0a3b7c6
//! ed25519 <64 hex: public key>   ed25519-seed <64 hex: secret seed>
//! ```
//!
//! The `signature` entry is three lines and then the statement it signs:
//!
//! ```text
//! kwasm signature v1
//! key-id 8c2f9e41d0a3b7c6
//! ed25519 <128 hex: the signature of SHA-256(statement)>
//! <statement, see statement.rs>
//! ```
//!
//! Every parser is strict (one spelling per value: lowercase hex, exact line order) and
//! bounded by its input's length.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::{hex, sha256, unhex};

/// The id of a key: the first 8 bytes of the SHA-256 of its public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    pub fn of(public: &[u8; 32]) -> KeyId {
        let digest = sha256(public);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// Parses 16 lowercase hex digits.
    pub fn parse(text: &str) -> Option<KeyId> {
        unhex::<8>(text).map(KeyId)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// The largest key file read.
pub const MAX_KEY_FILE_BYTES: usize = 1024;
const MAX_KEY_NAME: usize = 64;

/// A key's name: 1 to 64 bytes of `[A-Za-z0-9._-]`.
fn check_key_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_KEY_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key name {:?} must be 1 to {MAX_KEY_NAME} letters, digits, '.', '_' or '-'",
            super::printable(name)
        ))
    }
}

/// Splits a key file into its four values, checking the fixed words and order.
fn key_fields<'t>(text: &'t [u8], kind: &str, key_word: &str) -> Result<[&'t str; 3], String> {
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(format!(
            "{} bytes is too long for a key file (at most {MAX_KEY_FILE_BYTES})",
            text.len()
        ));
    }
    let text = core::str::from_utf8(text).map_err(|_| "not UTF-8 text".to_string())?;
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = body.split('\n');
    let header = format!("kwasm {kind} key v1");
    if lines.next() != Some(header.as_str()) {
        return Err(format!(
            "not a kwasm {kind} key (the first line is not {header:?})"
        ));
    }
    let mut field = |word: &str| -> Result<&'t str, String> {
        lines
            .next()
            .and_then(|l| l.strip_prefix(word))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| format!("expected a line \"{word} ...\""))
    };
    let name = field("name")?;
    let id = field("id")?;
    let key = field(key_word)?;
    if lines.next().is_some() {
        return Err("unexpected lines after the key".into());
    }
    check_key_name(name)?;
    Ok([name, id, key])
}

/// A public key with its name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub name: String,
    pub id: KeyId,
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses a public key file; the id written in it must be the key's.
    pub fn parse(text: &[u8]) -> Result<PublicKey, String> {
        let [name, id, key] = key_fields(text, "public", "ed25519")?;
        let bytes = unhex::<32>(key).ok_or("the key is not 64 lowercase hex digits")?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "the key is not a valid Ed25519 public key".to_string())?;
        let written = KeyId::parse(id).ok_or("the id is not 16 lowercase hex digits")?;
        let actual = KeyId::of(&bytes);
        if written != actual {
            return Err(format!(
                "the id {written} does not belong to the key (its id is {actual})"
            ));
        }
        Ok(PublicKey {
            name: name.to_string(),
            id: actual,
            key,
        })
    }

    /// The key file's text.
    pub fn to_text(&self) -> String {
        format!(
            "kwasm public key v1\nname {}\nid {}\ned25519 {}\n",
            self.name,
            self.id,
            hex(self.key.as_bytes())
        )
    }

    /// Whether `signature` is this key's signature of `digest` (strict Ed25519: no
    /// malleable or small-order encodings).
    pub fn verify(&self, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        self.key.verify_strict(digest, &signature).is_ok()
    }

    pub fn bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

/// A secret (signing) key with its name and id.
#[derive(Clone)]
pub struct SecretKey {
    pub name: String,
    pub id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret itself.
        f.debug_struct("SecretKey")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// The key of a 32-byte seed (from a CSPRNG: `kwasm pkg keygen` uses the OS's).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<SecretKey, String> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        Ok(SecretKey {
            name: name.to_string(),
            id: KeyId::of(key.verifying_key().as_bytes()),
            key,
        })
    }

    pub fn parse(text: &[u8]) -> Result<SecretKey, String> {
        let [name, id, seed] = key_fields(text, "secret", "ed25519-seed")?;
        let seed = unhex::<32>(seed).ok_or("the seed is not 64 lowercase hex digits")?;
        let key = SecretKey::from_seed(name, seed)?;
        let written = KeyId::parse(id).ok_or("the id is not 16 lowercase hex digits")?;
        if written != key.id {
            return Err(format!(
                "the id {written} does not belong to the key (its id is {})",
                key.id
            ));
        }
        Ok(key)
    }

    pub fn to_text(&self) -> String {
        format!(
            "kwasm secret key v1\nname {}\nid {}\ned25519-seed {}\n",
            self.name,
            self.id,
            hex(self.key.as_bytes())
        )
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs a 32-byte digest.
    pub fn sign(&self, digest: &[u8; 32]) -> [u8; 64] {
        self.key.sign(digest).to_bytes()
    }
}

/// The parsed `signature` entry: who signed, the signature, and the signed statement's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureBlock<'a> {
    pub key: KeyId,
    pub signature: [u8; 64],
    /// The statement exactly as it stands in the entry (what the signature covers, hashed).
    pub statement: &'a [u8],
}

const SIGNATURE_HEADER: &str = "kwasm signature v1\n";

impl<'a> SignatureBlock<'a> {
    pub fn parse(entry: &'a [u8]) -> Result<SignatureBlock<'a>, String> {
        let rest = entry
            .strip_prefix(SIGNATURE_HEADER.as_bytes())
            .ok_or("the first line is not \"kwasm signature v1\"")?;
        let (line, rest) = split_line(rest).ok_or("no key-id line")?;
        let key = line
            .strip_prefix("key-id ")
            .and_then(KeyId::parse)
            .ok_or("expected \"key-id\" and 16 lowercase hex digits")?;
        let (line, statement) = split_line(rest).ok_or("no ed25519 line")?;
        let signature = line
            .strip_prefix("ed25519 ")
            .and_then(unhex::<64>)
            .ok_or("expected \"ed25519\" and 128 lowercase hex digits")?;
        Ok(SignatureBlock {
            key,
            signature,
            statement,
        })
    }

    /// The entry's bytes.
    pub fn encode(key: KeyId, signature: &[u8; 64], statement: &[u8]) -> alloc::vec::Vec<u8> {
        let mut out = format!(
            "{SIGNATURE_HEADER}key-id {key}\ned25519 {}\n",
            hex(signature)
        )
        .into_bytes();
        out.extend_from_slice(statement);
        out
    }
}

/// The first line of `bytes` (UTF-8, without its `\n`) and the rest.
fn split_line(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let end = bytes.iter().take(256).position(|&b| b == b'\n')?;
    let line = core::str::from_utf8(&bytes[..end]).ok()?;
    Some((line, &bytes[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_seed("test", [7; 32]).unwrap()
    }

    #[test]
    fn key_files_round_trip_and_ids_are_checked() {
        let secret = key();
        let public = secret.public();
        assert_eq!(
            PublicKey::parse(public.to_text().as_bytes()).unwrap(),
            public
        );
        let again = SecretKey::parse(secret.to_text().as_bytes()).unwrap();
        assert_eq!(again.id, secret.id);
        // A key file whose id is another key's is refused.
        let other = SecretKey::from_seed("other", [8; 32]).unwrap().public();
        let forged = public
            .to_text()
            .replace(&public.id.to_string(), &other.id.to_string());
        let err = PublicKey::parse(forged.as_bytes()).unwrap_err();
        assert!(err.contains("does not belong to the key"), "{err}");
        // One spelling: uppercase hex, extra lines, a bad name are refused.
        assert!(PublicKey::parse(public.to_text().to_uppercase().as_bytes()).is_err());
        assert!(PublicKey::parse(format!("{}extra\n", public.to_text()).as_bytes()).is_err());
        assert!(SecretKey::from_seed("bad name", [1; 32]).is_err());
        assert!(PublicKey::parse(secret.to_text().as_bytes()).is_err());
    }

    #[test]
    fn signatures_verify_only_with_their_key_and_digest() {
        let secret = key();
        let digest = sha256(b"statement");
        let signature = secret.sign(&digest);
        assert!(secret.public().verify(&digest, &signature));
        assert!(!secret.public().verify(&sha256(b"other"), &signature));
        let other = SecretKey::from_seed("other", [8; 32]).unwrap().public();
        assert!(!other.verify(&digest, &signature));
    }

    #[test]
    fn signature_block_round_trips() {
        let secret = key();
        let entry = SignatureBlock::encode(secret.id, &[9; 64], b"kwasm statement v1\n");
        let block = SignatureBlock::parse(&entry).unwrap();
        assert_eq!(block.key, secret.id);
        assert_eq!(block.signature, [9; 64]);
        assert_eq!(block.statement, b"kwasm statement v1\n");
        assert!(SignatureBlock::parse(b"kwasm signature v2\n").is_err());
        assert!(SignatureBlock::parse(&entry[..40]).is_err());
    }
}
