//! `cargo xtask <task>`: the project's automation, in Rust (see the cargo-xtask convention).
fn main() -> anyhow::Result<()> {
    anyhow::bail!("no tasks yet")
}
