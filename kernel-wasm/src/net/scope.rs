//! Scopes of the network capability: `net:connect=10.0.2.2:8080`, `net:connect=127.0.0.1:*`,
//! `net:connect=[::1]:8080`, `net:connect=*:443`. A scope names one IP address (or `*`, any)
//! and one port (or `*`). An unscoped grant allows every address.
//!
//! Scopes are matched against the address a connection really goes to: a host name is resolved
//! first and its address checked, so a name can never reach what its address may not.

use core::net::{IpAddr, SocketAddr};

use super::addr::parse_port;

/// A parsed `net:connect` scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetScope {
    /// `None`: any address.
    pub ip: Option<IpAddr>,
    /// `None`: any port.
    pub port: Option<u16>,
}

impl NetScope {
    /// Parses `HOST:PORT` (`HOST` an IPv4 literal, a bracketed IPv6 literal or `*`; `PORT` a
    /// number or `*`).
    pub fn parse(text: &str) -> Result<NetScope, &'static str> {
        const FORM: &str =
            "must be HOST:PORT with HOST an IP address (IPv6 in brackets) or *, and PORT a number or *";
        let (host, port) = text.rsplit_once(':').ok_or(FORM)?;
        let port = match port {
            "*" => None,
            p => Some(parse_port(p).ok_or(FORM)?),
        };
        let ip = match host {
            "*" => None,
            h => {
                let bare = match h.strip_prefix('[') {
                    Some(inner) => inner.strip_suffix(']').ok_or(FORM)?,
                    None if h.contains(':') => return Err(FORM),
                    None => h,
                };
                let ip: IpAddr = bare.parse().map_err(|_| FORM)?;
                if h.starts_with('[') != ip.is_ipv6() {
                    return Err(FORM);
                }
                Some(ip)
            }
        };
        Ok(NetScope { ip, port })
    }

    /// Whether a connection to `addr` is within this scope.
    pub fn allows(&self, addr: SocketAddr) -> bool {
        self.ip.is_none_or(|ip| ip == addr.ip()) && self.port.is_none_or(|p| p == addr.port())
    }

    /// Whether every address this scope allows is allowed by `outer` too.
    pub fn within(&self, outer: &NetScope) -> bool {
        let ip = match (self.ip, outer.ip) {
            (_, None) => true,
            (Some(a), Some(b)) => a == b,
            (None, Some(_)) => false,
        };
        let port = match (self.port, outer.port) {
            (_, None) => true,
            (Some(a), Some(b)) => a == b,
            (None, Some(_)) => false,
        };
        ip && port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parse_allow_and_within() {
        let exact = NetScope::parse("10.0.2.2:8080").unwrap();
        assert!(exact.allows(sa("10.0.2.2:8080")));
        assert!(!exact.allows(sa("10.0.2.2:8081")));
        assert!(!exact.allows(sa("10.0.2.3:8080")));
        let any_port = NetScope::parse("127.0.0.1:*").unwrap();
        assert!(any_port.allows(sa("127.0.0.1:1")));
        assert!(!any_port.allows(sa("127.0.0.2:1")));
        let v6 = NetScope::parse("[::1]:80").unwrap();
        assert!(v6.allows(sa("[::1]:80")));
        assert!(!v6.allows(sa("127.0.0.1:80")));
        let any_host = NetScope::parse("*:443").unwrap();
        assert!(any_host.allows(sa("1.2.3.4:443")) && !any_host.allows(sa("1.2.3.4:80")));
        let all = NetScope::parse("*:*").unwrap();
        assert!(!exact.within(&any_port));
        assert!(exact.within(&all) && any_port.within(&all) && !all.within(&exact));
        assert!(NetScope::parse("127.0.0.1:80").unwrap().within(&any_port));
        for bad in [
            "",
            "10.0.2.2",
            "10.0.2.2:",
            "10.0.2.2:x",
            "10.0.2.2:70000",
            "::1:80",
            "[10.0.2.2]:80",
            "[::1:80",
            "localhost:80",
            "/data",
            "10.0.2.0/24:80",
        ] {
            assert!(NetScope::parse(bad).is_err(), "{bad:?}");
        }
    }
}
