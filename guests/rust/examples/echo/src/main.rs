//! `echo`: an agent that replies to every message with the same bytes prefixed by `rust: `.
//!
//! Build: `cargo build --release` (→ target/wasm32-wasip1/release/echo.wasm)
//! Run:   `agent-spawn /agents/rust/echo.wasm agent:send,agent:receive` in `kwasm shell`
//!        or the kernel's shell, then send it messages (`agent-send ID text`).

use kernel_wasm_sdk::{receive, send, AgentError, MAX_MESSAGE_BYTES};

const PREFIX: &[u8] = b"rust: ";

fn main() {
    let mut buf = [0u8; 512];
    let mut reply = Vec::with_capacity(PREFIX.len() + buf.len());
    loop {
        // A message longer than `buf` comes back in a Vec of its own: nothing is cut.
        let msg = match receive(&mut buf) {
            Ok(msg) => msg,
            Err(e) => {
                eprintln!("rust echo: receive failed: {e}");
                std::process::exit(1);
            }
        };
        reply.clear();
        reply.extend_from_slice(PREFIX);
        reply.extend_from_slice(msg.body());
        reply.truncate(MAX_MESSAGE_BYTES);
        match send(msg.sender(), &reply) {
            Ok(()) => {}
            // The sender ended or is flooded: its problem, not ours; keep serving the others.
            Err(e @ (AgentError::NoSuchAgent | AgentError::MailboxFull)) => {
                eprintln!("rust echo: reply to agent {} dropped: {e}", msg.sender());
            }
            Err(e) => {
                eprintln!("rust echo: send failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
