//! The shell's commands. Each is one entry of [`COMMANDS`]: later subsystems (agents, packages,
//! llm) add their entries here.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{Shell, ShellStatus, DEFAULT_RUN_FUEL, DEFAULT_RUN_TIME_LIMIT_MS};
use crate::error::{Error, Result};
use crate::instance::{CallOutcome, InstanceConfig};
use crate::text::Escaped;
use crate::vfs::{self, path, NodeKind, VfsError};
use crate::wasi::Preopen;

/// One shell command.
pub struct Command {
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
    pub run: fn(&mut Shell, &[&str]) -> Result<ShellStatus>,
}

/// The largest module `wasm-run` reads (the Go runtime is ~2.5 MB; leave headroom).
const MAX_MODULE_BYTES: u64 = 64 << 20;
/// The largest file `cat` prints.
const MAX_CAT_BYTES: u64 = 16 << 20;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "help",
        usage: "help",
        help: "list the commands",
        run: help,
    },
    Command {
        name: "echo",
        usage: "echo TEXT...",
        help: "print the text",
        run: echo,
    },
    Command {
        name: "ls",
        usage: "ls [PATH]",
        help: "list a directory",
        run: ls,
    },
    Command {
        name: "cat",
        usage: "cat PATH",
        help: "print a file",
        run: cat,
    },
    Command {
        name: "wasm-run",
        usage: "wasm-run [--fuel N] [--time-limit-ms MS] [--caps LIST] [--dir DIR]... [--tcplisten [IP:]PORT]... PATH|PACKAGE [FUNC [ARGS...] | -- ARGS...]",
        help: "run a module's _start (with ARGS after --, DIRs preopened, listening sockets after them), or call FUNC with ARGS and print its results; --caps grants exactly LIST (default: the WASI set); a PACKAGE runs with its manifest's capabilities and limits (--caps narrows them)",
        run: wasm_run,
    },
    Command {
        name: "stats",
        usage: "stats",
        help: "fuel, host calls and time of the last run",
        run: stats,
    },
    Command {
        name: "agent-spawn",
        usage: "agent-spawn [--fuel N] [--max-memory BYTES] PATH|PACKAGE [CAPS]",
        help: "start an agent (CAPS default: agent:spawn,agent:send,agent:receive; a PACKAGE: its manifest's, narrowed by CAPS; memory default 64 MiB)",
        run: super::agent_cmds::spawn,
    },
    Command {
        name: "agent-send",
        usage: "agent-send ID TEXT...",
        help: "send the text to agent ID as a message from agent 0",
        run: super::agent_cmds::send,
    },
    Command {
        name: "agent-list",
        usage: "agent-list",
        help: "list agents: id, name, state, fuel used, queued messages, result",
        run: super::agent_cmds::list,
    },
    Command {
        name: "agent-kill",
        usage: "agent-kill ID",
        help: "stop agent ID",
        run: super::agent_cmds::kill,
    },
    Command {
        name: "agent-run",
        usage: "agent-run [--time-limit-ms MS] [MAX_SLICES]",
        help: "run the agents until all are blocked or done (default bounds 100000 slices, 10 minutes)",
        run: super::agent_cmds::run,
    },
    Command {
        name: "llm-info",
        usage: "llm-info",
        help: "the loaded model: name, dimensions, adapters",
        run: super::llm_cmds::info,
    },
    Command {
        name: "llm-infer",
        usage: "llm-infer [--max-tokens N] TEXT...",
        help: "print TEXT and the model's greedy completion (N default: max_tokens of llm-info)",
        run: super::llm_cmds::infer,
    },
    Command {
        name: "llm-load-lora",
        usage: "llm-load-lora PATH",
        help: "load a PEFT LoRA adapter (a directory, or a tar of its two files) for later inferences",
        run: super::llm_cmds::load_lora,
    },
    Command {
        name: "llm-unload-lora",
        usage: "llm-unload-lora ID",
        help: "unload adapter ID",
        run: super::llm_cmds::unload_lora,
    },
    Command {
        name: "net-info",
        usage: "net-info",
        help: "the network: address, open sockets, counters",
        run: super::net_cmds::info,
    },
    Command {
        name: "pkg-list",
        usage: "pkg-list",
        help: "list the installed packages: name, version, key id, size",
        run: super::pkg_cmds::list,
    },
    Command {
        name: "pkg-install",
        usage: "pkg-install [--force] [--allow-unsigned] PATH",
        help: "verify the package at PATH and install it under /pkg (an upgrade when newer)",
        run: super::pkg_cmds::install,
    },
    Command {
        name: "pkg-uninstall",
        usage: "pkg-uninstall NAME",
        help: "uninstall package NAME",
        run: super::pkg_cmds::uninstall,
    },
    Command {
        name: "pkg-info",
        usage: "pkg-info NAME",
        help: "show package NAME: version, key, capabilities, limits, files",
        run: super::pkg_cmds::info,
    },
    Command {
        name: "bench",
        usage: "bench [--quick] [--case NAME]... [PATH] | bench --llm [--quick] [DIR]",
        help: "time the compute workloads (default /bench/workloads.wasm) on kernel-wasm and raw wasmi, or with --llm the LLM engine's tokens/s (models in /bench/llm); JSON rows",
        run: super::bench_cmd::bench,
    },
    Command {
        name: "bench-pkg",
        usage: "bench-pkg [--quick] PATH",
        help: "time verify+install of the package at PATH against SHA-256 + Ed25519 of its bytes; JSON rows",
        run: super::bench_pkg::bench_pkg,
    },
    Command {
        name: "exit",
        usage: "exit [CODE]",
        help: "end the session with CODE (default 0)",
        run: exit,
    },
];

