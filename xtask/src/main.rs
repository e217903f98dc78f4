//! `cargo xtask <task>`: the project's automation, in Rust (the cargo-xtask convention).
//!
//! `main` is a dispatch table; each task lives in its own module and runs commands through one
//! xshell `Shell` opened at the project root. Flags are parsed by hand to keep xtask quick to build.

mod bench;
mod ci;
mod coverage;
mod demo;
mod fixtures;
mod fuzz;
mod guests;
mod initrd;
mod packages;
mod qemu;
mod tools;
mod train_model;
mod wasi_programs;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use xshell::Shell;

const HELP: &str = "\
cargo xtask <task>

tasks:
  bench       kernel-wasm vs raw wasmi vs wasmtime vs native, and in the kernel under QEMU
              (--quick: under ~5 minutes; --no-kernel: without QEMU);
              writes target/bench/results.json and docs/benchmarks.md
  ci          fmt check, clippy -D warnings, host tests (kernel-wasm's and kwasm's under
              coverage: fails under 90% of kernel-wasm's lines), the QEMU tests, the no_std
              aarch64 build, the kernel and bench crates checked (what CI runs)
  coverage    line coverage of kernel-wasm by its host tests (cargo-llvm-cov summary table);
              fails under 90% of lines: [--html] [--min PERCENT]
  demo        build everything, boot the kernel with its signed packages and the example
              modules, run a tour, then the interactive shell: [--script FILE] [--host]
              [--build-only] (--host: the tour through kwasm shell, no QEMU)
  fixtures    compile the WAT fixtures to target/fixtures/*.wasm
  fuzz        run the cargo-fuzz targets of fuzz/ (nightly and cargo-fuzz installed when
              missing), each for --seconds N (default 60): [--seconds N] [TARGET]...
  guests      build every guest template (guests/<lang>/examples/*, sdk-check) from a copy
              outside the repository to target/guests/<lang>/*.wasm, installing toolchains
              (--lint: rustfmt, clippy, clang -Werror, gofmt and go vet on them first)
  packages    build and sign every package (packages/NAME/) into packages/out/*.wap with the
              development key of packages/keys/
  qemu        build the kernel and boot it in QEMU: [--dir HOST::GUEST]... [--script FILE]
              [--cpu MODEL] [--timeout SECS] [--memory SIZE] [--append ARGS] [--gdb]
              [--net] [--hostfwd HOST_PORT:GUEST_PORT]... (user networking, forwards on 127.0.0.1)
  train-model train the default LLM (tools/train-model, candle, CPU, deterministic) into
              models/tinystories/: [--steps N] [--out DIR]; --lora: its LoRA adapter
              models/tinystories/rainy/ instead
  wasi-programs  build the C and Rust WASI test programs to target/wasi-programs
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => {
            print!("{HELP}");
            return Ok(());
        }
    };
    match task {
        "bench" => bench::run(&sh, rest),
        "ci" => ci::run(&sh, rest),
        "coverage" => coverage::run(&sh, rest),
        "demo" => demo::run(&sh, rest),
        "fuzz" => fuzz::run(&sh, rest),
        "fixtures" => fixtures::build(&sh).map(|dir| println!("fixtures in {}", dir.display())),
        "guests" => {
            if let Some(other) = rest.iter().find(|a| *a != "--lint") {
                bail!("guests takes only --lint, got {other:?}");
            }
            if rest.iter().any(|a| a == "--lint") {
                guests::lint(&sh)?;
            }
            guests::build(&sh).map(|dir| println!("guests in {}", dir.display()))
        }
        "packages" => packages::build(&sh).map(|dir| println!("packages in {}", dir.display())),
        "qemu" => qemu::run(&sh, rest),
        "train-model" => train_model::run(&sh, rest),
        "wasi-programs" => {
            wasi_programs::build(&sh).map(|dir| println!("WASI test programs in {}", dir.display()))
        }
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task {other:?}\n\n{HELP}"),
    }
}

/// The workspace root (xtask lives one level below it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Prints a progress line that stands out in CI logs.
pub fn step(text: &str) {
    println!("\n==> {text}");
}
