//! Installing the tools the tasks need, idempotently: rustup targets and components now; apt
//! packages for the tasks that need them.

use anyhow::Result;
use xshell::{cmd, Shell};

/// Adds rustup targets that are not installed yet.
pub fn rustup_targets(sh: &Shell, targets: &[&str]) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed").read()?;
    for target in targets {
        if !installed.lines().any(|l| l.trim() == *target) {
            crate::step(&format!("rustup target add {target}"));
            cmd!(sh, "rustup target add {target}").run()?;
        }
    }
    Ok(())
}

/// Adds rustup components that are not installed yet.
pub fn rustup_components(sh: &Shell, components: &[&str]) -> Result<()> {
    let installed = cmd!(sh, "rustup component list --installed").read()?;
    for component in components {
        if !installed.lines().any(|l| l.starts_with(component)) {
            crate::step(&format!("rustup component add {component}"));
            cmd!(sh, "rustup component add {component}").run()?;
        }
    }
    Ok(())
}

/// Installs Debian packages with apt (CI runs as root on Debian 12). Refreshes the package lists
/// first: a fresh machine may have none.
pub fn apt_install(sh: &Shell, packages: &[&str]) -> Result<()> {
    crate::step(&format!("apt-get install {}", packages.join(" ")));
    cmd!(sh, "apt-get update -qq")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    cmd!(sh, "apt-get install -y -qq {packages...}")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    Ok(())
}
