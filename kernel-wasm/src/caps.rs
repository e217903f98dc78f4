//! Capabilities: what an instance is allowed to do. Every host function checks one before it
//! touches anything; WASI answers `ERRNO_NOTCAPABLE`, other host modules their documented error.
//! Capabilities never grow: whatever an instance spawns gets at most its own.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::error::Error;
use crate::net::scope::NetScope;

/// One kind of permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Capability {
    FileRead,
    FileWrite,
    FileCreate,
    Env,
    Clock,
    Random,
    NetConnect,
    NetSend,
    NetRecv,
    AgentSpawn,
    AgentSend,
    AgentReceive,
    LlmInfer,
    LlmAdapter,
}

impl Capability {
    pub const ALL: [Capability; 14] = [
        Capability::FileRead,
        Capability::FileWrite,
        Capability::FileCreate,
        Capability::Env,
        Capability::Clock,
        Capability::Random,
        Capability::NetConnect,
        Capability::NetSend,
        Capability::NetRecv,
        Capability::AgentSpawn,
        Capability::AgentSend,
        Capability::AgentReceive,
        Capability::LlmInfer,
        Capability::LlmAdapter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Capability::FileRead => "file:read",
            Capability::FileWrite => "file:write",
            Capability::FileCreate => "file:create",
            Capability::Env => "env",
            Capability::Clock => "clock",
            Capability::Random => "random",
            Capability::NetConnect => "net:connect",
            Capability::NetSend => "net:send",
            Capability::NetRecv => "net:recv",
            Capability::AgentSpawn => "agent:spawn",
            Capability::AgentSend => "agent:send",
            Capability::AgentReceive => "agent:receive",
            Capability::LlmInfer => "llm:infer",
            Capability::LlmAdapter => "llm:adapter",
        }
    }

    pub fn from_name(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the capability is scoped by network address (`net:connect=10.0.2.2:8080`).
    pub fn is_net_scoped(self) -> bool {
        self == Capability::NetConnect
    }

    /// Whether the capability may carry a path scope (`file:read=/data`).
    pub fn is_file(self) -> bool {
        matches!(
            self,
            Capability::FileRead | Capability::FileWrite | Capability::FileCreate
        )
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A granted capability, optionally scoped: file capabilities to a guest path, `net:connect` to
/// an address (`HOST:PORT`, see [`crate::net::scope`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub capability: Capability,
    /// `Some("/data")`: only under the preopen mounted at guest path `/data`;
    /// `Some("10.0.2.2:8080")` (`net:connect`): only connections to that address.
    pub scope: Option<String>,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(scope) => write!(f, "{}={scope}", self.capability),
            None => write!(f, "{}", self.capability),
        }
    }
}

/// The capabilities of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CapSet {
    grants: Vec<Grant>,
    /// Bit `c as u32` set when capability `c` is granted in some scope: [`CapSet::has`], which
    /// every capability-checked host call runs, is one test instead of a scan of the grants.
    /// Always derived from `grants`.
    mask: u32,
}

impl Capability {
    #[inline]
    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

fn mask_of(grants: &[Grant]) -> u32 {
    grants.iter().fold(0, |m, g| m | g.capability.bit())
}

impl CapSet {
    /// No capability at all.
    pub fn none() -> Self {
        CapSet::default()
    }

    /// Every capability, unscoped (the host's own set).
    pub fn all() -> Self {
        let grants: Vec<Grant> = Capability::ALL
            .into_iter()
            .map(|capability| Grant {
                capability,
                scope: None,
            })
            .collect();
        CapSet {
            mask: mask_of(&grants),
            grants,
        }
    }

    /// What `wasmtime run` grants by default: files on the given preopens, env, clock, random,
    /// and sending and receiving on the sockets the embedder hands over (`--tcplisten`). Not
    /// `net:connect`: opening connections is asked for explicitly.
    pub fn wasi_default() -> Self {
        let grants = [
            Capability::FileRead,
            Capability::FileWrite,
            Capability::FileCreate,
            Capability::Env,
            Capability::Clock,
            Capability::Random,
            Capability::NetSend,
            Capability::NetRecv,
        ];
        let grants: Vec<Grant> = grants
            .into_iter()
            .map(|capability| Grant {
                capability,
                scope: None,
            })
            .collect();
        CapSet {
            mask: mask_of(&grants),
            grants,
        }
    }

