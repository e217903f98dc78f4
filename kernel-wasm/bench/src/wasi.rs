//! Group `wasi`: file I/O through kernel-wasm's WASI layer against the in-memory file system.
//!
//! * `fd_write_64k`: a guest opens a file under its preopen and `fd_write`s 64 KiB blocks; the
//!   reference ("native") writes the same bytes with `Vfs::write_at` straight into a `MemFs`. Unit
//!   MiB/s (higher is better). Both files are read back and must hash alike.
//! * `path_open_close`: `path_open` + `fd_close` of an existing file, per second (higher is better).
//!
//! Only kernel-wasm has a WASI layer to measure here; raw wasmi and wasmtime are not run (wasmtime's
//! WASI writes to the host file system, which would compare different things).

use std::time::Instant;

use anyhow::{bail, Context, Result};
use kernel_wasm::vfs::{NodeId, NodeKind};
use kernel_wasm::{MemFs, Vfs};

use crate::measure::median;
use crate::{kw, Opts, Results};

pub const BLOCK: usize = 64 * 1024;
/// The file the guest and the native writer create in the root of their file system.
pub const FILE: &str = "bench.dat";

/// The guest: `fill` writes the block pattern at 65536, `write_blocks(n)` creates/truncates
/// `bench.dat` under preopen fd 3 and writes `n` blocks (returns KiB written, or -errno),
/// `open_close(n)` opens and closes it `n` times (returns `n`, or -errno).
pub const GUEST_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "bench.dat")
  (func $open (param $oflags i32) (result i32)
    (local $err i32)
    (local.set $err (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 9)
      (local.get $oflags) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0)))
    (if (local.get $err) (then (return (i32.sub (i32.const 0) (local.get $err)))))
    (i32.load (i32.const 0)))
  (func (export "fill")
    (local $i i32)
    (loop $next
      (i32.store (i32.add (i32.const 65536) (i32.shl (local.get $i) (i32.const 2)))
        (i32.mul (local.get $i) (i32.const 0x9E3779B1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 16384)))))
  (func (export "write_blocks") (param $blocks i32) (result i32)
    (local $fd i32) (local $err i32) (local $total i32)
    (local.set $fd (call $open (i32.const 9)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (return (local.get $fd))))
    (i32.store (i32.const 32) (i32.const 65536))
    (i32.store (i32.const 36) (i32.const 65536))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $blocks)))
        (local.set $err (call $fd_write (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 40)))
        (if (local.get $err) (then (return (i32.sub (i32.const 0) (local.get $err)))))
        (local.set $total (i32.add (local.get $total) (i32.load (i32.const 40))))
        (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
        (br $again)))
    (local.set $err (call $fd_close (local.get $fd)))
    (if (local.get $err) (then (return (i32.sub (i32.const 0) (local.get $err)))))
    (i32.shr_u (local.get $total) (i32.const 10)))
  (func (export "open_close") (param $n i32) (result i32)
    (local $fd i32) (local $i i32) (local $err i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $fd (call $open (i32.const 0)))
        (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (return (local.get $fd))))
        (local.set $err (call $fd_close (local.get $fd)))
        (if (local.get $err) (then (return (i32.sub (i32.const 0) (local.get $err)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (local.get $i))
  (func (export "_start")))
"#;

/// The block the guest's `fill` produces: little-endian words `i * 0x9E3779B1`.
pub fn block_pattern() -> Vec<u8> {
    (0..(BLOCK / 4) as u32)
        .flat_map(|i| i.wrapping_mul(0x9E37_79B1).to_le_bytes())
        .collect()
}

/// A fresh file system large enough for the run.
pub fn memfs(total_bytes: u64) -> MemFs {
    MemFs::new(total_bytes * 2 + (1 << 20), 1024)
}

/// FNV-1a of a file's contents, read back through the `Vfs` trait.
pub fn file_hash(fs: &dyn Vfs, node: NodeId) -> Result<u32> {
    let mut hash = 0x811c_9dc5u32;
    let mut buf = vec![0u8; BLOCK];
    let mut offset = 0u64;
    loop {
        let n = fs
            .read_at(node, offset, &mut buf)
            .map_err(|e| anyhow::anyhow!("read_at: {e}"))?;
        if n == 0 {
            return Ok(hash);
        }
        for &b in &buf[..n] {
            hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        offset += n as u64;
    }
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let total_mib: u32 = if opts.quick { 16 } else { 64 };
    let blocks = total_mib * 16;
    let total_bytes = u64::from(total_mib) << 20;
    let runs = opts.runs().min(5);
    let open_close_n: u32 = if opts.quick { 20_000 } else { 100_000 };
    let bytes = wat::parse_str(GUEST_WAT)?;
    std::fs::write(opts.wasm_dir().join("wasi_write.wasm"), &bytes)?;
    results.note(
        "wasi",
        format!(
            "{total_mib} MiB per run in 64 KiB blocks to a MemFs file; MiB/s and ops/s are throughputs \
             (higher is better). `native` is Rust calling `Vfs::write_at` directly."
        ),
    );

    // Native: the same bytes straight into a MemFs.
    let block = block_pattern();
    let fs = memfs(total_bytes);
    let node = fs
        .create(fs.root(), FILE, NodeKind::File)
        .map_err(|e| anyhow::anyhow!("create: {e}"))?;
    let mut secs = Vec::new();
    for _ in 0..=runs {
        fs.set_len(node, 0)
            .map_err(|e| anyhow::anyhow!("set_len: {e}"))?;
        let start = Instant::now();
        for i in 0..u64::from(blocks) {
            let n = fs
                .write_at(node, i * BLOCK as u64, &block)
                .map_err(|e| anyhow::anyhow!("write_at: {e}"))?;
            if n != BLOCK {
                bail!("short write: {n}");
            }
        }
        secs.push(start.elapsed().as_secs_f64());
    }
    secs.remove(0); // warm-up
    let native_mibs = f64::from(total_mib) / median(&mut secs);
    let native_hash = file_hash(&fs, node)?;
    eprintln!("  wasi/fd_write_64k native      {native_mibs:>10.1} MiB/s");
    results.row("wasi", "fd_write_64k", "native", native_mibs, "MiB/s");

    match kw::WasiGuest::new(&bytes, total_bytes) {
        Err(reason) => results.note("wasi", format!("kernel-wasm unavailable: {reason}")),
        Ok(mut guest) => {
            let mut secs = Vec::new();
            for _ in 0..=runs {
                let start = Instant::now();
                let kib = guest
                    .write_blocks(blocks)
                    .context("wasi fd_write on kernel-wasm")?;
                secs.push(start.elapsed().as_secs_f64());
                if kib != total_mib * 1024 {
                    bail!(
                        "wasi: guest wrote {kib} KiB, expected {} (negative = -errno)",
                        total_mib * 1024
                    );
                }
            }
            secs.remove(0);
            let mibs = f64::from(total_mib) / median(&mut secs);
            let hash = guest.file_hash()?;
            if hash != native_hash {
                bail!("wasi: the guest's file hashes to {hash:#010x}, the native one to {native_hash:#010x}");
            }
            eprintln!("  wasi/fd_write_64k kernel-wasm {mibs:>10.1} MiB/s");
            results.row("wasi", "fd_write_64k", "kernel-wasm", mibs, "MiB/s");
            results.checksums.push((
                "wasi",
                "fd_write_64k".into(),
                native_hash,
                vec!["kernel-wasm", "native"],
            ));

            let mut secs = Vec::new();
            for _ in 0..=runs {
                let start = Instant::now();
                let n = guest
                    .open_close(open_close_n)
                    .context("wasi path_open on kernel-wasm")?;
                secs.push(start.elapsed().as_secs_f64());
                if n != open_close_n {
                    bail!("wasi: open_close returned {n}, expected {open_close_n} (negative = -errno)");
                }
            }
            secs.remove(0);
            let ops = f64::from(open_close_n) / median(&mut secs);
            eprintln!("  wasi/path_open_close kernel-wasm {ops:>10.0} ops/s");
            results.row("wasi", "path_open_close", "kernel-wasm", ops, "ops/s");
        }
    }
    Ok(())
}
