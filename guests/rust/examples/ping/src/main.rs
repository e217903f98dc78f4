//! `ping`: an agent that pings echo agents and prints their replies.
//!
//! Its first message (from anyone, usually the shell) names the echo agents, separated by
//! spaces: an agent id (`3`) uses a running echo, a module path (`/agents/c/echo.wasm`) spawns a
//! new one with ping's own capabilities. For each, in order, ping sends `ping from rust`, waits
//! for that agent's reply and prints `rust ping: agent N replied "REPLY"`. Then it exits: 0 when
//! every echo answered, 1 otherwise.
//!
//! Build: `cargo build --release` (→ target/wasm32-wasip1/release/ping.wasm)
//! Run:   `agent-spawn /agents/rust/ping.wasm` then `agent-send ID 1 /agents/go/echo.wasm`

use std::process::ExitCode;

use kernel_wasm_sdk::{receive, send, spawn, AgentId, Result};

const GREETING: &[u8] = b"ping from rust";

/// The echo named by `target`: a running agent's id, or a module to spawn.
fn echo_agent(target: &str) -> Result<AgentId> {
    match target.parse::<u32>() {
        Ok(id) => Ok(AgentId(id)),
        Err(_) => spawn(target, ""),
    }
}

/// Sends the greeting to `echo` and waits for its reply (messages from others are skipped).
fn ping(echo: AgentId, buf: &mut [u8]) -> Result<String> {
    send(echo, GREETING)?;
    loop {
        let msg = receive(buf)?;
        if msg.sender() == echo {
            return Ok(String::from_utf8_lossy(msg.body()).into_owned());
        }
        eprintln!("rust ping: skipped a message from agent {}", msg.sender());
    }
}

fn main() -> ExitCode {
    let mut buf = [0u8; 512];
    let targets = match receive(&mut buf) {
        Ok(msg) => String::from_utf8_lossy(msg.body()).into_owned(),
        Err(e) => {
            eprintln!("rust ping: no list of echo agents: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut status = ExitCode::SUCCESS;
    for target in targets.split_whitespace() {
        match echo_agent(target).and_then(|echo| Ok((echo, ping(echo, &mut buf)?))) {
            Ok((echo, reply)) => println!("rust ping: agent {echo} replied \"{reply}\""),
            Err(e) => {
                println!("rust ping: {target}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