pub(super) fn usage(name: &str) -> Error {
    let usage = COMMANDS
        .iter()
        .find(|c| c.name == name)
        .map_or("", |c| c.usage);
    Error::Config {
        what: String::from(name),
        message: format!("usage: {usage}"),
    }
}

pub(super) fn fs_error(shell: &Shell, path: &str, error: vfs::VfsError) -> Error {
    Error::Fs {
        path: shell.absolute(path),
        error,
    }
}

/// Reads the whole file at `path` for `command`, which takes files of at most `max` bytes: a
/// larger file is refused with an error that says so (not "no space", which is what
/// [`vfs::read_file`] reports), before anything is allocated.
pub(super) fn read_bounded(shell: &Shell, command: &str, path: &str, max: u64) -> Result<Vec<u8>> {
    let abs = shell.absolute(path);
    let fs = &*shell.platform().vfs;
    match vfs::read_file(fs, &abs, max) {
        Ok(bytes) => Ok(bytes),
        Err(VfsError::NoSpace) => {
            let root = fs.root();
            let size = path::resolve(fs, root, root, &abs, path::Absolute::FromRoot, true)
                .and_then(|node| fs.stat(node))
                .map(|meta| meta.size);
            match size {
                Ok(size) if size > max => Err(Error::Config {
                    what: abs,
                    message: format!(
                        "is {size} bytes; {command} takes files of at most {max} bytes"
                    ),
                }),
                _ => Err(fs_error(shell, path, VfsError::NoSpace)),
            }
        }
        Err(e) => Err(fs_error(shell, path, e)),
    }
}

fn help(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    if !args.is_empty() {
        return Err(usage("help"));
    }
    let mut out = String::from("commands:\n");
    for c in COMMANDS {
        out.push_str(&format!("  {:<44} {}\n", c.usage, c.help));
    }
    shell.print(&out);
    Ok(ShellStatus::Continue)
}

fn echo(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let mut line = args.join(" ");
    line.push('\n');
    shell.print(&line);
    Ok(ShellStatus::Continue)
}

