//! `cargo xtask bench [--quick] [--no-kernel]`: build every guest, measure the kernel in QEMU, and
//! run the benchmark binary.
//!
//! This file exists to do the preparation the bench binary cannot do for itself: install the
//! toolchains (idempotently), compile the workloads to wasm32, the C startup module with clang +
//! wasi-libc and the Go one with Go's `wasip1` port, all into `target/bench/wasm/`; boot the kernel
//! in QEMU with that directory as `/bench` and run its `bench` shell command on the same workloads
//! module, saving the rows it prints as `target/bench/kernel.jsonl`; and then run
//! `kernel-wasm/bench` (its own workspace, lockfile and target dir, because wasmtime is heavy) in
//! release, which reports the kernel's rows beside its own. A toolchain (or QEMU) that cannot be
//! installed does not fail the run: xtask writes `<name>.unavailable` with the reason and the
//! report says so.

use std::path::{Path, PathBuf};

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::qemu;

const OUT: &str = "target/bench";

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let mut quick = false;
    let mut kernel = true;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            "--no-kernel" => kernel = false,
            other => bail!("cargo xtask bench: unknown argument {other:?} (usage: cargo xtask bench [--quick] [--no-kernel])"),
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = "kernel-wasm/bench/Cargo.toml";
    let wasm_dir = PathBuf::from(OUT).join("wasm");
    sh.create_dir(&wasm_dir)?;

    // Workloads: the same no_std crate the bench links natively, as a wasm32 cdylib.
    cmd!(sh, "rustup target add wasm32-unknown-unknown")
        .run()
        .context("rustup target add")?;
    cmd!(sh, "{cargo} build --release --manifest-path {manifest} -p kernel-wasm-workloads --target wasm32-unknown-unknown")
        .run()?;
    sh.copy_file(
        "kernel-wasm/bench/target/wasm32-unknown-unknown/release/kernel_wasm_workloads.wasm",
        wasm_dir.join("workloads.wasm"),
    )?;

    let mut toolchains = Vec::new();
    match build_c(sh, &wasm_dir) {
        Ok(version) => toolchains.push(version),
        Err(e) => unavailable(sh, &wasm_dir, "hello_c", &e)?,
    }
    match build_go(sh, &wasm_dir) {
        Ok(version) => toolchains.push(version),
        Err(e) => unavailable(sh, &wasm_dir, "hello_go", &e)?,
    }
    // Group `packages`: the signed Go package (~2.8 MB), verified and installed on the host and in
    // the kernel (whose built-in trust root is the same development key).
    match crate::packages::build(sh) {
        Ok(dir) => sh.copy_file(dir.join("go-hello.wap"), wasm_dir.join("go-hello.wap"))?,
        Err(e) => unavailable(sh, &wasm_dir, "go-hello.wap", &e)?,
    }
    sh.write_file(
        wasm_dir.join("toolchains.txt"),
        toolchains.join("\n") + "\n",
    )?;
    stage_llm_models(sh, &wasm_dir)?;

    // The kernel's rows of this run, or why there are none (never an earlier run's).
    let out = PathBuf::from(OUT);
    let _ = sh.remove_path(out.join("kernel.jsonl"));
    let _ = sh.remove_path(out.join("kernel.unavailable"));
    let _ = sh.remove_path(out.join("kernel-console.txt"));
    let kernel_result = if kernel {
        kernel_bench(sh, &wasm_dir, quick)
    } else {
        Err(anyhow::anyhow!("skipped (cargo xtask bench --no-kernel)"))
    };
    match kernel_result {
        Ok(rows) => sh.write_file(out.join("kernel.jsonl"), rows)?,
        Err(e) => {
            eprintln!("bench: kernel figures unavailable: {e:#}");
            sh.write_file(out.join("kernel.unavailable"), format!("{e:#}\n"))?;
        }
    }

    let mut flags: Vec<&str> = Vec::new();
    if quick {
        flags.push("--quick");
    }
    // Group `net` boots the kernel itself (through `cargo xtask qemu --hostfwd`).
    if kernel {
        flags.push("--kernel");
    }
    cmd!(
        sh,
        "{cargo} run --release --manifest-path {manifest} -- {flags...} --out {OUT}"
    )
    .run()?;
    Ok(())
}

