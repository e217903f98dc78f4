//! `kwasm`: run WebAssembly modules (flags compatible with `wasmtime run`), inspect them, and drive
//! the kernel-wasm shell on stdin/stdout. A thin binary: all runtime logic is in `kernel-wasm`.
//!
//! Exit status (documented in README and `kwasm --help`):
//! - the guest's `proc_exit` code, or 0 when `_start`/`--invoke` returns;
//! - 1 when the module cannot be loaded or called (bad file, invalid module, unknown import,
//!   bad arguments, a declared memory over `--max-memory`), or a host call was invalid (bad
//!   guest pointer, `proc_exit` >= 126);
//! - 134 when the guest traps or hits a limit while running (fuel, memory, time), as wasmtime
//!   does on Unix;
//! - 2 for command-line usage errors, one line each (clap's own included);
//! - 141 (as a shell reports SIGPIPE), quietly, when kwasm's own stdout is a closed pipe;
//! - 70 if kwasm itself fails internally (a bug; reported on stderr).

mod cli;
mod llm;
mod pkg;
mod run;
mod shell;

use std::process::ExitCode;

use clap::Parser;

/// A status for an error raised before or around running the guest.
pub const EXIT_ERROR: u8 = 1;
/// The status for a guest trap or exhausted limit.
pub const EXIT_TRAP: u8 = 134;
/// The status for a malformed command line.
pub const EXIT_USAGE: u8 = 2;
/// The status for an internal failure of kwasm.
pub const EXIT_INTERNAL: u8 = 70;
/// The status when kwasm's stdout is a closed pipe (128 + SIGPIPE, as a shell reports it).
pub const EXIT_BROKEN_PIPE: i32 = 141;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    // Last line of defence: no input may produce Rust's panic exit status 101.
    std::panic::set_hook(Box::new(|info| {
        // `println!` panics when stdout is a closed pipe (Rust ignores SIGPIPE): end quietly, as
        // a Unix tool killed by SIGPIPE would.
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        eprintln!("kwasm: internal error: {info}");
    }));
    match std::panic::catch_unwind(move || run::dispatch(cli)) {
        Ok(code) => code,
        Err(_) => ExitCode::from(EXIT_INTERNAL),
    }
}

/// A command line clap refused: `--help` and `--version` print as clap prints them; every other
/// error is one line on stderr (clap's first line and where to look), status 2.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(if error.use_stderr() { EXIT_USAGE } else { 0 });
    }
    // clap's first paragraph ("error: ..." and, for missing arguments, the names below it).
    let text = error.render().to_string();
    let first: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty())
        .collect();
    let first = first.join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    run::usage(&format!("{first} (see kwasm --help)"))
}
