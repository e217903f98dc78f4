//! The subcommands: wiring command-line arguments into kernel-wasm and its results into an exit
//! status.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kernel_wasm::vfs::hostdir::HostDir;
use kernel_wasm::wasi::{Preopen, SocketPreopen};
use std::process::ExitCode;

use kernel_wasm::host::CapCheck;
use kernel_wasm::module::{ExportKind, ImportKind};
use kernel_wasm::{CallOutcome, CapSet, Error, InstanceConfig, LimitKind, Manifest, Runtime};

use crate::cli::{Cli, Command, InspectArgs, RunArgs};
use crate::{EXIT_ERROR, EXIT_TRAP, EXIT_USAGE};

pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Inspect(args) => inspect(args),
        Command::Shell(args) => crate::shell::run(args),
        Command::Pkg(command) => crate::pkg::dispatch(command),
    }
}

/// Prints one line for a malformed command line and returns the usage status.
pub fn usage(message: &str) -> ExitCode {
    eprintln!("kwasm: {}", one_line(message));
    ExitCode::from(EXIT_USAGE)
}

/// `text` with control characters escaped: a failure is one line on stderr even when a file
/// name or flag value holds a newline or an escape sequence.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits `HOST_DIR[::GUEST_DIR]` (at the first `::`, as wasmtime); without `::GUEST_DIR` the
/// guest sees the directory under the host path exactly as given. Empty parts are usage errors.
pub fn dir_spec(spec: &str) -> Result<(&str, &str), String> {
    let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
    if host.is_empty() {
        return Err(format!(
            "--dir {spec:?}: the host directory is empty (HOST_DIR[::GUEST_DIR])"
        ));
    }
    if guest.is_empty() {
        return Err(format!(
            "--dir {spec:?}: the guest directory after :: is empty (HOST_DIR[::GUEST_DIR])"
        ));
    }
    Ok((host, guest))
}

/// `--env KEY=VALUE`, or `--env KEY` for the host's value of KEY if it has one (as wasmtime).
/// A missing name is a usage error.
fn env_var(pair: &str) -> Result<Option<(String, String)>, String> {
    let (key, value) = match pair.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (pair, None),
    };
    if key.is_empty() {
        return Err(format!(
            "--env {pair:?}: the variable name is empty (KEY=VALUE or KEY)"
        ));
    }
    Ok(match value {
        Some(value) => Some((key.to_string(), value.to_string())),
        None => std::env::var(key)
            .ok()
            .map(|value| (key.to_string(), value)),
    })
}

/// Prints one line for `error` and returns the matching status.
pub fn fail(error: &Error) -> ExitCode {
    eprintln!("kwasm: {}", one_line(&error.to_string()));
    ExitCode::from(match error {
        Error::Trap { .. } | Error::OutOfFuel { .. } | Error::LimitExceeded { .. } => EXIT_TRAP,
        _ => EXIT_ERROR,
    })
}

/// Reads a module file; `.wat` text (by extension or content) is compiled to binary first.
fn read_module(path: &Path) -> Result<Vec<u8>, Error> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::Config {
        what: name.clone(),
        message: e.to_string(),
    })?;
    let is_text =
        path.extension().is_some_and(|e| e == "wat") || bytes.first().is_some_and(|b| *b == b'(');
    if is_text {
        wat::parse_bytes(&bytes)
            .map(|b| b.into_owned())
            .map_err(|e| Error::InvalidModule {
                module: name,
                reason: e.to_string().replace('\n', " "),
            })
    } else {
        Ok(bytes)
    }
}

fn module_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The host directory `host` mounted at guest path `guest`; `what` names it in errors.
fn preopen(what: &str, host: &Path, guest: &str) -> Result<Preopen, Error> {
    let fs = HostDir::new(host).map_err(|error| Error::Fs {
        path: what.to_string(),
        error,
    })?;
    Ok(Preopen::root(guest, Arc::new(fs)))
}

/// `--tcplisten ADDR:PORT`: a listening socket for the guest.
fn tcplisten(platform: &kernel_wasm::Platform, spec: &str) -> Result<SocketPreopen, Error> {
    let what = || format!("--tcplisten {spec}");
    let addr: std::net::SocketAddr = spec.parse().map_err(|_| Error::Config {
        what: what(),
        message: "expected an IP address and port, like 127.0.0.1:8080 or [::1]:8080".into(),
    })?;
    let net = platform.net.as_ref().ok_or_else(|| Error::Config {
        what: what(),
        message: "this platform has no network".into(),
    })?;
    let listener = net
        .listen(addr, kernel_wasm::net::DEFAULT_BACKLOG)
        .map_err(|e| Error::Config {
            what: what(),
            message: e.to_string(),
        })?;
    Ok(SocketPreopen::new(Arc::from(listener)))
}

