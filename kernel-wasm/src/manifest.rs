//! Manifests (`manifest.toml`): what a module is, what it may do and how much it may use.
//!
//! ```toml
//! name = "indexer"
//! version = "1.2.0"
//! description = "Builds the search index of /data"
//! entry = "_start"                       # export to run (default _start)
//! capabilities = ["file:read=/data", "file:write=/out", "clock"]
//! memory_limit = "64MiB"                 # bytes, or a string with B/KiB/MiB/GiB
//! fuel_limit = 50_000_000
//! time_limit_ms = 2000
//! fd_limit = 32
//! spawn_limit = 4
//! mailbox_depth = 64
//! args = ["--verbose"]
//!
//! [env]
//! LANG = "C"
//!
//! [[preopens]]
//! host = "data"                          # host directory (kwasm: relative to the manifest)
//! guest = "/data"                        # where the guest sees it
//! ```
//!
//! Parsing is strict: unknown keys, wrong types, out-of-range numbers, invalid versions and
//! oversized strings are refused with [`Error::Manifest`] naming the line and the field. Nothing
//! in a manifest can make the parser panic or recurse without bound (the TOML parser limits
//! nesting; the file itself is limited to [`MAX_MANIFEST_BYTES`]). The full reference is in
//! `docs/capabilities.md`.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::caps::{parse_grant, CapSet};
use crate::error::{Error, Result};
use crate::instance::InstanceConfig;

/// The largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
const MAX_NAME: usize = 64;
const MAX_VERSION: usize = 128;
const MAX_DESCRIPTION: usize = 1024;
const MAX_ENTRY: usize = 256;
const MAX_ITEMS: usize = 256;
const MAX_STRING: usize = 4096;
const MAX_PREOPENS: usize = 64;

/// A semantic version (semver 2.0): `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Pre-release identifiers (`rc.1`), empty if none.
    pub pre: String,
    /// Build metadata (`git.abc`), empty if none.
    pub build: String,
}

impl Version {
    /// Parses a semver 2.0 version; the error says what is wrong.
    pub fn parse(text: &str) -> core::result::Result<Version, String> {
        if text.len() > MAX_VERSION {
            return Err(format!("longer than {MAX_VERSION} bytes"));
        }
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => {
                identifiers(build, "build metadata", false)?;
                (rest, build)
            }
            None => (text, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => {
                identifiers(pre, "pre-release", true)?;
                (core, pre)
            }
            None => (rest, ""),
        };
        let mut parts = core.split('.');
        let mut number = |what: &str| -> core::result::Result<u64, String> {
            let part = parts
                .next()
                .ok_or_else(|| format!("{text:?} is not MAJOR.MINOR.PATCH (no {what} number)"))?;
            numeric(part)
                .ok_or_else(|| format!("{what} {part:?} is not a number without leading zeros"))
        };
        let major = number("major")?;
        let minor = number("minor")?;
        let patch = number("patch")?;
        if parts.next().is_some() {
            return Err(format!(
                "{text:?} has more than three numbers in MAJOR.MINOR.PATCH"
            ));
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            build: build.to_string(),
        })
    }
}

impl Version {
    /// Semver 2.0 precedence: numbers compared numerically, a pre-release below its release,
    /// pre-release identifiers compared one by one (numeric ones numerically and below
    /// alphanumeric ones); build metadata does not count. `Equal` for `1.0.0+a` and `1.0.0+b`.
    pub fn precedence(&self, other: &Version) -> core::cmp::Ordering {
        use core::cmp::Ordering;
        let numbers =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if numbers != Ordering::Equal {
            return numbers;
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        let mut mine = self.pre.split('.');
        let mut theirs = other.pre.split('.');
        loop {
            match (mine.next(), theirs.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(a), Some(b)) => {
                    let order = match (numeric_id(a), numeric_id(b)) {
                        (Some(x), Some(y)) => x.cmp(&y),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => a.cmp(b),
                    };
                    if order != Ordering::Equal {
                        return order;
                    }
                }
            }
        }
    }
}

