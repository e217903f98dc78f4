//! `cargo xtask <task>`: the project's automation, in Rust (see the cargo-xtask convention).

mod initrd;
mod qemu;

use std::path::{Path, PathBuf};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the project root")
        .to_path_buf()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("qemu") => qemu::run(&project_root(), &args[1..]),
        Some(other) => anyhow::bail!("unknown task {other:?}; tasks: qemu"),
        None => anyhow::bail!("usage: cargo xtask <task>; tasks: qemu"),
    }
}
