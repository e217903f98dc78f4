//! Shell lines: the input's lines are executed one after another by a fresh `Shell` over a
//! small file system holding a module that runs and an agent that ends. Word splitting, every
//! command's argument parsing and its errors must hold for any line; a line never ends the
//! process, and what the shell prints of the words it was given is escaped (but `echo`'s).
//!
//! Lines naming `bench` or `bench-pkg` are skipped: they run the benchmark suite, seconds of
//! work by design.
#![no_main]

use kernel_wasm::{Shell, ShellStatus};
use libfuzzer_sys::fuzz_target;

const HELLO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 8) "hi\n")
  (data (i32.const 0) "\08\00\00\00\03\00\00\00")
  (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

const AGENT: &str = r#"(module
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "done")
  (func (export "agent_run") (drop (call $send (i32.const 0) (i32.const 0) (i32.const 4)))))"#;

fuzz_target!(|data: &[u8]| {
    let (platform, console) = kernel_wasm_fuzz::platform_with(b"typed input\n");
    let vfs = platform.vfs.clone();
    let hello = wat::parse_str(HELLO).expect("hello compiles");
    let agent = wat::parse_str(AGENT).expect("agent compiles");
    kernel_wasm::vfs::write_file(&*vfs, "/bin/hello.wasm", &hello).expect("hello written");
    kernel_wasm::vfs::write_file(&*vfs, "/agents/done.wasm", &agent).expect("agent written");
    kernel_wasm::vfs::write_file(&*vfs, "/etc/motd", b"welcome\n").expect("motd written");
    let mut shell = Shell::new(platform);
    let text = String::from_utf8_lossy(data);
    // `echo` prints the user's own words as typed (as a Unix shell's does); every other line's
    // output shows the text it was given escaped.
    let mut echoed = false;
    for line in text.lines().take(16) {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.starts_with("bench") {
            continue;
        }
        echoed |= first == "echo";
        if matches!(shell.execute(line), ShellStatus::Exit(_)) {
            break;
        }
    }
    let out = console.text();
    assert!(
        echoed || !out.contains('\u{1b}'),
        "a raw escape sequence reached the terminal: {out:?}"
    );
});
