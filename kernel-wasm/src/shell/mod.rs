//! The shell's command language: one implementation shared by the kernel (on the UART) and
//! `kwasm shell` (on stdin/stdout), so the same script prints the same transcript on both.
//!
//! The host feeds complete lines to [`Shell::execute`]; all output goes to the platform console.
//! Every failure prints one line, `error: <text>`, where the text is the [`Error`] Display that
//! `kwasm` prints too, and the shell goes on.

mod agent_cmds;
pub mod bench_cmd;
pub mod bench_llm;
pub mod bench_pkg;
mod commands;
mod llm_cmds;
mod net_cmds;
mod pkg_cmds;
mod words;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use crate::agents::{System, SystemConfig};
use crate::error::Error;
use crate::instance::Stats;
use crate::llm::LlmService;
use crate::platform::{Platform, Stream};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::text::Escaped;

pub use commands::{Command, COMMANDS};
pub use pkg_cmds::PackageSettings;
pub use words::split_words;

/// Fuel a `wasm-run` gets unless `--fuel` says otherwise: enough for real programs, small enough
/// that a runaway guest ends in about a second on a host CPU (about a minute under QEMU TCG).
pub const DEFAULT_RUN_FUEL: u64 = 1_000_000_000;

/// Wall-clock limit of a `wasm-run` or an `agent-run` unless `--time-limit-ms` says otherwise.
/// Fuel does not stop a guest that waits (a `poll_oneoff` sleep or a receive timeout of years):
/// this does, so the shell always comes back (and Ctrl-C, on the kernel's console, sooner).
/// Ten minutes: well past what the default fuel takes under QEMU TCG, so it never decides how a
/// computing guest ends.
pub const DEFAULT_RUN_TIME_LIMIT_MS: u64 = 600_000;

/// The prompt printed before each line.
pub const PROMPT: &str = "sis> ";

/// What the host should do after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellStatus {
    Continue,
    /// `exit CODE`: end the session with this status.
    Exit(i32),
}

/// A shell session.
pub struct Shell {
    platform: Platform,
    runtime: Runtime,
    cwd: String,
    last_stats: Option<Stats>,
    /// The agents started from this shell (the shell is agent 0).
    agents: System,
    /// What `pkg-install` trusts ([`Shell::set_packages`]).
    packages: PackageSettings,
}

impl Shell {
    pub fn new(platform: Platform) -> Self {
        Self::with_runtime(platform, RuntimeConfig::default())
    }

    /// A shell whose modules and agents run on a runtime configured so (the kernel bounds all
    /// guest memory together by its heap: [`RuntimeConfig::guest_memory`]).
    pub fn with_runtime(platform: Platform, config: RuntimeConfig) -> Self {
        Shell {
            agents: System::new(platform.clone(), SystemConfig::default()),
            platform,
            runtime: Runtime::new(config),
            cwd: String::from("/"),
            last_stats: None,
            packages: PackageSettings::default(),
        }
    }

    pub fn prompt(&self) -> &str {
        PROMPT
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The shell's agent system.
    pub fn agents(&self) -> &System {
        &self.agents
    }

    /// Loads (`Some`) or unloads (`None`) the model the `llm-*` commands use and the `llm` host
    /// module serves to modules and agents started from now on.
    pub fn set_llm(&mut self, service: Option<Arc<LlmService>>) {
        self.runtime.set_llm(service);
    }

    /// The loaded model, if any.
    pub fn llm(&self) -> Option<&Arc<LlmService>> {
        self.runtime.llm()
    }

    /// Runs one line. Empty lines and `#` comments do nothing.
    pub fn execute(&mut self, line: &str) -> ShellStatus {
        let words = match split_words(line) {
            Ok(words) => words,
            Err(message) => {
                self.print_error(&Error::Config {
                    what: String::from("syntax"),
                    message,
                });
                return ShellStatus::Continue;
            }
        };
        // Blank lines and `#` comments have no words.
        let Some((name, args)) = words.split_first() else {
            return ShellStatus::Continue;
        };
        let args: alloc::vec::Vec<&str> = args.iter().map(String::as_str).collect();
        let result = match COMMANDS.iter().find(|c| c.name == name.as_str()) {
            Some(command) => (command.run)(self, &args),
            None => Err(Error::Config {
                what: format!("unknown command {name:?}"),
                message: String::from("type `help` for the list of commands"),
            }),
        };
        match result {
            Ok(status) => status,
            Err(error) => {
                self.print_error(&error);
                ShellStatus::Continue
            }
        }
    }

    /// Prints text on the console's stdout.
    pub fn print(&self, text: &str) {
        self.platform.console.write(Stream::Stdout, text.as_bytes());
    }

    /// Prints `error: <text>`; the text is escaped ([`Escaped`]): it may carry names and
    /// details a guest chose.
    pub fn print_error(&self, error: &Error) {
        let text = format!("{error}");
        self.print(&format!("error: {}\n", Escaped::str(&text)));
    }

    /// Makes `path` absolute against the current directory.
    pub fn absolute(&self, path: &str) -> String {
        if path.starts_with('/') {
            String::from(path)
        } else if self.cwd.ends_with('/') {
            format!("{}{path}", self.cwd)
        } else {
            format!("{}/{path}", self.cwd)
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests;
