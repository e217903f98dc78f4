//! A stand-in for `kernel_wasm::shell::Shell` until it lands on main: same contract
//! (`new(Platform)`, `prompt()`, `execute(line) -> ShellStatus`), only `echo`, `cat` and `exit`.

use alloc::format;

use kernel_wasm::vfs::path;
use kernel_wasm::{Platform, Stream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellStatus {
    Continue,
    Exit(i32),
}

pub struct Shell {
    platform: Platform,
}

impl Shell {
    pub fn new(platform: Platform) -> Shell {
        Shell { platform }
    }

    pub fn prompt(&self) -> &str {
        "sis> "
    }

    pub fn execute(&mut self, line: &str) -> ShellStatus {
        let mut words = line.split_whitespace();
        let out = |s: &str| self.platform.console.write(Stream::Stdout, s.as_bytes());
        match words.next() {
            None => ShellStatus::Continue,
            Some("echo") => {
                let rest: alloc::vec::Vec<&str> = words.collect();
                out(&format!("{}\n", rest.join(" ")));
                ShellStatus::Continue
            }
            Some("cat") => {
                for path in words {
                    let vfs = &*self.platform.vfs;
                    let root = vfs.root();
                    let node = path::resolve(vfs, root, root, path, path::Absolute::FromRoot, true);
                    let mut buf = alloc::vec![0u8; 4096];
                    match node.and_then(|n| vfs.read_at(n, 0, &mut buf)) {
                        Ok(n) => self.platform.console.write(Stream::Stdout, &buf[..n]),
                        Err(e) => out(&format!("cat: {path}: {e}\n")),
                    }
                }
                ShellStatus::Continue
            }
            Some("exit") => match words.next().map(str::parse::<i32>) {
                None => ShellStatus::Exit(0),
                Some(Ok(code)) => ShellStatus::Exit(code),
                Some(Err(_)) => {
                    out("exit: status must be an integer\n");
                    ShellStatus::Continue
                }
            },
            Some(cmd) => {
                out(&format!("{cmd}: command not found\n"));
                ShellStatus::Continue
            }
        }
    }
}
