//! The shell's package commands: `pkg-list`, `pkg-install`, `pkg-uninstall`, `pkg-info`, and
//! the lookup `wasm-run` and `agent-spawn` use to run an installed package by name. Packages live
//! under [`DEFAULT_ROOT`] of the shell's file system and are verified against the trust store the
//! host gave [`Shell::set_packages`] (the kernel: its built-in trust root).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::commands::{read_bounded, usage};
use super::{Shell, ShellStatus};
use crate::error::{Error, Result};
use crate::package::manager::valid_package_name;
use crate::package::{
    report, verify, InstallOptions, LoadedPackage, Manager, Signer, TrustStore, BOOT_DIR,
    DEFAULT_ROOT, MAX_PACKAGE_BYTES,
};

/// What the shell trusts.
#[derive(Debug, Clone, Default)]
pub struct PackageSettings {
    pub trust: TrustStore,
    /// Accept unsigned and untrusted packages (with a warning line each time), as if every
    /// `pkg-install` had `--allow-unsigned`.
    pub allow_unsigned: bool,
}

fn package_error(package: &str, error: crate::package::PackageError) -> Error {
    Error::Package {
        package: String::from(package),
        error,
    }
}

impl Shell {
    /// Sets the trust store `pkg-install` and package loading use (none is set by default:
    /// then every signed package is from an unknown key).
    pub fn set_packages(&mut self, trust: TrustStore, allow_unsigned: bool) {
        self.packages = PackageSettings {
            trust,
            allow_unsigned,
        };
    }

    /// Installs every `*.wap` of [`BOOT_DIR`] (what the kernel does at boot with its initrd, and
    /// `kwasm shell --packages` with a host directory); returns the lines to print.
    pub fn install_boot_packages(&self) -> Vec<String> {
        let vfs = &*self.platform.vfs;
        let manager = Manager::new(vfs, DEFAULT_ROOT);
        crate::package::boot::install_dir(
            vfs,
            BOOT_DIR,
            &manager,
            &self.runtime,
            &self.packages.trust,
            self.packages.allow_unsigned,
        )
    }

    /// The installed package `word` names, loaded and checked, if `word` is a package name (no
    /// `/`) that is installed; its warning line (unsigned ...) is printed.
    pub(super) fn installed_package(&self, word: &str) -> Result<Option<LoadedPackage>> {
        let vfs = &*self.platform.vfs;
        let manager = Manager::new(vfs, DEFAULT_ROOT);
        if !valid_package_name(word) || !manager.is_installed(word) {
            return Ok(None);
        }
        let loaded = manager
            .load(word, Some(&self.packages.trust))
            .map_err(|e| package_error(word, e))?;
        if let Some(warning) = &loaded.warning {
            self.print(&format!("warning: {warning}\n"));
        }
        Ok(Some(loaded))
    }
}

pub(super) fn list(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    if !args.is_empty() {
        return Err(usage("pkg-list"));
    }
    let manager = Manager::new(&*shell.platform.vfs, DEFAULT_ROOT);
    let packages = manager.list().map_err(|e| package_error(DEFAULT_ROOT, e))?;
    shell.print(&report::list(&packages));
    Ok(ShellStatus::Continue)
}

pub(super) fn install(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let mut force = false;
    let mut allow_unsigned = shell.packages.allow_unsigned;
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        match *first {
            "--force" => force = true,
            "--allow-unsigned" => allow_unsigned = true,
            option if option.starts_with("--") => return Err(usage("pkg-install")),
            _ => break,
        }
        rest = tail;
    }
    let [path] = rest else {
        return Err(usage("pkg-install"));
    };
    let bytes = read_bounded(shell, "pkg-install", path, MAX_PACKAGE_BYTES as u64)?;
    let abs = shell.absolute(path);
    let package = verify(&bytes, &shell.packages.trust, allow_unsigned)
        .map_err(|e| package_error(&abs, e))?;
    for warning in &package.warnings {
        shell.print(&format!("warning: {abs}: {warning}\n"));
    }
    let manager = Manager::new(&*shell.platform.vfs, DEFAULT_ROOT);
    let installed = manager
        .install(&package, &shell.runtime, InstallOptions { force })
        .map_err(|e| package_error(&abs, e))?;
    let signer = match &package.signer {
        Signer::Trusted(key) => format!("key {} {}", key.id, key.name),
        Signer::Unverified { key: Some(key) } => format!("key {key}, not trusted"),
        Signer::Unverified { key: None } => String::from("unsigned"),
    };
    let was = installed
        .previous
        .map(|v| format!(", was {v}"))
        .unwrap_or_default();
    shell.print(&format!(
        "{} {} installed ({signer}{was})\n",
        installed.name, installed.version
    ));
    Ok(ShellStatus::Continue)
}

pub(super) fn uninstall(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let [name] = args else {
        return Err(usage("pkg-uninstall"));
    };
    let manager = Manager::new(&*shell.platform.vfs, DEFAULT_ROOT);
    let version = manager
        .uninstall(name)
        .map_err(|e| package_error(name, e))?;
    shell.print(&format!("{name} {version} uninstalled\n"));
    Ok(ShellStatus::Continue)
}

pub(super) fn info(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let [name] = args else {
        return Err(usage("pkg-info"));
    };
    let manager = Manager::new(&*shell.platform.vfs, DEFAULT_ROOT);
    let info = manager.info(name).map_err(|e| package_error(name, e))?;
    shell.print(&report::info(&info));
    Ok(ShellStatus::Continue)
}
