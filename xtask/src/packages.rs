//! `cargo xtask packages`: builds and signs every package of [`PACKAGES`] into `packages/out/`
//! with the development key of `packages/keys/` — through `kwasm pkg build` and `kwasm pkg sign`,
//! the tools a user has.
//!
//! Adding a package is one entry of [`PACKAGES`] plus its `packages/NAME/manifest.toml`.
//! `cargo xtask qemu` (and so the demo and the integration tests) boots with `packages/out/*.wap`
//! in the initrd, where the kernel installs them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// Where the signed packages go (build output, not committed).
pub const OUT_DIR: &str = "packages/out";
/// The development key pair: NOT a release key (see packages/keys/README.md).
pub const DEV_SECRET_KEY: &str = "packages/keys/development.key";
pub const DEV_PUBLIC_KEY: &str = "packages/keys/development.pub";

/// Where a package's `module.wasm` comes from.
pub enum Module {
    /// A WAT file (path from the repository root), compiled here.
    Wat(&'static str),
    /// A Go program of one file (path from the repository root), built for `GOOS=wasip1`.
    Go(&'static str),
    /// A module built by another step, which returns its path.
    #[allow(dead_code)]
    Built(fn(&Shell) -> Result<PathBuf>),
    /// A guest SDK template, `guests/LANG/examples/EXAMPLE` (built by `cargo xtask guests`); its
    /// manifest is the template's own `manifest.toml`, not one under packages/.
    Guest {
        lang: &'static str,
        example: &'static str,
    },
}

/// One package: `packages/NAME/manifest.toml` (whose `name` must be NAME), its module, and its
/// assets as (name under `assets/`, path from the repository root).
pub struct Package {
    pub name: &'static str,
    pub module: Module,
    pub assets: &'static [(&'static str, &'static str)],
}

/// A guest SDK template as a package: `EXAMPLE-LANG`, the `name` of its manifest.
macro_rules! guest {
    ($name:literal, $lang:literal, $example:literal) => {
        Package {
            name: $name,
            module: Module::Guest {
                lang: $lang,
                example: $example,
            },
            assets: &[],
        }
    };
}

/// Every package `cargo xtask packages` builds.
pub const PACKAGES: &[Package] = &[
    Package {
        name: "hello",
        module: Module::Wat("kernel-wasm/tests/fixtures/hello.wat"),
        assets: &[],
    },
    Package {
        name: "pong",
        module: Module::Wat("kernel-wasm/tests/fixtures/agents/pong.wat"),
        assets: &[],
    },
    Package {
        name: "go-hello",
        module: Module::Go("kernel-wasm/tests/wasi-programs/go/hello.go"),
        assets: &[],
    },
    // The default model as a model package (docs/llm.md): the checkpoint and the tokenizer as
    // the assets the kernel's boot looks for (kernel_wasm::llm::boot), its LoRA adapter `rainy`
    // (a PEFT directory: `llm-load-lora /pkg/tinystories/1/assets/rainy`), and the `complete`
    // command as its module.
    Package {
        name: "tinystories",
        module: Module::Wat("kernel-wasm/tests/fixtures/llm/complete.wat"),
        assets: &[
            ("model.bin", "models/tinystories/model.bin"),
            (
                "rainy/adapter_config.json",
                "models/tinystories/rainy/adapter_config.json",
            ),
            (
                "rainy/adapter_model.safetensors",
                "models/tinystories/rainy/adapter_model.safetensors",
            ),
            ("tokenizer.bin", "models/tinystories/tokenizer.bin"),
        ],
    },
    // The guest SDK templates (docs/guests.md).
    guest!("hello-rust", "rust", "hello"),
    guest!("echo-rust", "rust", "echo"),
    guest!("ping-rust", "rust", "ping"),
    guest!("hello-c", "c", "hello"),
    guest!("echo-c", "c", "echo"),
    guest!("ping-c", "c", "ping"),
    guest!("hello-go", "go", "hello"),
    guest!("echo-go", "go", "echo"),
    guest!("ping-go", "go", "ping"),
    guest!("hello-assemblyscript", "assemblyscript", "hello"),
    guest!("echo-assemblyscript", "assemblyscript", "echo"),
    guest!("ping-assemblyscript", "assemblyscript", "ping"),
    guest!("llm-ask-rust", "rust", "llm-ask"),
    guest!("llm-ask-c", "c", "llm-ask"),
    guest!("llm-ask-go", "go", "llm-ask"),
    guest!("llm-ask-assemblyscript", "assemblyscript", "llm-ask"),
];

/// Builds `kwasm` (debug) and returns its path.
pub fn kwasm(sh: &Shell) -> Result<PathBuf> {
    cmd!(sh, "cargo build --quiet -p kwasm")
        .run()
        .context("building kwasm")?;
    Ok(crate::project_root().join("target/debug/kwasm"))
}

/// Whether `out` exists and is newer than `source`.
fn up_to_date(out: &Path, source: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(out), modified(source)), (Some(o), Some(s)) if o >= s)
}