/// A pre-release identifier's number, when it is all digits (compared as a number of any
/// length: longer is larger, then digit by digit).
fn numeric_id(id: &str) -> Option<(usize, &str)> {
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some((id.len(), id))
}

/// A semver numeric identifier: digits, no leading zero, fits u64.
fn numeric(part: &str) -> Option<u64> {
    let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits || (part.len() > 1 && part.starts_with('0')) {
        return None;
    }
    part.parse().ok()
}

/// Dot-separated identifiers of `[0-9A-Za-z-]`; pre-release numeric ones without leading zeros.
fn identifiers(text: &str, what: &str, pre: bool) -> core::result::Result<(), String> {
    for id in text.split('.') {
        if id.is_empty() {
            return Err(format!("empty identifier in the {what} {text:?}"));
        }
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!(
                "{what} {text:?} may only contain letters, digits, '-' and '.'"
            ));
        }
        if pre && id.bytes().all(|b| b.is_ascii_digit()) && id.len() > 1 && id.starts_with('0') {
            return Err(format!(
                "numeric {what} identifier {id:?} has a leading zero"
            ));
        }
    }
    Ok(())
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

/// A directory the guest sees: `host` (interpreted by the embedder: kwasm resolves it relative
/// to the manifest's directory) mounted at absolute guest path `guest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreopenSpec {
    pub host: String,
    pub guest: String,
}

/// A parsed and validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: Version,
    pub description: Option<String>,
    /// The export to run (default `_start`).
    pub entry: String,
    /// What the module is granted; no `capabilities` key grants nothing.
    pub capabilities: CapSet,
    /// Bytes of linear memory.
    pub memory_limit: Option<usize>,
    pub fuel_limit: Option<u64>,
    pub time_limit_ms: Option<u64>,
    pub fd_limit: Option<usize>,
    pub spawn_limit: Option<u32>,
    pub mailbox_depth: Option<usize>,
    /// Environment, sorted by key.
    pub env: Vec<(String, String)>,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    pub preopens: Vec<PreopenSpec>,
}

/// The file as TOML sees it, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    entry: Option<Spanned<String>>,
    capabilities: Option<Spanned<Vec<Spanned<String>>>>,
    memory_limit: Option<Spanned<RawSize>>,
    fuel_limit: Option<Spanned<i64>>,
    time_limit_ms: Option<Spanned<i64>>,
    fd_limit: Option<Spanned<i64>>,
    spawn_limit: Option<Spanned<i64>>,
    mailbox_depth: Option<Spanned<i64>>,
    env: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    args: Option<Spanned<Vec<Spanned<String>>>>,
    preopens: Option<Spanned<Vec<Spanned<RawPreopen>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreopen {
    host: Spanned<String>,
    guest: Spanned<String>,
}

/// A size: bytes as an integer, or a string with a binary unit.
enum RawSize {
    Bytes(i64),
    Text(String),
}

