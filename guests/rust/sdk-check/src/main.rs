//! `sdk-check`: the SDK's error paths, run as an agent by `kernel-wasm/kwasm/tests/guests.rs`.
//! Prints one line per case; the other languages' sdk-check print the same lines.
//!
//! Build: `cargo build --release`
//!
//! Its first message names a module whose agent needs `agent:send` (an echo): spawning it with
//! only `agent:receive` must fail as a value (the child is refused for the missing capability).

use kernel_wasm_sdk::{
    log, receive, receive_into, receive_timeout, self_id, send, spawn, try_receive, AgentError,
    AgentId, Level,
};

const LANG: &str = "rust";

fn show<T>(what: &str, result: Result<T, AgentError>) {
    match result {
        Ok(_) => println!("{what}: ok"),
        Err(e) => println!("{what}: {} ({})", e.name(), e.code()),
    }
}

fn main() {
    let mut buf = [0u8; 256];
    let echo = match receive(&mut buf) {
        Ok(msg) => String::from_utf8_lossy(msg.body()).into_owned(),
        Err(e) => return println!("no module to spawn: {e}"),
    };
    let me = self_id();
    println!("{LANG} sdk-check: agent {me}");

    // A message longer than the buffer: kept, its length reported, then received whole.
    let long: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    show("send to self", send(me, &long));
    let mut small = [0u8; 16];
    match receive_into(&mut small) {
        Err(AgentError::BufferTooSmall { needed }) => {
            println!("too small: ERR_BUFFER_TOO_SMALL (-5), needs {needed}")
        }
        other => println!("too small: unexpected {other:?}"),
    }
    match receive(&mut small) {
        Ok(msg) => println!(
            "retry: {} bytes from agent {}, intact: {}",
            msg.body().len(),
            msg.sender(),
            msg.body() == long.as_slice()
        ),
        Err(e) => println!("retry: {e}"),
    }

    show("empty mailbox", try_receive(&mut buf));
    show("timeout", receive_timeout(&mut buf, 0));
    show("no such agent", send(AgentId(999_999), b"hello?"));
    show("too large", send(me, &vec![0u8; 70_000]));
    show("bad config", spawn(&echo, "bogus"));
    show("missing capability", spawn(&echo, "agent:receive"));
    show("log", log(Level::Info, "sdk-check logs through the host"));
}
