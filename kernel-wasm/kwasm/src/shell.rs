//! `kwasm shell`: the kernel-wasm shell on stdin/stdout.
//!
//! When stdin is not a terminal each line is echoed after the prompt, as the kernel's UART line
//! editor echoes typed characters, so a scripted session prints the same transcript on both.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use kernel_wasm::vfs::{mkdir_all, write_file};
use kernel_wasm::{Error, Shell, ShellStatus, Vfs};

use crate::cli::ShellArgs;

pub fn run(args: ShellArgs) -> ExitCode {
    let platform = kernel_wasm::hosted::platform();
    for spec in &args.dirs {
        let (host, guest) = match spec.split_once("::") {
            Some((host, guest)) => (host, guest.to_string()),
            None => (spec.as_str(), spec.clone()),
        };
        if let Err(e) = copy_tree(&*platform.vfs, Path::new(host), &guest) {
            return crate::run::fail(&e);
        }
    }
    let mut shell = Shell::new(platform);
    let stdin = std::io::stdin();
    let echo = !stdin.is_terminal();
    let mut line = String::new();
    loop {
        print!("{}", shell.prompt());
        let _ = std::io::stdout().flush();
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) => {
                if echo {
                    println!();
                }
                return ExitCode::SUCCESS;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("kwasm: cannot read stdin: {e}");
                return ExitCode::from(crate::EXIT_ERROR);
            }
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if echo {
            println!("{text}");
        }
        match shell.execute(text) {
            ShellStatus::Continue => {}
            ShellStatus::Exit(code) => {
                let _ = std::io::stdout().flush();
                return ExitCode::from(code as u8);
            }
        }
    }
}

/// Copies the host tree at `host` into `vfs` under `guest`.
fn copy_tree(vfs: &dyn Vfs, host: &Path, guest: &str) -> Result<(), Error> {
    let fs_err = |path: &Path, e: std::io::Error| Error::Config {
        what: path.display().to_string(),
        message: e.to_string(),
    };
    let vfs_err = |path: &str, error| Error::Fs {
        path: path.to_string(),
        error,
    };
    mkdir_all(vfs, guest).map_err(|e| vfs_err(guest, e))?;
    let mut entries: Vec<_> = std::fs::read_dir(host)
        .map_err(|e| fs_err(host, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| fs_err(host, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let guest_path = format!("{}/{name}", guest.trim_end_matches('/'));
        let kind = entry.file_type().map_err(|e| fs_err(&entry.path(), e))?;
        if kind.is_dir() {
            copy_tree(vfs, &entry.path(), &guest_path)?;
        } else if kind.is_file() {
            let data = std::fs::read(entry.path()).map_err(|e| fs_err(&entry.path(), e))?;
            write_file(vfs, &guest_path, &data).map_err(|e| vfs_err(&guest_path, e))?;
        }
    }
    Ok(())
}