fn module_bytes(sh: &Shell, package: &Package, work: &Path) -> Result<Vec<u8>> {
    let root = crate::project_root();
    match &package.module {
        Module::Wat(path) => {
            let path = root.join(path);
            wat::parse_file(&path).with_context(|| format!("compiling {}", path.display()))
        }
        Module::Go(path) => {
            let source = root.join(path);
            let out = work.join("go.wasm");
            if !up_to_date(&out, &source) {
                crate::step(&format!("go wasip1 {path}"));
                crate::tools::go_build_wasip1(sh, &source, &out)?;
            }
            std::fs::read(&out).with_context(|| format!("reading {}", out.display()))
        }
        Module::Built(build) => {
            let path = build(sh)?;
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
        }
        Module::Guest { lang, example } => {
            // Built once for all of them, before the loop (`build`).
            let path = crate::guests::module_path(lang, example);
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
        }
    }
}

/// Where a package's manifest is: `packages/NAME/manifest.toml`, or a guest template's own.
fn manifest_path(package: &Package) -> PathBuf {
    let root = crate::project_root();
    match package.module {
        Module::Guest { lang, example } => root
            .join("guests")
            .join(lang)
            .join("examples")
            .join(example)
            .join("manifest.toml"),
        _ => root
            .join("packages")
            .join(package.name)
            .join("manifest.toml"),
    }
}

/// Builds and signs every package; returns `packages/out`.
pub fn build(sh: &Shell) -> Result<PathBuf> {
    let root = crate::project_root();
    let kwasm = kwasm(sh)?;
    let out = root.join(OUT_DIR);
    sh.create_dir(&out)?;
    let key = root.join(DEV_SECRET_KEY);
    if PACKAGES
        .iter()
        .any(|p| matches!(p.module, Module::Guest { .. }))
    {
        crate::guests::build(sh)?;
    }
    for package in PACKAGES {
        let name = package.name;
        let manifest_path = manifest_path(package);
        let manifest = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let declared = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'));
        if declared != Some(name) {
            bail!(
                "{}: name must be {name:?} (the table entry), found {declared:?}",
                manifest_path.display()
            );
        }
        // The package directory `kwasm pkg build` packs, staged under target/.
        let work = root.join("target/packages").join(name);
        let stage = work.join("dir");
        if stage.exists() {
            std::fs::remove_dir_all(&stage)?;
        }
        sh.create_dir(stage.join("assets"))?;
        std::fs::write(stage.join("manifest.toml"), &manifest)?;
        let module = module_bytes(sh, package, &work)?;
        std::fs::write(stage.join("module.wasm"), module)?;
        for (asset, from) in package.assets {
            let from = root.join(from);
            let to = stage.join("assets").join(asset);
            if let Some(parent) = to.parent() {
                sh.create_dir(parent)?;
            }
            std::fs::copy(&from, &to)
                .with_context(|| format!("copying asset {}", from.display()))?;
        }
        let wap = out.join(format!("{name}.wap"));
        cmd!(sh, "{kwasm} pkg build {stage} -o {wap}")
            .quiet()
            .ignore_stdout()
            .run()?;
        cmd!(sh, "{kwasm} pkg sign {wap} --key {key}")
            .quiet()
            .ignore_stdout()
            .run()?;
        let size = std::fs::metadata(&wap)?.len();
        // On stderr: `xtask qemu --script` prints only the console on stdout.
        eprintln!("{}: {size} bytes, signed", wap.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table entry has its manifest, and names are unique.
    #[test]
    fn every_package_has_a_manifest() {
        let mut names: Vec<&str> = PACKAGES.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PACKAGES.len());
        for package in PACKAGES {
            let path = manifest_path(package);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains(&format!("name = \"{}\"", package.name)),
                "{}",
                path.display()
            );
        }
    }
}
