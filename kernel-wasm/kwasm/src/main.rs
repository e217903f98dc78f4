//! `kwasm`: run WebAssembly modules (flags compatible with `wasmtime run`), inspect them, and drive
//! the kernel-wasm shell on stdin/stdout. A thin binary: all runtime logic is in `kernel-wasm`.
//!
//! Exit status (documented in README and `kwasm --help`):
//! - the guest's `proc_exit` code, or 0 when `_start`/`--invoke` returns;
//! - 1 when the module cannot be loaded or called (bad file, invalid module, unknown import,
//!   bad arguments), or a host call was invalid (bad guest pointer, `proc_exit` >= 126);
//! - 134 when the guest traps or hits a limit (fuel, memory, time), as wasmtime does on Unix;
//! - 2 for command-line usage errors;
//! - 70 if kwasm itself fails internally (a bug; reported on stderr).

mod cli;
mod run;
mod shell;

use std::process::ExitCode;

use clap::Parser;

/// A status for an error raised before or around running the guest.
pub const EXIT_ERROR: u8 = 1;
/// The status for a guest trap or exhausted limit.
pub const EXIT_TRAP: u8 = 134;
/// The status for an internal failure of kwasm.
pub const EXIT_INTERNAL: u8 = 70;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Last line of defence: no input may produce Rust's panic exit status 101.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("kwasm: internal error: {info}");
    }));
    match std::panic::catch_unwind(move || run::dispatch(cli)) {
        Ok(code) => code,
        Err(_) => ExitCode::from(EXIT_INTERNAL),
    }
}
