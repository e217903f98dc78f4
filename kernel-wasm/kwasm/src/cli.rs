//! The command line, modelled on `wasmtime run` so scripts can switch between the two.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kwasm",
    version,
    about = "Run WebAssembly modules on the kernel-wasm runtime"
)]
#[command(
    after_help = "Exit status: the guest's exit code; 1 load/call error; 134 trap or limit; 2 usage."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a module's `_start`, or one export with --invoke.
    Run(RunArgs),
    /// Print a module's hash, imports, exports and what it needs to run.
    Inspect(InspectArgs),
    /// Run the kernel-wasm shell on stdin/stdout (the same shell as the kernel's UART).
    Shell(ShellArgs),
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Copy a host directory into the shell's in-memory file system: HOST_DIR[::GUEST_DIR]
    /// (repeatable; the kernel gets the same files through its initrd).
    #[arg(long = "dir", value_name = "HOST_DIR[::GUEST_DIR]")]
    pub dirs: Vec<String>,
    #[command(flatten)]
    pub llm: LlmArgs,
}

/// The model the `llm` host module and the shell's `llm-*` commands use.
#[derive(Debug, Args, Clone, Default)]
pub struct LlmArgs {
    /// Serve `llm` with this llama2.c checkpoint instead of the built-in model (with
    /// --llm-tokenizer).
    #[arg(long = "llm-model", value_name = "PATH", requires = "llm_tokenizer")]
    pub llm_model: Option<PathBuf>,
    /// The checkpoint's tokenizer, in llama2.c's tokenizer.bin format (with --llm-model).
    #[arg(long = "llm-tokenizer", value_name = "PATH", requires = "llm_model")]
    pub llm_tokenizer: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Grant access to a host directory: HOST_DIR[::GUEST_DIR] (repeatable).
    #[arg(long = "dir", value_name = "HOST_DIR[::GUEST_DIR]")]
    pub dirs: Vec<String>,
    /// Set an environment variable for the guest: KEY=VALUE, or KEY to pass the host's value
    /// (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub envs: Vec<String>,
    /// Stop the guest after it has used this much fuel.
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,
    /// Largest linear memory the guest may grow to, in bytes.
    #[arg(long = "max-memory", value_name = "BYTES")]
    pub max_memory: Option<u64>,
    /// Stop the guest after this much wall-clock time, in milliseconds.
    #[arg(long = "time-limit-ms", value_name = "MS")]
    pub time_limit_ms: Option<u64>,
    /// Read the module's manifest (name, capabilities, limits, env, args, preopens) from PATH.
    /// Flags given as well override its limits; --caps narrows its capabilities.
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// Grant exactly these capabilities, comma separated (e.g. `file:read=/data,clock`); an
    /// empty list grants nothing. Default: file:read, file:write, file:create, env, clock, random.
    #[arg(long, value_name = "LIST")]
    pub caps: Option<String>,
    /// Call this export instead of `_start`; the arguments after the module are its parameters.
    #[arg(long, value_name = "FUNC")]
    pub invoke: Option<String>,
    /// Print fuel used, host calls and wall time to stderr when the guest ends.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
    /// The module: a .wasm binary or a .wat text file.
    pub module: PathBuf,
    /// Arguments passed to the guest (or to the --invoke function).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The module: a .wasm binary or a .wat text file.
    pub module: PathBuf,
}