    /// Parses a comma-separated list (`file:read=/data,clock`); an empty list grants nothing.
    /// An unknown name is an error that lists the valid ones.
    pub fn parse(list: &str) -> Result<Self, Error> {
        let mut set = CapSet::none();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            set.grant(parse_grant(item)?);
        }
        Ok(set)
    }

    pub fn grant(&mut self, grant: Grant) {
        if !self.grants.contains(&grant) {
            self.mask |= grant.capability.bit();
            self.grants.push(grant);
            self.grants.sort();
        }
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// This set less every grant of `cap` (in any scope).
    pub fn without(&self, cap: Capability) -> CapSet {
        CapSet {
            grants: self
                .grants
                .iter()
                .filter(|g| g.capability != cap)
                .cloned()
                .collect(),
            mask: self.mask & !cap.bit(),
        }
    }

    /// Whether `cap` is granted in any scope.
    #[inline]
    pub fn has(&self, cap: Capability) -> bool {
        self.mask & cap.bit() != 0
    }

    /// Whether file capability `cap` covers the preopen mounted at guest path `mount`.
    pub fn allows_path(&self, cap: Capability, mount: &str) -> bool {
        self.grants.iter().any(|g| {
            g.capability == cap
                && match &g.scope {
                    None => true,
                    Some(scope) => path_within(mount, scope),
                }
        })
    }

    /// Whether `net:connect` allows a connection to `addr`: an unscoped grant allows any
    /// address, a scoped one its address and port (`*` for any).
    pub fn allows_connect(&self, addr: core::net::SocketAddr) -> bool {
        self.grants.iter().any(|g| {
            g.capability == Capability::NetConnect
                && match &g.scope {
                    None => true,
                    Some(scope) => NetScope::parse(scope).is_ok_and(|s| s.allows(addr)),
                }
        })
    }

    /// The capabilities both sets grant (what a child may get: at most its parent's).
    pub fn intersect(&self, other: &CapSet) -> CapSet {
        let mut out = CapSet::none();
        for g in &self.grants {
            for h in &other.grants {
                if g.capability != h.capability {
                    continue;
                }
                let within = |a: &str, b: &str| {
                    if g.capability.is_net_scoped() {
                        match (NetScope::parse(a), NetScope::parse(b)) {
                            (Ok(a), Ok(b)) => a.within(&b),
                            _ => false,
                        }
                    } else {
                        path_within(a, b)
                    }
                };
                let scope = match (&g.scope, &h.scope) {
                    (None, s) | (s, None) => s.clone(),
                    (Some(a), Some(b)) if within(a, b) => Some(a.clone()),
                    (Some(a), Some(b)) if within(b, a) => Some(b.clone()),
                    _ => continue,
                };
                out.grant(Grant {
                    capability: g.capability,
                    scope,
                });
            }
        }
        out
    }
}

impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.grants.is_empty() {
            return f.write_str("none");
        }
        for (i, g) in self.grants.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{g}")?;
        }
        Ok(())
    }
}