/// The directory `dir` of the system file system as a WASI preopen under its absolute path
/// (`wasm-run --dir /data` shows the guest `/data`, as `wasmtime run --dir /data` does).
fn preopen(shell: &Shell, dir: &str) -> Result<Preopen> {
    let abs = shell.absolute(dir);
    let fs = shell.platform().vfs.clone();
    let root = fs.root();
    let node = path::resolve(&*fs, root, root, &abs, path::Absolute::FromRoot, true)
        .map_err(|e| fs_error(shell, dir, e))?;
    if fs.stat(node).map_err(|e| fs_error(shell, dir, e))?.kind != NodeKind::Dir {
        return Err(fs_error(shell, dir, VfsError::NotADirectory));
    }
    Ok(Preopen::new(abs, fs, node))
}

fn ls(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let target = match args {
        [] => ".",
        [path] => path,
        _ => return Err(usage("ls")),
    };
    let abs = shell.absolute(target);
    let fs = shell.platform().vfs.clone();
    let root = fs.root();
    let node = path::resolve(&*fs, root, root, &abs, path::Absolute::FromRoot, true)
        .map_err(|e| fs_error(shell, target, e))?;
    let meta = fs.stat(node).map_err(|e| fs_error(shell, target, e))?;
    let mut out = String::new();
    if meta.kind == NodeKind::Dir {
        for entry in fs.read_dir(node).map_err(|e| fs_error(shell, target, e))? {
            out.push_str(&format!("{}", Escaped::str(&entry.name)));
            match entry.kind {
                NodeKind::Dir => out.push('/'),
                NodeKind::Symlink => out.push('@'),
                NodeKind::File => {}
            }
            out.push('\n');
        }
    } else {
        out.push_str(&format!("{}\n", Escaped::str(target)));
    }
    shell.print(&out);
    Ok(ShellStatus::Continue)
}

fn cat(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let [path] = args else {
        return Err(usage("cat"));
    };
    let bytes = read_bounded(shell, "cat", path, MAX_CAT_BYTES)?;
    shell
        .platform()
        .console
        .write(crate::platform::Stream::Stdout, &bytes);
    Ok(ShellStatus::Continue)
}

