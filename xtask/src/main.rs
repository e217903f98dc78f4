//! `cargo xtask <task>`: the project's automation, in Rust (see the cargo-xtask convention).

mod bench;

use anyhow::{bail, Result};
use xshell::Shell;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sh = Shell::new()?;
    // One shell at the project root; commands change directory through it, never globally.
    sh.change_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives in the workspace"),
    );
    match args.first().map(String::as_str) {
        Some("bench") => bench::run(&sh, &args[1..]),
        Some(other) => bail!("unknown task {other:?}; tasks: bench"),
        None => bail!("usage: cargo xtask <task>; tasks: bench"),
    }
}
