//! The shell's agent commands: `agent-spawn`, `agent-send`, `agent-list`, `agent-kill`,
//! `agent-run`. The shell is agent 0: messages agents send to it are printed as
//! `[agent N] text` while `agent-run` runs.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::commands::usage;
use super::{Shell, ShellStatus, DEFAULT_RUN_TIME_LIMIT_MS};
use crate::agents::{AgentState, Event, RunLimits, SpawnOptions};
use crate::caps::CapSet;
use crate::error::{Error, Result};
use crate::platform::Stream;
use crate::text::Escaped;

/// What `agent-spawn` grants when no CAPS are given.
pub const DEFAULT_AGENT_CAPS: &str = "agent:spawn,agent:send,agent:receive";
/// The bound of `agent-run` without MAX_SLICES.
pub const DEFAULT_RUN_SLICES: u64 = 100_000;

fn number<T: core::str::FromStr>(what: &str, text: &str) -> Result<T> {
    text.parse().map_err(|_| Error::Config {
        what: String::from(what),
        message: format!("{text:?} is not a number"),
    })
}

pub(super) fn spawn(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let mut fuel = None;
    let mut max_memory = None;
    let mut rest = args;
    loop {
        match rest {
            ["--fuel", value, tail @ ..] => {
                fuel = Some(number::<u64>("--fuel", value)?);
                rest = tail;
            }
            ["--max-memory", value, tail @ ..] => {
                max_memory = Some(number::<usize>("--max-memory", value)?);
                rest = tail;
            }
            // An option without its value, or one this command does not know.
            [option, ..] if option.starts_with("--") => return Err(usage("agent-spawn")),
            _ => break,
        }
    }
    let (path, caps) = match rest {
        [path] => (*path, DEFAULT_AGENT_CAPS),
        [path, caps] => (*path, *caps),
        _ => return Err(usage("agent-spawn")),
    };
    let id = match shell.installed_package(path)? {
        // A package: its manifest's capabilities (narrowed by CAPS when given) and limits.
        Some(loaded) => {
            let manifest = &loaded.info.manifest;
            let caps = match rest {
                [_, caps] => manifest.capabilities.intersect(&CapSet::parse(caps)?),
                _ => manifest.capabilities.clone(),
            };
            let module = shell
                .runtime
                .load(&loaded.module, Some(&loaded.info.name))?;
            let mut options = SpawnOptions::new(caps);
            options.fuel = fuel.or(manifest.fuel_limit);
            options.spawn_limit = manifest.spawn_limit;
            options.mailbox_depth = manifest.mailbox_depth;
            options.max_memory = max_memory.or(manifest.memory_limit);
            shell.agents.spawn_module(&shell.runtime, module, options)?
        }
        None => {
            let caps = CapSet::parse(caps)?;
            let abs = shell.absolute(path);
            let mut options = SpawnOptions::new(caps);
            options.fuel = fuel;
            options.max_memory = max_memory;
            shell.agents.spawn(&shell.runtime, &abs, options)?
        }
    };
    let name = shell.agents.info(id).map(|i| i.name).unwrap_or_default();
    shell.print(&format!("spawned agent {id} ({})\n", Escaped::str(&name)));
    Ok(ShellStatus::Continue)
}

pub(super) fn send(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let [id, text @ ..] = args else {
        return Err(usage("agent-send"));
    };
    if text.is_empty() {
        return Err(usage("agent-send"));
    }
    let id = number::<u32>("agent id", id)?;
    shell.agents.send(id, text.join(" ").as_bytes())?;
    Ok(ShellStatus::Continue)
}

/// The result column of `agent-list`.
fn result(state: &AgentState) -> String {
    match state {
        AgentState::Exited(code) => format!("status {code}"),
        AgentState::Trapped(reason) => String::from(reason.as_str()),
        _ => String::from("-"),
    }
}

pub(super) fn list(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    if !args.is_empty() {
        return Err(usage("agent-list"));
    }
    let agents = shell.agents.list();
    if agents.is_empty() {
        shell.print("no agents\n");
        return Ok(ShellStatus::Continue);
    }
    // The name column fits the longest (escaped) name, at least 16 wide, so rows stay aligned.
    let names: Vec<String> = agents
        .iter()
        .map(|a| format!("{}", Escaped::str(&a.name)))
        .collect();
    let width = names.iter().map(|n| n.chars().count()).fold(16, usize::max);
    let mut out = format!(
        "{:>4} {:<width$} {:<8} {:>12} {:>5}  {}\n",
        "ID", "NAME", "STATE", "FUEL", "QUEUE", "RESULT"
    );
    for (a, name) in agents.iter().zip(&names) {
        out.push_str(&format!(
            "{:>4} {:<width$} {:<8} {:>12} {:>5}  {}\n",
            a.id,
            name,
            a.state.name(),
            a.fuel_used,
            a.queue_len,
            Escaped::str(&result(&a.state))
        ));
    }
    shell.print(&out);
    Ok(ShellStatus::Continue)
}

pub(super) fn kill(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let [id] = args else {
        return Err(usage("agent-kill"));
    };
    let id = number::<u32>("agent id", id)?;
    shell.agents.kill(id)?;
    shell.print(&format!("agent {id} killed\n"));
    Ok(ShellStatus::Continue)
}

/// The line printed for a message to the shell: its text (one trailing newline dropped)
/// [`Escaped`], so a message is one line whatever an agent sends: it cannot forge the shell's
/// own lines or drive the terminal.
pub fn message_line(from: u32, body: &[u8]) -> String {
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    format!("[agent {from}] {}\n", Escaped(body))
}

pub(super) fn run(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let mut time_limit_ms = DEFAULT_RUN_TIME_LIMIT_MS;
    let mut rest = args;
    match rest {
        ["--time-limit-ms", value, tail @ ..] => {
            time_limit_ms = number::<u64>("--time-limit-ms", value)?;
            rest = tail;
        }
        [option, ..] if option.starts_with("--") => return Err(usage("agent-run")),
        _ => {}
    }
    let max_slices = match rest {
        [] => DEFAULT_RUN_SLICES,
        [n] => number::<u64>("MAX_SLICES", n)?,
        _ => return Err(usage("agent-run")),
    };
    // Fuel bounds what agents compute, not how long they wait (a receive with a timeout of
    // years): the time limit does, so the shell always comes back.
    let now = shell.platform.clock.monotonic_ns();
    let limits = RunLimits {
        max_slices,
        deadline_ns: Some(now.saturating_add(time_limit_ms.saturating_mul(1_000_000))),
    };
    let console = shell.platform.console.clone();
    let print = |line: String| console.write(Stream::Stdout, line.as_bytes());
    let report = shell
        .agents
        .run_with(&shell.runtime, limits, &mut |event| match event {
            Event::Message(m) => print(message_line(m.from, &m.body)),
            Event::Ended { id, name, state } => print(format!(
                "agent {id} ({}) {}\n",
                Escaped::str(&name),
                Escaped::str(&format!("{state}"))
            )),
            Event::SpawnFailed {
                parent,
                path,
                reason,
            } => print(format!(
                "agent {parent}: spawn {} failed: {}\n",
                Escaped::str(&path),
                Escaped::str(&reason)
            )),
        });
    shell.print(&format!("agent-run: {report}\n"));
    Ok(ShellStatus::Continue)
}
