//! `kwasm shell`: the kernel-wasm shell on stdin/stdout.
//!
//! Input goes through the kernel's own line editor (`kernel_wasm::line_editor`), byte for byte as
//! on the UART. When stdin is not a terminal the editor's echo is printed after the prompt, as the
//! kernel echoes typed characters, so a scripted session prints the same transcript on both.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use kernel_wasm::hosted::StdConsole;
use kernel_wasm::line_editor::{Event, LineEditor};
use kernel_wasm::vfs::{mkdir_all, write_file};
use kernel_wasm::{Console, Error, Shell, ShellStatus, Vfs};

use crate::cli::ShellArgs;

pub fn run(args: ShellArgs) -> ExitCode {
    // The shell reads its lines through the same console as the guests it runs read stdin, so
    // what follows a line in a script stays for them.
    let console = Arc::new(StdConsole::default());
    let platform = kernel_wasm::hosted::platform_with_console(console.clone());
    for spec in &args.dirs {
        let (host, guest) = match crate::run::dir_spec(spec) {
            Ok(parts) => parts,
            Err(message) => return crate::run::usage(&message),
        };
        if let Err(e) = copy_tree(&*platform.vfs, Path::new(host), guest) {
            return crate::run::fail(&e);
        }
    }
    if let Some(dir) = &args.packages {
        if let Err(e) = copy_packages(&*platform.vfs, dir) {
            return crate::run::fail(&e);
        }
    }
    let trust = match crate::pkg::trust_store(&args.trust.trust, &args.trust.revoked) {
        Ok(trust) => trust,
        Err(e) => return crate::run::fail(&e),
    };
    let mut shell = Shell::new(platform.clone());
    shell.set_packages(trust, args.trust.allow_unsigned);
    // What the kernel prints after its boot header: one line per package of its initrd.
    if args.packages.is_some() {
        for line in shell.install_boot_packages() {
            println!("{line}");
        }
    }
    // Then the default model, found as the kernel finds it at boot (after its packages).
    let llm = match crate::llm::for_shell(&args.llm, &*platform.vfs) {
        Ok(llm) => llm,
        Err(e) => return crate::run::fail(&e),
    };
    shell.set_llm(llm);
    let echo = !std::io::stdin().is_terminal();
    let mut editor = LineEditor::default();
    loop {
        print!("{}", shell.prompt());
        let _ = std::io::stdout().flush();
        match next_event(&console, &mut editor, echo) {
            Some(Event::Line(text)) => match shell.execute(&text) {
                ShellStatus::Continue => {}
                ShellStatus::Exit(code) => {
                    let _ = std::io::stdout().flush();
                    // `exit` takes 0 to 255; anything else would be a bug of the shell.
                    return ExitCode::from(u8::try_from(code).unwrap_or(crate::EXIT_INTERNAL));
                }
            },
            Some(Event::Interrupt) => {}
            Some(Event::Eof) | None => {
                if echo {
                    println!();
                }
                return ExitCode::SUCCESS;
            }
        }
    }
}

/// Reads stdin through the kernel's own line editor, so a script gets the kernel's treatment of
/// every byte (control bytes dropped, invalid UTF-8 replaced, lines capped at
/// [`kernel_wasm::line_editor::DEFAULT_MAX_LINE`] bytes, Ctrl-C and Ctrl-D) and never an unbounded
/// buffer. When stdin is not a terminal the editor's echo is printed, as the kernel's UART shows
/// typed characters. Bytes after the completed line stay in the console's buffer for the guests
/// the line runs. At end of input (or an error reading it) a last line without its newline still
/// runs; `None` is end of input.
fn next_event(console: &StdConsole, editor: &mut LineEditor, echo: bool) -> Option<Event> {
    let mut shown = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let event = if console.read(&mut byte) == 0 {
            if editor.pending().is_empty() {
                return None;
            }
            editor.feed(b'\n', &mut shown)
        } else {
            editor.feed(byte[0], &mut shown)
        };
        if let Some(event) = event {
            if echo && !shown.is_empty() {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&shown);
                let _ = out.flush();
            }
            return Some(event);
        }
    }
}

/// Copies the `*.wap` files of host directory `dir` to the shell's `/boot/packages`, where the
/// kernel finds the packages of its initrd.
fn copy_packages(vfs: &dyn Vfs, dir: &Path) -> Result<(), Error> {
    let fs_err = |path: &Path, e: std::io::Error| Error::Config {
        what: path.display().to_string(),
        message: e.to_string(),
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| fs_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "wap"))
        .collect();
    files.sort();
    mkdir_all(vfs, kernel_wasm::package::BOOT_DIR).map_err(|error| Error::Fs {
        path: kernel_wasm::package::BOOT_DIR.into(),
        error,
    })?;
    for path in files {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let mut data = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| {
                f.take(kernel_wasm::package::MAX_PACKAGE_BYTES as u64 + 1)
                    .read_to_end(&mut data)
            })
            .map_err(|e| fs_err(&path, e))?;
        let guest = format!("{}/{name}", kernel_wasm::package::BOOT_DIR);
        write_file(vfs, &guest, &data).map_err(|error| Error::Fs { path: guest, error })?;
    }
    Ok(())
}

/// The largest host file `--dir` copies: the hosted file system's whole byte budget
/// (`kernel_wasm::hosted::platform`), so a larger file is refused before it is read into memory.
const MAX_COPY_FILE_BYTES: u64 = 1 << 30;

/// Copies the host tree at `host` into `vfs` under `guest`. Host symlinks and special files are
/// skipped; a name that is not UTF-8 is an error (replacing its bytes could make two names one).
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
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(Error::Config {
                what: path.display().to_string(),
                message: "the file name is not UTF-8".into(),
            });
        };
        let guest_path = format!("{}/{name}", guest.trim_end_matches('/'));
        let kind = entry.file_type().map_err(|e| fs_err(&path, e))?;
        if kind.is_dir() {
            copy_tree(vfs, &path, &guest_path)?;
        } else if kind.is_file() {
            let too_big = || {
                Error::Config {
                what: path.display().to_string(),
                message: format!(
                    "larger than {MAX_COPY_FILE_BYTES} bytes, the most the shell's file system holds"
                ),
            }
            };
            let len = entry.metadata().map_err(|e| fs_err(&path, e))?.len();
            if len > MAX_COPY_FILE_BYTES {
                return Err(too_big());
            }
            let mut data = Vec::new();
            std::fs::File::open(&path)
                .and_then(|f| f.take(MAX_COPY_FILE_BYTES + 1).read_to_end(&mut data))
                .map_err(|e| fs_err(&path, e))?;
            if data.len() as u64 > MAX_COPY_FILE_BYTES {
                return Err(too_big());
            }
            write_file(vfs, &guest_path, &data).map_err(|e| vfs_err(&guest_path, e))?;
        }
    }
    Ok(())
}