/// `path` equals `scope` or lies below it (component-wise: `/data2` is not within `/data`).
/// A path with a `..` component is below no scope but the root: `/data/../etc` only looks as if
/// it were within `/data`.
fn path_within(path: &str, scope: &str) -> bool {
    let path = path.trim_end_matches('/');
    let scope = scope.trim_end_matches('/');
    if scope.is_empty() {
        return true;
    }
    if path.split('/').any(|c| c == "..") {
        return false;
    }
    path == scope
        || path
            .strip_prefix(scope)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Parses one `name` or `name=/scope` item.
pub fn parse_grant(item: &str) -> Result<Grant, Error> {
    let (name, scope) = match item.split_once('=') {
        Some((name, scope)) => (name.trim(), Some(scope.trim())),
        None => (item.trim(), None),
    };
    let capability = Capability::from_name(name).ok_or_else(|| Error::Config {
        what: "capability".to_string(),
        message: alloc::format!(
            "unknown capability {name:?}; valid: {}",
            Capability::ALL
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    let scope = match scope {
        None => None,
        Some(s) if capability.is_net_scoped() => match NetScope::parse(s) {
            Ok(_) => Some(s.to_string()),
            Err(form) => {
                return Err(Error::Config {
                    what: "capability".to_string(),
                    message: alloc::format!("scope {s:?} of {name} {form}"),
                })
            }
        },
        Some(_) if !capability.is_file() => {
            return Err(Error::Config {
                what: "capability".to_string(),
                message: alloc::format!(
                "{name} cannot be scoped; only file:read, file:write, file:create (to a path) and net:connect (to an address) can"
            ),
            })
        }
        Some(s) if !s.starts_with('/') => {
            return Err(Error::Config {
                what: "capability".to_string(),
                message: alloc::format!(
                    "scope {s:?} of {name} must be an absolute guest path like /data"
                ),
            })
        }
        // A scope is compared with mount paths as text: `.`/`..` would make it name a place it
        // does not look like, a `,` would split it when the set is printed and read back.
        Some(s)
            if s.split('/').any(|c| c == "." || c == "..")
                || s.contains(',')
                || s.chars().any(char::is_control) =>
        {
            return Err(Error::Config {
                what: "capability".to_string(),
                message: alloc::format!(
                    "scope {s:?} of {name} must be a plain guest path: no . or .. components, ',' or control characters"
                ),
            })
        }
        Some(s) => Some(s.to_string()),
    };
    Ok(Grant { capability, scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_agrees_with_the_grants() {
        let sets = [
            CapSet::none(),
            CapSet::all(),
            CapSet::wasi_default(),
            CapSet::all().without(Capability::Env),
            CapSet::parse("file:read=/data,clock,agent:send").unwrap(),
            CapSet::parse("file:read=/data")
                .unwrap()
                .intersect(&CapSet::wasi_default()),
        ];
        for set in &sets {
            for cap in Capability::ALL {
                assert_eq!(
                    set.has(cap),
                    set.grants().iter().any(|g| g.capability == cap),
                    "{set} / {cap:?}"
                );
            }
        }
    }

    #[test]
    fn parse_lists_and_scopes() {
        let set = CapSet::parse("file:read=/data, clock,random").unwrap();
        assert!(set.has(Capability::Clock));
        assert!(set.allows_path(Capability::FileRead, "/data"));
        assert!(set.allows_path(Capability::FileRead, "/data/sub"));
        assert!(!set.allows_path(Capability::FileRead, "/data2"));
        assert!(!set.has(Capability::FileWrite));
        assert_eq!(set.to_string(), "file:read=/data,clock,random");
        assert_eq!(CapSet::parse("").unwrap(), CapSet::none());
    }

    #[test]
    fn unknown_capability_lists_valid_ones() {
        let err = CapSet::parse("clock,teleport").unwrap_err().to_string();
        assert!(err.contains("\"teleport\""), "{err}");
        assert!(
            err.contains("agent:spawn") && err.contains("llm:adapter"),
            "{err}"
        );
        assert!(CapSet::parse("clock=/x").is_err());
        assert!(CapSet::parse("file:read=data").is_err());
    }

    #[test]
    fn file_capabilities_are_scoped_per_preopen() {
        let set = CapSet::parse("file:read,file:write=/out,file:create=/out/new/").unwrap();
        // Unscoped: every preopen.
        for mount in ["/", "/data", "/out", "/anything/deep"] {
            assert!(set.allows_path(Capability::FileRead, mount), "{mount}");
        }
        // Scoped: the scope and below, component-wise, trailing slashes ignored.
        assert!(set.allows_path(Capability::FileWrite, "/out"));
        assert!(set.allows_path(Capability::FileWrite, "/out/"));
        assert!(set.allows_path(Capability::FileWrite, "/out/sub"));
        assert!(!set.allows_path(Capability::FileWrite, "/output"));
        assert!(!set.allows_path(Capability::FileWrite, "/"));
        assert!(!set.allows_path(Capability::FileWrite, "/data"));
        assert!(set.allows_path(Capability::FileCreate, "/out/new"));
        assert!(!set.allows_path(Capability::FileCreate, "/out"));
        // Not granted at all: no preopen.
        let none = CapSet::parse("clock").unwrap();
        for cap in [
            Capability::FileRead,
            Capability::FileWrite,
            Capability::FileCreate,
        ] {
            assert!(!none.has(cap));
            assert!(!none.allows_path(cap, "/data"), "{cap}");
        }
        // A scope on the root covers everything.
        let root = CapSet::parse("file:read=/").unwrap();
        assert!(root.allows_path(Capability::FileRead, "/data"));
    }

    #[test]
    fn malformed_scopes_are_refused() {
        let message = |item: &str| match parse_grant(item) {
            Err(Error::Config { message, .. }) => message,
            other => panic!("{item}: {other:?}"),
        };
        for scope in [
            "/data/../etc",
            "/..",
            "/a/./b",
            "/.",
            "/a/..",
            "/a,b",
            "/a\u{1b}b",
            "/a\0",
        ] {
            assert_eq!(
                message(&alloc::format!("file:read={scope}")),
                alloc::format!(
                    "scope {scope:?} of file:read must be a plain guest path: no . or .. components, ',' or control characters"
                ),
                "{scope:?}"
            );
        }
        assert_eq!(
            message("file:write="),
            "scope \"\" of file:write must be an absolute guest path like /data"
        );
        assert_eq!(
            message("file:create=../x"),
            "scope \"../x\" of file:create must be an absolute guest path like /data"
        );
        assert_eq!(
            message("random=/x"),
            "random cannot be scoped; only file:read, file:write, file:create (to a path) and net:connect (to an address) can"
        );
        assert!(message("File:Read").starts_with("unknown capability \"File:Read\"; valid: "));
        assert!(message("").starts_with("unknown capability \"\"; valid: "));
        assert!(message("=/x").starts_with("unknown capability \"\"; valid: "));
        // Names that only contain a dot are fine; trailing slashes too.
        assert!(parse_grant("file:read=/data/.hidden/").is_ok());
        assert!(parse_grant("file:read=/a..b").is_ok());
    }

    #[test]
    fn a_mount_with_dotdot_is_below_no_scope_but_the_root() {
        let set = CapSet::parse("file:read=/data").unwrap();
        assert!(set.allows_path(Capability::FileRead, "/data/x"));
        assert!(!set.allows_path(Capability::FileRead, "/data/../etc"));
        assert!(!set.allows_path(Capability::FileRead, "/data/.."));
        let root = CapSet::parse("file:read=/").unwrap();
        assert!(root.allows_path(Capability::FileRead, "/data/../etc"));
        let unscoped = CapSet::parse("file:read").unwrap();
        assert!(unscoped.allows_path(Capability::FileRead, "/data/../etc"));
    }

    #[test]
    fn without_removes_every_scope_of_a_capability() {
        let set = CapSet::parse("file:read=/a,file:read=/b,clock").unwrap();
        let less = set.without(Capability::FileRead);
        assert_eq!(less.to_string(), "clock");
        assert_eq!(CapSet::all().without(Capability::Env).grants().len(), 13);
    }

    #[test]
    fn net_connect_scopes() {
        let set = CapSet::parse("net:connect=10.0.2.2:8080,net:connect=127.0.0.1:*").unwrap();
        assert_eq!(
            set.to_string(),
            "net:connect=10.0.2.2:8080,net:connect=127.0.0.1:*"
        );
        let sa = |t: &str| -> core::net::SocketAddr { t.parse().unwrap() };
        assert!(set.allows_connect(sa("10.0.2.2:8080")));
        assert!(!set.allows_connect(sa("10.0.2.2:8081")));
        assert!(set.allows_connect(sa("127.0.0.1:9")));
        assert!(!set.allows_connect(sa("127.0.0.2:9")));
        assert!(CapSet::parse("net:connect")
            .unwrap()
            .allows_connect(sa("[::1]:1")));
        assert!(!CapSet::parse("clock")
            .unwrap()
            .allows_connect(sa("[::1]:1")));
        // Intersection keeps the narrower scope and drops disjoint ones.
        let parent = CapSet::parse("net:connect=127.0.0.1:*").unwrap();
        let asked = CapSet::parse("net:connect=127.0.0.1:80,net:connect=10.0.2.2:80").unwrap();
        assert_eq!(
            parent.intersect(&asked).to_string(),
            "net:connect=127.0.0.1:80"
        );
        let err = CapSet::parse("net:connect=localhost:80")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be HOST:PORT"), "{err}");
        assert!(CapSet::parse("net:send=1.2.3.4:5").is_err());
    }

    #[test]
    fn disjoint_scopes_intersect_to_nothing() {
        let a = CapSet::parse("file:read=/data").unwrap();
        let b = CapSet::parse("file:read=/etc").unwrap();
        assert_eq!(a.intersect(&b), CapSet::none());
        assert_eq!(CapSet::all().intersect(&CapSet::none()), CapSet::none());
        assert_eq!(CapSet::none().intersect(&CapSet::all()), CapSet::none());
    }

    #[test]
    fn intersection_never_grows() {
        let parent = CapSet::parse("file:read=/data,agent:send").unwrap();
        let asked = CapSet::parse("file:read,file:write,agent:send,agent:spawn").unwrap();
        let child = parent.intersect(&asked);
        assert_eq!(child.to_string(), "file:read=/data,agent:send");
        let narrower = CapSet::parse("file:read=/data/sub").unwrap();
        assert_eq!(
            parent.intersect(&narrower).to_string(),
            "file:read=/data/sub"
        );
    }
}