fn wasm_run(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    // `None`: the default (or, for a package, its manifest's limit).
    let mut fuel: Option<u64> = None;
    let mut time_limit_ms: Option<u64> = None;
    let mut preopens = Vec::new();
    let mut sockets = Vec::new();
    let mut caps = None;
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        match *first {
            "--fuel" => {
                let (value, tail) = tail.split_first().ok_or_else(|| usage("wasm-run"))?;
                fuel = Some(value.parse().map_err(|_| Error::Config {
                    what: String::from("--fuel"),
                    message: format!("{value:?} is not a number of fuel units"),
                })?);
                rest = tail;
            }
            "--time-limit-ms" => {
                let (value, tail) = tail.split_first().ok_or_else(|| usage("wasm-run"))?;
                time_limit_ms = Some(value.parse().map_err(|_| Error::Config {
                    what: String::from("--time-limit-ms"),
                    message: format!("{value:?} is not a number of milliseconds"),
                })?);
                rest = tail;
            }
            "--dir" => {
                let (dir, tail) = tail.split_first().ok_or_else(|| usage("wasm-run"))?;
                preopens.push(preopen(shell, dir)?);
                rest = tail;
            }
            "--caps" => {
                let (list, tail) = tail.split_first().ok_or_else(|| usage("wasm-run"))?;
                caps = Some(crate::caps::CapSet::parse(list)?);
                rest = tail;
            }
            "--tcplisten" => {
                let (spec, tail) = tail.split_first().ok_or_else(|| usage("wasm-run"))?;
                sockets.push(super::net_cmds::listen(shell, spec)?);
                rest = tail;
            }
            // An option this command does not know (a module path starting with `--` can be
            // written `./--name`).
            option if option.starts_with("--") => return Err(usage("wasm-run")),
            _ => break,
        }
    }
    let Some((path, call)) = rest.split_first() else {
        return Err(usage("wasm-run"));
    };
    // An installed package by name (a word without `/`), else a module file.
    let package = shell.installed_package(path)?;
    let (name, bytes) = match &package {
        Some(loaded) => (loaded.info.name.clone(), loaded.module.clone()),
        None => {
            let abs = shell.absolute(path);
            let bytes = read_bounded(shell, "wasm-run", path, MAX_MODULE_BYTES)?;
            (abs.rsplit('/').next().unwrap_or(path).to_string(), bytes)
        }
    };
    let module = shell.runtime().load(&bytes, Some(&name))?;
    let mut config = InstanceConfig::new(shell.platform().clone());
    config.args = alloc::vec![name.clone()];
    config.preopens = preopens;
    config.sockets = sockets;
    // `PATH -- ARGS...`: the command's arguments (argv[0] is its name); `PATH FUNC ARGS...`: a call.
    let func = match call.split_first() {
        Some((&"--", argv)) => {
            config.args.extend(argv.iter().map(|a| String::from(*a)));
            None
        }
        other => other,
    };
    // A package runs with its manifest's capabilities, limits, environment and arguments, and
    // its entry when no FUNC is given; --fuel and --time-limit-ms override its limits.
    let entry = package.as_ref().map(|p| p.info.manifest.entry.clone());
    if let Some(loaded) = &package {
        loaded.info.manifest.apply_to(&mut config);
    }
    // --caps grants exactly its list to a module file; for a package it can only narrow what
    // the manifest grants (capabilities never grow).
    if let Some(caps) = caps {
        config.caps = match &package {
            Some(_) => config.caps.intersect(&caps),
            None => caps,
        };
    }
    config.fuel = fuel.or(config.fuel).or(Some(DEFAULT_RUN_FUEL));
    config.time_limit_ms = time_limit_ms
        .or(config.time_limit_ms)
        .or(Some(DEFAULT_RUN_TIME_LIMIT_MS));
    // A start function that exits ends the program there, as its `_start` would have.
    let outcome = match shell.runtime().instantiate(&module, config) {
        Ok(mut instance) => {
            let outcome = match (func, entry.as_deref()) {
                (Some((func, params)), _) => instance.call_with_text(func, params),
                (None, Some(entry)) if entry != "_start" => instance.call_with_text(entry, &[]),
                (None, _) => instance.run_start(),
            };
            shell.last_stats = Some(instance.stats());
            outcome
        }
        Err(Error::Exited { code, .. }) => Ok(CallOutcome::Exited(code)),
        Err(error) => Err(error),
    };
    match outcome? {
        CallOutcome::Returned(values) => {
            let mut out = String::new();
            for v in values {
                out.push_str(&format!("{v}\n"));
            }
            shell.print(&out);
        }
        CallOutcome::Exited(0) => {}
        CallOutcome::Exited(code) => shell.print(&format!(
            "{} exited with status {code}\n",
            Escaped::str(&name)
        )),
    }
    Ok(ShellStatus::Continue)
}

fn stats(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    if !args.is_empty() {
        return Err(usage("stats"));
    }
    match shell.last_stats {
        Some(s) => {
            let text = format!(
                "fuel: {}\nhost calls: {}\ntime: {} us\n",
                s.fuel_consumed,
                s.host_calls,
                s.wall_ns / 1000
            );
            shell.print(&text);
        }
        None => shell.print("no module has run yet\n"),
    }
    Ok(ShellStatus::Continue)
}

/// `exit [CODE]`: CODE is 0 to 255, what a process exit status can carry, so the status the
/// host (QEMU, `kwasm shell`) exits with is the one typed, never a truncation of it.
fn exit(_shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let code = match args {
        [] => 0,
        [code] => code.parse::<u8>().map_err(|_| Error::Config {
            what: String::from("exit"),
            message: format!("{code:?} is not an exit status (0 to 255)"),
        })?,
        _ => return Err(usage("exit")),
    };
    Ok(ShellStatus::Exit(i32::from(code)))
}