/// Boots the kernel in QEMU (TCG, `-cpu max`) with `wasm_dir` as `/bench` and runs its `bench`
/// shell command on the workloads module (`--quick`: one timed call per runtime and case; else a
/// warm-up and three timed calls). Returns the rows it printed, one JSON object per line, after a
/// first line saying how they were taken.
fn kernel_bench(sh: &Shell, wasm_dir: &Path, quick: bool) -> Result<String> {
    eprintln!(
        "bench: the kernel's bench command in QEMU (minutes: TCG emulates every instruction)"
    );
    let root = crate::project_root();
    qemu::ensure_qemu(sh)?;
    let image = qemu::build_kernel(sh, &root)?;
    let opts = qemu::Options {
        dirs: vec![(root.join(wasm_dir), "/bench".to_string())],
        // Measured here: about 2 minutes for --quick, 4x that for a full run; generous for a slower
        // or busier machine.
        timeout: Duration::from_secs(if quick { 1200 } else { 3600 }),
        ..qemu::Options::default()
    };
    let initrd = qemu::build_initrd(&root, &opts.dirs)?;
    let command = qemu::qemu_command(&opts, &image, &initrd);
    let line = if quick { "bench --quick" } else { "bench" };
    let llm_line = if quick {
        "bench --llm --quick"
    } else {
        "bench --llm"
    };
    let packages = if quick {
        "bench-pkg --quick /bench/go-hello.wap"
    } else {
        "bench-pkg /bench/go-hello.wap"
    };
    let outcome = integration::run_script(
        command,
        &[line, packages, llm_line, "exit"],
        qemu::PROMPT,
        opts.timeout,
    );
    let _ = std::fs::remove_file(&initrd);
    let outcome = outcome.context("running the kernel in QEMU")?;
    let transcript = outcome.transcript;
    sh.write_file(PathBuf::from(OUT).join("kernel-console.txt"), &transcript)?;
    let rows: Vec<&str> = transcript
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("{\"group\": "))
        .collect();
    // The bench binary checks that every case is there on both runtimes; a run that printed no row
    // at all failed early, and its console says why.
    ensure!(
        !rows.is_empty() && outcome.exit_code == Some(0),
        "the kernel's `{line}` printed no rows (exit status {:?}); its console ended with:\n{}",
        outcome.exit_code,
        last_lines(&transcript, 8)
    );
    let calls = if quick {
        "one timed call per runtime and case"
    } else {
        "a warm-up, then the median of 3 timed calls per runtime and case"
    };
    let how = format!(
        "{{\"how\": \"`{line}` ({calls}) in the kernel under QEMU TCG (-cpu {}), booted by cargo xtask bench in this run\"}}",
        opts.cpu
    );
    Ok(format!("{how}\n{}\n", rows.join("\n")))
}

/// Copies the models of group `llm` into `<wasm_dir>/llm/` (the kernel's `/bench/llm`):
/// stories260K from `../shared/llm/` when it is there (never committed; the bench notes its
/// absence) and the project's default model from `models/tinystories/`.
fn stage_llm_models(sh: &Shell, wasm_dir: &Path) -> Result<()> {
    let dir = wasm_dir.join("llm");
    let _ = sh.remove_path(&dir);
    sh.create_dir(dir.join("tinystories"))?;
    let root = crate::project_root();
    let shared = root.join("../shared/llm/stories260K.bin");
    if shared.exists() {
        sh.copy_file(&shared, dir.join("stories260K.bin"))?;
    } else {
        eprintln!(
            "bench: {} is missing: the stories260K cases are not measured",
            shared.display()
        );
    }
    for f in ["model.bin", "tokenizer.bin"] {
        sh.copy_file(
            root.join("models/tinystories").join(f),
            dir.join("tinystories").join(f),
        )?;
    }
    Ok(())
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Records why a startup module could not be built, for the report.
fn unavailable(sh: &Shell, wasm_dir: &Path, stem: &str, e: &anyhow::Error) -> Result<()> {
    eprintln!("bench: {stem} unavailable: {e:#}");
    let _ = sh.remove_path(wasm_dir.join(format!("{stem}.wasm")));
    sh.write_file(
        wasm_dir.join(format!("{stem}.unavailable")),
        format!("{e:#}\n"),
    )?;
    Ok(())
}

/// Installs clang + wasi-libc if needed and compiles `startup/hello.c`. Returns the compiler version.
fn build_c(sh: &Shell, wasm_dir: &Path) -> Result<String> {
    let _ = sh.remove_path(wasm_dir.join("hello_c.unavailable"));
    crate::tools::ensure_wasi_c_toolchain(sh)?;
    let clang = crate::tools::on_path("clang").context("clang not on PATH after installing it")?;
    let clang = std::fs::canonicalize(&clang)?;
    // clang 14 runs `wasm-opt` after linking whenever it finds one on PATH (it has no switch to turn
    // that off), so it gets only its own directory on PATH, which never holds binaryen, and the
    // linker by absolute path (Debian's clang otherwise looks for `wasm-ld-14` on PATH). The module is
    // then the same on every machine.
    let clang_dir = clang
        .parent()
        .context("clang has no directory")?
        .to_path_buf();
    let linker = format!("-fuse-ld={}", clang_dir.join("wasm-ld").display());
    let out = wasm_dir.join("hello_c.wasm");
    cmd!(sh, "{clang} --target=wasm32-wasi -O2 {linker} -Wl,--strip-all -o {out} kernel-wasm/bench/startup/hello.c")
        .env("PATH", &clang_dir)
        .run()
        .context("clang --target=wasm32-wasi")?;
    let version = cmd!(sh, "{clang} --version").read()?;
    Ok(format!(
        "C startup module: {}",
        version.lines().next().unwrap_or("clang").trim()
    ))
}

/// Builds `startup/hello.go` for wasip1 (installing Go if needed). Returns the Go version.
fn build_go(sh: &Shell, wasm_dir: &Path) -> Result<String> {
    let _ = sh.remove_path(wasm_dir.join("hello_go.unavailable"));
    let root = crate::project_root();
    let version = crate::tools::go_build_wasip1(
        sh,
        &root.join("kernel-wasm/bench/startup/hello.go"),
        &root.join(wasm_dir).join("hello_go.wasm"),
    )?;
    Ok(format!("Go startup module: {version}"))
}
