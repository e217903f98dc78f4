//! The text of `pkg-list`/`kwasm pkg list` and `pkg-info`/`kwasm pkg info`: one formatting for
//! both hosts, so the shell and kwasm print the same lines.

use alloc::format;
use alloc::string::{String, ToString};

use super::manager::PackageInfo;
use super::{printable, PackageError};

/// The narrowest name column of `list`.
const NAME_WIDTH: usize = 20;

/// The table of installed packages: name, version, key id, size in bytes. A package that cannot
/// be read shows why on its line.
pub fn list(packages: &[Result<PackageInfo, PackageError>]) -> String {
    if packages.is_empty() {
        return String::from("no packages installed\n");
    }
    // The name column fits the longest name (names are bounded by the manifest's rules), so
    // every row stays aligned.
    let width = packages
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|p| p.name.chars().count())
        .fold(NAME_WIDTH, usize::max);
    let mut out = format!(
        "{:<width$} {:<12} {:<16} {:>10}\n",
        "NAME", "VERSION", "KEY", "SIZE"
    );
    for package in packages {
        match package {
            Ok(p) => {
                let key = p
                    .key
                    .map_or_else(|| String::from("unsigned"), |k| format!("{k}"));
                out.push_str(&format!(
                    "{:<width$} {:<12} {:<16} {:>10}\n",
                    p.name,
                    p.version,
                    key,
                    p.size()
                ));
            }
            Err(e) => out.push_str(&format!("{}\n", printable(&e.to_string()))),
        }
    }
    out
}

/// Everything about one installed package.
pub fn info(p: &PackageInfo) -> String {
    let m = &p.manifest;
    let mut out = format!("name: {}\nversion: {}\n", p.name, p.version);
    if let Some(description) = &m.description {
        out.push_str(&format!("description: {}\n", printable(description)));
    }
    match (p.key, &p.key_name) {
        (Some(key), Some(name)) => out.push_str(&format!("key: {key} ({name})\n")),
        (Some(key), None) => out.push_str(&format!("key: {key} (not trusted at install)\n")),
        (None, _) => out.push_str("key: unsigned\n"),
    }
    out.push_str(&format!("entry: {}\n", printable(&m.entry)));
    out.push_str(&format!("capabilities: {}\n", m.capabilities));
    let mut limits = String::new();
    let mut limit = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            if !limits.is_empty() {
                limits.push_str(", ");
            }
            limits.push_str(&format!("{name} {value}"));
        }
    };
    limit("memory_limit", m.memory_limit.map(|v| format!("{v}")));
    limit("fuel_limit", m.fuel_limit.map(|v| format!("{v}")));
    limit("time_limit_ms", m.time_limit_ms.map(|v| format!("{v}")));
    limit("fd_limit", m.fd_limit.map(|v| format!("{v}")));
    limit("spawn_limit", m.spawn_limit.map(|v| format!("{v}")));
    limit("mailbox_depth", m.mailbox_depth.map(|v| format!("{v}")));
    out.push_str(&format!(
        "limits: {}\n",
        if limits.is_empty() { "none" } else { &limits }
    ));
    out.push_str(&format!("size: {} bytes\nfiles:\n", p.size()));
    for (name, size) in &p.files {
        out.push_str(&format!("  {:<40} {size:>10}\n", printable(name)));
    }
    out.push_str(&format!("installed in: {}\n", p.dir));
    out
}