/// By hand rather than `#[serde(untagged)]`, whose error for anything else is "data did not
/// match any variant of untagged enum RawSize".
impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> core::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer number of bytes or a string like \"64MiB\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> core::result::Result<RawSize, E> {
                Ok(RawSize::Bytes(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> core::result::Result<RawSize, E> {
                i64::try_from(v)
                    .map(RawSize::Bytes)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> core::result::Result<RawSize, E> {
                if v < 0 {
                    return Err(E::custom("must not be negative"));
                }
                i64::try_from(v)
                    .map(RawSize::Bytes)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> core::result::Result<RawSize, E> {
                i64::try_from(v)
                    .map(RawSize::Bytes)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<RawSize, E> {
                Ok(RawSize::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Builds manifest errors with the line of a span.
struct Ctx<'a> {
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: &Range<usize>) -> u32 {
        let end = span.start.min(self.text.len());
        let newlines = self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        u32::try_from(newlines + 1).unwrap_or(u32::MAX)
    }

    fn err(&self, span: &Range<usize>, field: &str, message: impl Into<String>) -> Error {
        Error::Manifest {
            line: Some(self.line(span)),
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// A required string of at most `max` bytes without control characters.
    fn string(&self, value: &Spanned<String>, field: &str, max: usize) -> Result<String> {
        let s = value.get_ref();
        if s.len() > max {
            return Err(self.err(
                &value.span(),
                field,
                format!("is {} bytes long, the most is {max}", s.len()),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(self.err(&value.span(), field, "must not contain control characters"));
        }
        Ok(s.clone())
    }

    /// An integer in `min..=max`.
    fn integer(&self, value: &Spanned<i64>, field: &str, min: i64, max: u64) -> Result<u64> {
        let n = *value.get_ref();
        if n < min {
            let message = if n < 0 {
                "must not be negative".to_string()
            } else {
                format!("must be at least {min}")
            };
            return Err(self.err(&value.span(), field, message));
        }
        let n = n as u64;
        if n > max {
            return Err(self.err(
                &value.span(),
                field,
                format!("{n} is more than the most, {max}"),
            ));
        }
        Ok(n)
    }

    fn list<'v>(
        &self,
        value: &'v Spanned<Vec<Spanned<String>>>,
        field: &str,
    ) -> Result<&'v [Spanned<String>]> {
        let items = value.get_ref();
        if items.len() > MAX_ITEMS {
            return Err(self.err(
                &value.span(),
                field,
                format!("has {} items, the most is {MAX_ITEMS}", items.len()),
            ));
        }
        Ok(items)
    }
}

/// Parses a size like `65536`, `"64KiB"`, `"16 MiB"`, `"1GiB"`.
fn parse_size(text: &str) -> core::result::Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || digits.len() > 20 {
        return Err(format!(
            "{text:?} is not a size like 65536, \"64KiB\" or \"16MiB\""
        ));
    }
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is too large"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit {other:?}; use B, KiB, MiB or GiB (or an integer number of bytes)"
            ))
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Keeps an engine message to a readable length, on one line, with any control character (from
/// a quoted key, say) escaped so it cannot reach the terminal.
fn clip(message: &str) -> String {
    const MAX: usize = 300;
    let message = crate::runtime::one_line(message);
    let message = if message.chars().any(char::is_control) {
        let mut escaped = String::with_capacity(message.len() + 8);
        for c in message.chars() {
            if c.is_control() {
                escaped.extend(c.escape_default());
            } else {
                escaped.push(c);
            }
        }
        escaped
    } else {
        message
    };
    if message.len() <= MAX {
        return message;
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// The key written on the line where `offset` lies (`key = value`), for errors of the TOML layer.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let key = match line.split_once('=') {
        Some((key, _)) => key,
        // A table header (`[[preopens]]`): errors inside the table, such as a missing field,
        // point at it.
        None => line
            .trim()
            .strip_prefix('[')?
            .split(']')
            .next()?
            .trim_start_matches('['),
    };
    let key = key.trim().trim_matches('"');
    let bare = !key.is_empty()
        && key.len() <= MAX_NAME
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    bare.then(|| key.to_string())
}

/// Where a name is valid: `[A-Za-z0-9][A-Za-z0-9._-]*`.
fn valid_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Manifest {
    /// Parses manifest bytes (UTF-8).
    pub fn from_bytes(bytes: &[u8]) -> Result<Manifest> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(Error::Manifest {
                line: None,
                field: None,
                message: format!(
                    "the file is {} bytes, the most is {MAX_MANIFEST_BYTES}",
                    bytes.len()
                ),
            });
        }
        let text = core::str::from_utf8(bytes).map_err(|e| Error::Manifest {
            line: Some(
                u32::try_from(
                    bytes[..e.valid_up_to()]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count()
                        + 1,
                )
                .unwrap_or(u32::MAX),
            ),
            field: None,
            message: "the file is not valid UTF-8".to_string(),
        })?;
        Manifest::parse(text)
    }

    /// Parses and validates a manifest.
    pub fn parse(text: &str) -> Result<Manifest> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(Error::Manifest {
                line: None,
                field: None,
                message: format!(
                    "the file is {} bytes, the most is {MAX_MANIFEST_BYTES}",
                    text.len()
                ),
            });
        }
        let cx = Ctx { text };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let span = e.span();
            Error::Manifest {
                line: span.as_ref().map(|s| cx.line(s)),
                field: span.and_then(|s| key_at(text, s.start)),
                message: clip(e.message()),
            }
        })?;
        let missing = |field: &str| Error::Manifest {
            line: None,
            field: Some(field.to_string()),
            message: "is required".to_string(),
        };

        let name_raw = raw.name.as_ref().ok_or_else(|| missing("name"))?;
        let name = cx.string(name_raw, "name", MAX_NAME)?;
        if !valid_name(&name) {
            return Err(cx.err(
                &name_raw.span(),
                "name",
                "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
            ));
        }
        let version_raw = raw.version.as_ref().ok_or_else(|| missing("version"))?;
        let version_text = cx.string(version_raw, "version", MAX_VERSION)?;
        let version = Version::parse(&version_text).map_err(|why| {
            cx.err(
                &version_raw.span(),
                "version",
                format!("{version_text:?} is not a semantic version (like 1.0.0): {why}"),
            )
        })?;
        let description = match &raw.description {
            Some(d) => Some(cx.string(d, "description", MAX_DESCRIPTION)?),
            None => None,
        };
        let entry = match &raw.entry {
            Some(e) => {
                let entry = cx.string(e, "entry", MAX_ENTRY)?;
                if entry.is_empty() {
                    return Err(cx.err(&e.span(), "entry", "must not be empty"));
                }
                entry
            }
            None => "_start".to_string(),
        };

        let mut capabilities = CapSet::none();
        if let Some(list) = &raw.capabilities {
            for item in cx.list(list, "capabilities")? {
                let text = cx.string(item, "capabilities", MAX_ENTRY)?;
                let grant = parse_grant(&text).map_err(|e| {
                    let message = match e {
                        Error::Config { message, .. } => message,
                        other => other.to_string(),
                    };
                    cx.err(&item.span(), "capabilities", message)
                })?;
                capabilities.grant(grant);
            }
        }

        let memory_limit = match &raw.memory_limit {
            None => None,
            Some(size) => {
                let bytes = match size.get_ref() {
                    RawSize::Bytes(n) => {
                        let n = Spanned::new(size.span(), *n);
                        cx.integer(&n, "memory_limit", 1, u64::MAX)?
                    }
                    RawSize::Text(t) => {
                        parse_size(t).map_err(|why| cx.err(&size.span(), "memory_limit", why))?
                    }
                };
                if bytes == 0 {
                    return Err(cx.err(&size.span(), "memory_limit", "must be at least 1"));
                }
                Some(usize::try_from(bytes).map_err(|_| {
                    cx.err(
                        &size.span(),
                        "memory_limit",
                        format!("{bytes} bytes is more than this machine can address"),
                    )
                })?)
            }
        };
        let int = |v: &Option<Spanned<i64>>, field: &str, min: i64, max: u64| match v {
            Some(v) => cx.integer(v, field, min, max).map(Some),
            None => Ok(None),
        };
        let fuel_limit = int(&raw.fuel_limit, "fuel_limit", 1, u64::MAX)?;
        let time_limit_ms = int(&raw.time_limit_ms, "time_limit_ms", 1, u64::MAX)?;
        let fd_limit = int(&raw.fd_limit, "fd_limit", 0, u64::from(u32::MAX))?.map(|n| n as usize);
        let spawn_limit =
            int(&raw.spawn_limit, "spawn_limit", 0, u64::from(u32::MAX))?.map(|n| n as u32);
        let mailbox_depth =
            int(&raw.mailbox_depth, "mailbox_depth", 1, u64::from(u32::MAX))?.map(|n| n as usize);

        let mut env = Vec::new();
        if let Some(table) = &raw.env {
            if table.get_ref().len() > MAX_ITEMS {
                return Err(cx.err(
                    &table.span(),
                    "env",
                    format!(
                        "has {} variables, the most is {MAX_ITEMS}",
                        table.get_ref().len()
                    ),
                ));
            }
            for (key, value) in table.get_ref() {
                let field = format!("env.{}", clip(key));
                if key.is_empty()
                    || key.len() > MAX_ENTRY
                    || key.contains('=')
                    || key.chars().any(char::is_control)
                {
                    return Err(cx.err(
                        &value.span(),
                        &field,
                        format!(
                            "variable names must be 1 to {MAX_ENTRY} bytes without '=', NUL or control characters"
                        ),
                    ));
                }
                let value = cx.string(value, &field, MAX_STRING)?;
                env.push((key.clone(), value));
            }
        }
        let mut args = Vec::new();
        if let Some(list) = &raw.args {
            for item in cx.list(list, "args")? {
                args.push(cx.string(item, "args", MAX_STRING)?);
            }
        }
        let mut preopens: Vec<PreopenSpec> = Vec::new();
        if let Some(list) = &raw.preopens {
            if list.get_ref().len() > MAX_PREOPENS {
                return Err(cx.err(
                    &list.span(),
                    "preopens",
                    format!(
                        "has {} entries, the most is {MAX_PREOPENS}",
                        list.get_ref().len()
                    ),
                ));
            }
            for item in list.get_ref() {
                let p = item.get_ref();
                let host = cx.string(&p.host, "preopens.host", MAX_STRING)?;
                if host.is_empty() {
                    return Err(cx.err(&p.host.span(), "preopens.host", "must not be empty"));
                }
                let written = cx.string(&p.guest, "preopens.guest", MAX_ENTRY)?;
                // Trailing slashes do not change the directory: `/data/` is mounted as `/data`,
                // so it cannot be mounted twice under two spellings.
                let guest = match written.trim_end_matches('/') {
                    "" => "/".to_string(),
                    trimmed => trimmed.to_string(),
                };
                let bad = !guest.starts_with('/')
                    || (guest != "/"
                        && guest
                            .split('/')
                            .skip(1)
                            .any(|c| c.is_empty() || c == ".." || c == "."));
                if bad {
                    return Err(cx.err(
                        &p.guest.span(),
                        "preopens.guest",
                        format!(
                            "{written:?} must be an absolute guest path without . or .. or empty components (like /data)"
                        ),
                    ));
                }
                if preopens.iter().any(|q| q.guest == guest) {
                    return Err(cx.err(
                        &p.guest.span(),
                        "preopens.guest",
                        format!("{guest:?} is mounted twice"),
                    ));
                }
                preopens.push(PreopenSpec { host, guest });
            }
        }
        Ok(Manifest {
            name,
            version,
            description,
            entry,
            capabilities,
            memory_limit,
            fuel_limit,
            time_limit_ms,
            fd_limit,
            spawn_limit,
            mailbox_depth,
            env,
            args,
            preopens,
        })
    }

    /// Applies the manifest to an instance configuration: capabilities (replacing the default
    /// set), limits, environment and arguments.
    ///
    /// - `argv` becomes `[argv0, manifest args..., the args already in config after argv0...]`,
    ///   with `argv0` the one already in `config` or else the manifest's name;
    /// - the environment is the manifest's, with the variables already in `config` overriding
    ///   those of the same name;
    /// - preopens and `fd_limit` are not applied here: they belong to the WASI layer and the
    ///   embedder (kwasm mounts [`Manifest::preopens`] as if given with `--dir`).
    pub fn apply_to(&self, config: &mut InstanceConfig) {
        config.caps = self.capabilities.clone();
        config.max_memory = self.memory_limit;
        config.fuel = self.fuel_limit;
        config.time_limit_ms = self.time_limit_ms;
        config.spawn_limit = self.spawn_limit;
        config.mailbox_depth = self.mailbox_depth;
        config.fd_limit = self.fd_limit;
        let mut args = Vec::with_capacity(1 + self.args.len() + config.args.len());
        let mut given = core::mem::take(&mut config.args).into_iter();
        args.push(given.next().unwrap_or_else(|| self.name.clone()));
        args.extend(self.args.iter().cloned());
        args.extend(given);
        config.args = args;
        let mut env: Vec<(String, String)> = self
            .env
            .iter()
            .filter(|(k, _)| !config.env.iter().any(|(given, _)| given == k))
            .cloned()
            .collect();
        env.append(&mut config.env);
        config.env = env;
    }
}
