//! `hello`: a WASI command. Prints its arguments and the `GREETING` environment variable, then
//! writes a file in its preopened directory `/data` and reads it back.
//!
//! Build: `cargo build --release` (→ target/wasm32-wasip1/release/hello.wasm)
//! Run:   `kwasm run --manifest manifest.toml --dir /tmp::/data hello.wasm -- one two`

use std::process::ExitCode;

const FILE: &str = "/data/hello-rust.txt";
const CONTENTS: &str = "written by rust\n";

fn main() -> ExitCode {
    println!("hello from rust");
    for (i, arg) in std::env::args().enumerate().skip(1) {
        println!("arg {i}: {arg}");
    }
    match std::env::var("GREETING") {
        Ok(greeting) => println!("GREETING={greeting}"),
        Err(_) => println!("GREETING is not set"),
    }
    // Without `file:create` (or without a preopen at /data) this is an error value, not a trap.
    if let Err(e) = std::fs::write(FILE, CONTENTS) {
        eprintln!("hello: cannot write {FILE}: {e}");
        return ExitCode::FAILURE;
    }
    println!("wrote {FILE} ({} bytes)", CONTENTS.len());
    match std::fs::read_to_string(FILE) {
        Ok(back) => print!("read back: {back}"),
        Err(e) => {
            eprintln!("hello: cannot read {FILE}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
