//! `host:port` text, as guests pass it to `net::connect` and `--tcplisten` takes it: an IPv4
//! literal (`10.0.2.2:8080`), a bracketed IPv6 literal (`[::1]:8080`), or a host name
//! (`localhost:8080`) that only hosts with a resolver can turn into an address.

use core::net::SocketAddr;

/// The longest `host:port` text accepted (a DNS name is at most 253 bytes).
pub const MAX_ADDR_LEN: usize = 262;

/// A parsed `host:port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// An IP literal with its port.
    Addr(SocketAddr),
    /// A host name to resolve, and the port.
    Name(&'a str, u16),
}

/// Why a `host:port` text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrError {
    /// Longer than [`MAX_ADDR_LEN`].
    TooLong,
    /// Not `host:port`: no port, a port that is not a number from 0 to 65535, an empty host,
    /// a host that is neither an IP literal nor a DNS name.
    Malformed,
}

/// Parses `text` as `host:port`.
pub fn parse(text: &str) -> Result<Target<'_>, AddrError> {
    if text.len() > MAX_ADDR_LEN {
        return Err(AddrError::TooLong);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(Target::Addr(addr));
    }
    let (host, port) = text.rsplit_once(':').ok_or(AddrError::Malformed)?;
    let port = parse_port(port).ok_or(AddrError::Malformed)?;
    if is_dns_name(host) {
        Ok(Target::Name(host, port))
    } else {
        Err(AddrError::Malformed)
    }
}

/// A decimal port (0 to 65535, no sign, no leading `+`).
pub fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Letters, digits, `-` and `.`, labels of 1 to 63 bytes, at most 253 bytes, not all digits and
/// dots (that would be a malformed IP literal).
fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_names_and_garbage() {
        assert_eq!(
            parse("10.0.2.2:8080"),
            Ok(Target::Addr("10.0.2.2:8080".parse().unwrap()))
        );
        assert_eq!(
            parse("[::1]:80"),
            Ok(Target::Addr("[::1]:80".parse().unwrap()))
        );
        assert_eq!(parse("localhost:80"), Ok(Target::Name("localhost", 80)));
        assert_eq!(
            parse("example.org:443"),
            Ok(Target::Name("example.org", 443))
        );
        for bad in [
            "",
            ":80",
            "host",
            "host:",
            "host:65536",
            "host:-1",
            "host:+1",
            "1.2.3:80",
            "999.1.1.1:80",
            "a..b:80",
            "-a:80",
            "a b:80",
            "::1:80",
            "host:80:80",
            "\u{0}:1",
        ] {
            assert_eq!(parse(bad), Err(AddrError::Malformed), "{bad:?}");
        }
        let long = alloc::format!("{}:80", "a".repeat(300));
        assert_eq!(parse(&long), Err(AddrError::TooLong));
    }
}