fn run(args: RunArgs) -> ExitCode {
    // The syntax of the flags first: a malformed one is a usage error, before anything is read.
    for spec in &args.dirs {
        if let Err(message) = dir_spec(spec) {
            return usage(&message);
        }
    }
    for pair in &args.envs {
        if let Err(message) = env_var(pair) {
            return usage(&message);
        }
    }
    if let Some(list) = &args.caps {
        if let Err(error) = CapSet::parse(list) {
            return usage(&format!("--caps: {error}"));
        }
    }
    match try_run(&args) {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

/// Reads and validates the manifest at `path`; its preopens come back as (host, guest) pairs,
/// with relative host paths resolved against the manifest's directory. (Not as `--dir` strings:
/// a host path may itself contain `::`.)
fn read_manifest(path: &Path) -> Result<(Manifest, Vec<(PathBuf, String)>), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Config {
        what: path.display().to_string(),
        message: e.to_string(),
    })?;
    let manifest = Manifest::from_bytes(&bytes).map_err(|e| Error::Config {
        what: path.display().to_string(),
        message: e.to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let dirs = manifest
        .preopens
        .iter()
        .map(|p| (base.join(&p.host), p.guest.clone()))
        .collect();
    Ok((manifest, dirs))
}

fn try_run(args: &RunArgs) -> Result<ExitCode, Error> {
    let manifest = args.manifest.as_deref().map(read_manifest).transpose()?;
    let mut preopens = Vec::new();
    for spec in &args.dirs {
        let (host, guest) = dir_spec(spec).map_err(|message| Error::Config {
            what: "--dir".into(),
            message,
        })?;
        preopens.push(preopen(&format!("--dir {host}"), Path::new(host), guest)?);
    }
    if let Some((_, manifest_dirs)) = &manifest {
        for (host, guest) in manifest_dirs {
            preopens.push(preopen(
                &format!("manifest preopen {}", host.display()),
                host,
                guest,
            )?);
        }
    }
    let platform = kernel_wasm::hosted::platform();
    let mut sockets = Vec::new();
    for spec in &args.tcplisten {
        sockets.push(tcplisten(&platform, spec)?);
    }
    let mut env = Vec::new();
    for pair in &args.envs {
        let var = env_var(pair).map_err(|message| Error::Config {
            what: "--env".into(),
            message,
        })?;
        env.extend(var);
    }
    let bytes = read_module(&args.module)?;
    let mut runtime = Runtime::default();
    let name = module_name(&args.module);
    let module = runtime.load(&bytes, Some(&name))?;
    // The model is loaded only for a module that imports from `llm`.
    if module
        .info()
        .imports
        .iter()
        .any(|i| i.module == kernel_wasm::llm::abi::MODULE)
    {
        runtime.set_llm(crate::llm::for_run(&args.llm)?);
    }
    let mut config = InstanceConfig::new(platform);
    config.sockets = sockets;
    config.args = std::iter::once(name.clone())
        .chain(args.args.iter().cloned())
        .collect();
    // The export to call: --invoke, else the manifest's entry, else `_start`. The arguments of
    // a called export are its parameters, not argv.
    let entry = manifest
        .as_ref()
        .map(|(m, _)| m.entry.clone())
        .filter(|e| e != "_start");
    let invoke = args.invoke.clone().or(entry);
    if invoke.is_some() {
        config.args.truncate(1);
    }
    config.env = env;
    config.preopens = preopens;
    if let Some((manifest, _)) = &manifest {
        manifest.apply_to(&mut config);
    }
    if let Some(list) = &args.caps {
        let granted = CapSet::parse(list)?;
        // Capabilities never grow: --caps can only narrow what a manifest grants.
        config.caps = match &manifest {
            Some(_) => config.caps.intersect(&granted),
            None => granted,
        };
    }
    if args.fuel.is_some() {
        config.fuel = args.fuel;
    }
    if args.time_limit_ms.is_some() {
        config.time_limit_ms = args.time_limit_ms;
    }
    if let Some(elements) = args.max_table_elements {
        config.max_table_elements = Some(usize::try_from(elements).map_err(|_| Error::Config {
            what: "--max-table-elements".into(),
            message: format!("{elements} is larger than this machine can address"),
        })?);
    }
    if let Some(bytes) = args.max_memory {
        config.max_memory = Some(usize::try_from(bytes).map_err(|_| Error::Config {
            what: "--max-memory".into(),
            message: format!("{bytes} is larger than this machine can address"),
        })?);
    }
    let mut instance = match runtime.instantiate(&module, config) {
        Ok(instance) => instance,
        // The memory or tables the module declares are already over a limit: it cannot be
        // loaded (1, as wasmtime refuses it), unlike a limit hit while it runs (134).
        Err(
            error @ Error::LimitExceeded {
                kind: LimitKind::Memory | LimitKind::Table,
                ..
            },
        ) => {
            eprintln!("kwasm: {}", one_line(&error.to_string()));
            return Ok(ExitCode::from(EXIT_ERROR));
        }
        // `proc_exit` in the start function: the program's exit status, as wasmtime.
        Err(Error::Exited { code, .. }) => return Ok(ExitCode::from(code as u8)),
        Err(error) => return Err(error),
    };
    let outcome = match &invoke {
        Some(func) => {
            let params: Vec<&str> = args.args.iter().map(String::as_str).collect();
            instance.call_with_text(func, &params)
        }
        None => {
            if !instance.has_export("_start") {
                Err(Error::NoSuchExport {
                    module: name.clone(),
                    export: "_start".into(),
                })
            } else {
                instance.run_start()
            }
        }
    };
    if args.stats {
        let s = instance.stats();
        eprintln!(
            "stats: fuel {} host-calls {} time {} us peak-memory {} bytes peak-table {} credits {}",
            s.fuel_consumed,
            s.host_calls,
            s.wall_ns / 1000,
            s.peak_memory_bytes,
            s.peak_table_elements,
            s.credits_spent
        );
    }
    match outcome? {
        CallOutcome::Returned(values) => {
            for v in values {
                println!("{v}");
            }
            Ok(ExitCode::SUCCESS)
        }
        CallOutcome::Exited(code) => Ok(ExitCode::from(code as u8)),
    }
}

fn inspect(args: InspectArgs) -> ExitCode {
    let bytes = match read_module(&args.module) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let name = module_name(&args.module);
    let info = match kernel_wasm::ModuleInfo::read(&bytes) {
        Ok(info) => info,
        Err(reason) => {
            return fail(&Error::InvalidModule {
                module: name,
                reason,
            })
        }
    };
    let runtime = Runtime::default();
    println!("module: {name}");
    println!("size: {} bytes", bytes.len());
    println!("sha256: {}", kernel_wasm::module::sha256_hex(&bytes));
    println!("imports: {}", info.imports.len());
    let mut missing = Vec::new();
    for import in &info.imports {
        let (kind, status) = match &import.kind {
            ImportKind::Func(sig) => {
                match runtime.registry().lookup(&import.module, &import.name) {
                    Some(_) => (format!("func {sig}"), "provided"),
                    None => {
                        missing.push(format!(
                            "{}::{}",
                            one_line(&import.module),
                            one_line(&import.name)
                        ));
                        (format!("func {sig}"), "MISSING")
                    }
                }
            }
            other => {
                missing.push(format!(
                    "{}::{}",
                    one_line(&import.module),
                    one_line(&import.name)
                ));
                (format!("{other:?}").to_lowercase(), "MISSING")
            }
        };
        // Names are the module's own text: escaped, so each stays one line of this report.
        println!(
            "  {}::{} {kind} [{status}]",
            one_line(&import.module),
            one_line(&import.name)
        );
    }
    println!("exports: {}", info.exports.len());
    for export in &info.exports {
        let kind = match &export.kind {
            ExportKind::Func(sig) => format!("func {sig}"),
            other => format!("{other:?}").to_lowercase(),
        };
        println!("  {} {kind}", one_line(&export.name));
    }
    let entry = if info.export_signature("_start").is_some() {
        "_start (command)"
    } else if info.export_signature("_initialize").is_some() {
        "_initialize (reactor)"
    } else {
        "none (call exports with --invoke)"
    };
    println!("entry: {entry}");
    if let Some(func) = info.start {
        println!("start: function {func} (runs at instantiation)");
    }
    // What the module needs, from the catalog (for the imports that resolve).
    let needs = runtime.capability_needs_of(&info);
    if needs.is_empty() {
        println!("capabilities: none");
    } else {
        println!("capabilities: {}", needs.len());
    }
    for need in &needs {
        let when = match need.check {
            CapCheck::AtInstantiation => "required to instantiate",
            CapCheck::AtCall => "checked per call",
        };
        println!(
            "  {} ({when}): {}",
            need.capability,
            need.imports.join(", ")
        );
    }
    if !missing.is_empty() {
        println!("runnable: no, missing imports: {}", missing.join(", "));
        return ExitCode::from(EXIT_ERROR);
    }
    // Every import resolves; only validation (what `run` does first) tells whether the code does.
    match runtime.load(&bytes, Some(&name)) {
        Ok(_) => {
            println!("runnable: yes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("runnable: no, {e}");
            // The report above is the answer to `inspect`; the error goes to stderr too, as
            // every failure of kwasm does.
            fail(&e)
        }
    }
}
