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

// Parsed once per process: the size of the `run` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a module's `_start`, or one export with --invoke.
    Run(RunArgs),
    /// Print a module's hash, imports, exports and what it needs to run.
    Inspect(InspectArgs),
    /// Run the kernel-wasm shell on stdin/stdout (the same shell as the kernel's UART).
    Shell(ShellArgs),
    /// Make, sign, verify, install and run signed packages (.wap).
    #[command(subcommand)]
    Pkg(PkgCommand),
}

/// Where packages are trusted from, for the verbs that verify.
#[derive(Debug, Args, Clone, Default)]
pub struct TrustArgs {
    /// A trusted public key file, or a directory whose `*.pub` files are trusted keys and whose
    /// `revoked` file (if any) is a revocation list (repeatable).
    #[arg(long = "trust", value_name = "PUB|DIR")]
    pub trust: Vec<PathBuf>,
    /// A revocation list: key ids, one per line, refused even when trusted (repeatable).
    #[arg(long = "revoked", value_name = "FILE")]
    pub revoked: Vec<PathBuf>,
    /// Development switch: accept an unsigned package, or one signed by a key that is not
    /// trusted, printing a warning each time.
    #[arg(long = "allow-unsigned")]
    pub allow_unsigned: bool,
}

#[derive(Debug, Subcommand)]
pub enum PkgCommand {
    /// Make a key pair: DIR/NAME.key (secret) and DIR/NAME.pub (public).
    Keygen {
        /// The directory to write the key files to (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The key's name, recorded in both files and shown by verify and info.
        #[arg(long, value_name = "NAME", default_value = "kwasm")]
        name: String,
    },
    /// Pack DIR (manifest.toml, module.wasm, optional assets/) into an unsigned package.
    Build {
        /// The package directory.
        dir: PathBuf,
        /// The package file to write.
        #[arg(short = 'o', long = "output", value_name = "X.wap")]
        output: PathBuf,
    },
    /// Sign a package in place with a secret key (replacing any signature it has).
    Sign {
        package: PathBuf,
        /// The secret key file (from `kwasm pkg keygen`).
        #[arg(long, value_name = "SECRET")]
        key: PathBuf,
    },
    /// Verify a package against trusted keys; prints its name, version and signer.
    Verify {
        package: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Verify and install a package under DIR (an upgrade when it is newer).
    Install {
        package: PathBuf,
        /// The install root (created if missing).
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
        /// Reinstall the same version, or install an older one.
        #[arg(long)]
        force: bool,
    },
    /// List the packages installed under DIR: name, version, key id, size.
    List {
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
    },
    /// Show an installed package: manifest, key, capabilities, limits, files.
    Info {
        name: String,
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
    },
    /// Uninstall a package.
    Uninstall {
        name: String,
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
    },
    /// Run an installed package with its manifest's capabilities and limits; ARGS go to the
    /// guest (or, when the manifest's entry is not `_start`, to that function).
    Run {
        name: String,
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
        /// Check the signature against these keys (default: the key recorded at install).
        #[arg(long = "trust", value_name = "PUB|DIR")]
        trust: Vec<PathBuf>,
        /// A revocation list (repeatable).
        #[arg(long = "revoked", value_name = "FILE")]
        revoked: Vec<PathBuf>,
        /// Grant access to a host directory: HOST_DIR[::GUEST_DIR] (repeatable; a package
        /// cannot map host directories itself).
        #[arg(long = "dir", value_name = "HOST_DIR[::GUEST_DIR]")]
        dirs: Vec<String>,
        /// Stop the guest after it has used this much fuel (default: the manifest's limit).
        #[arg(long, value_name = "N")]
        fuel: Option<u64>,
        /// Print fuel used, host calls and wall time to stderr when the guest ends.
        #[arg(long)]
        stats: bool,
        /// Arguments passed to the guest.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Copy a host directory into the shell's in-memory file system: HOST_DIR[::GUEST_DIR]
    /// (repeatable; the kernel gets the same files through its initrd).
    #[arg(long = "dir", value_name = "HOST_DIR[::GUEST_DIR]")]
    pub dirs: Vec<String>,
    /// Copy the `*.wap` files of DIR to /boot/packages and install them before the first prompt,
    /// as the kernel installs the packages of its initrd at boot.
    #[arg(long = "packages", value_name = "DIR")]
    pub packages: Option<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
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
    /// Listen on a TCP address and hand the socket to the guest as a preopened descriptor (the
    /// descriptors after the --dir preopens: 3 without any), as wasmtime's `-S tcplisten=ADDR`
    /// (repeatable).
    #[arg(long = "tcplisten", value_name = "ADDR:PORT")]
    pub tcplisten: Vec<String>,
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
    /// Most table elements the guest's tables may hold together (default 10000000).
    #[arg(long = "max-table-elements", value_name = "N")]
    pub max_table_elements: Option<u64>,
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
