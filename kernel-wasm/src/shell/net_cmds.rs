//! The shell's networking: `net-info`, and the listening sockets `wasm-run --tcplisten` hands a
//! guest (`docs/net.md`).

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use super::commands::usage;
use super::{Shell, ShellStatus};
use crate::error::{Error, Result};
use crate::wasi::SocketPreopen;

/// `net-info`: the network's address, sockets and counters.
pub(super) fn info(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    if !args.is_empty() {
        return Err(usage("net-info"));
    }
    let Some(net) = shell.platform().net.clone() else {
        shell.print("network: none\n");
        return Ok(ShellStatus::Continue);
    };
    // What arrived meanwhile (a close finishing) counts.
    net.poll();
    let info = net.info();
    let mut out = format!("network: {}", info.kind);
    if let Some(address) = &info.address {
        out.push_str(&format!(", address {address}"));
    }
    if let Some(gateway) = &info.gateway {
        out.push_str(&format!(", gateway {gateway}"));
    }
    let c = info.counters;
    out.push_str(&format!(
        "\nsockets: {} open of {}\nconnections: {} accepted, {} made\nbytes: {} sent, {} received\n",
        info.sockets, info.max_sockets, c.accepted, c.connected, c.bytes_sent, c.bytes_received
    ));
    if c.frames_sent + c.frames_received + c.frames_dropped > 0 {
        out.push_str(&format!(
            "frames: {} sent, {} received, {} dropped\n",
            c.frames_sent, c.frames_received, c.frames_dropped
        ));
    }
    shell.print(&out);
    Ok(ShellStatus::Continue)
}

/// The listening socket of `wasm-run --tcplisten SPEC`: `PORT` (on the host's default address:
/// the kernel's interface, loopback under kwasm) or `IP:PORT`.
pub(super) fn listen(shell: &Shell, spec: &str) -> Result<SocketPreopen> {
    let config = |message: String| Error::Config {
        what: format!("--tcplisten {spec}"),
        message,
    };
    let net = shell
        .platform()
        .net
        .clone()
        .ok_or_else(|| config(String::from("there is no network")))?;
    let addr = match crate::net::addr::parse_port(spec) {
        Some(port) => net.default_listen_addr(port),
        None => spec
            .parse()
            .map_err(|_| config(String::from("expected PORT or IP:PORT")))?,
    };
    let listener = net
        .listen(addr, crate::net::DEFAULT_BACKLOG)
        .map_err(|e| config(format!("cannot listen on {addr}: {e}")))?;
    Ok(SocketPreopen::new(Arc::from(listener)))
}
