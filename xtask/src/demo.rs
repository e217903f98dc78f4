//! `cargo xtask demo`: boots the kernel in QEMU with the example modules, runs a short scripted
//! tour on its shell, then hands the same boot to the user.
//!
//! ```text
//! cargo xtask demo                  # tour, then the interactive shell (Ctrl-D or `exit` ends it)
//! cargo xtask demo --script FILE    # FILE instead of the tour; exits with the script's status
//! cargo xtask demo --host           # the tour through `kwasm shell` on the host, no QEMU
//! ```
//!
//! The modules are the compiled fixtures (`target/fixtures`, see `fixtures.rs`) under `/bin`
//! and the agent fixtures under `/agents`. The tour is `integration/scripts/tour.sh`, which the
//! integration tests snapshot, so the demo cannot rot silently. When stdin is not a terminal
//! (CI, pipes) the session ends after the tour with `exit 0` instead of waiting for input.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use integration::{DriverError, Session, BOOT_HEADER};
use xshell::{cmd, Shell};

use crate::qemu::{self, Options, PROMPT};
use crate::{fixtures, step};

const TOUR: &str = include_str!("../../integration/scripts/tour.sh");
const USAGE: &str = "usage: cargo xtask demo [--script FILE] [--host]";
/// Deadline for the scripted part (boot included); the interactive part has none.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let mut script: Option<PathBuf> = None;
    let mut host = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--script" => {
                script = Some(it.next().context("--script needs a file")?.into());
            }
            "--host" => host = true,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let text = match &script {
        Some(path) => {
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => TOUR.to_string(),
    };
    let lines = integration::script_lines(text.lines());
    let fixtures = fixtures::build(sh)?;
    let dirs = vec![
        (fixtures.clone(), "/bin".to_string()),
        (fixtures.join("agents"), "/agents".to_string()),
    ];
    let code = if host {
        host_tour(sh, &dirs, &lines)?
    } else {
        qemu_tour(sh, &dirs, &lines, script.is_some())?
    };
    std::process::exit(code);
}

/// The lines through `kwasm shell` on the host, with the same directories.
fn host_tour(sh: &Shell, dirs: &[(PathBuf, String)], lines: &[&str]) -> Result<i32> {
    step("building kwasm");
    cmd!(sh, "cargo build --quiet -p kwasm").run()?;
    let kwasm = crate::project_root().join("target/debug/kwasm");
    let mut dir_args: Vec<String> = dirs
        .iter()
        .flat_map(|(host, guest)| ["--dir".to_string(), format!("{}::{guest}", host.display())])
        .collect();
    // The packages the kernel installs at boot, with the key it trusts.
    let packages = crate::packages::build(sh)?;
    let trust = crate::project_root().join(crate::packages::DEV_PUBLIC_KEY);
    dir_args.extend([
        "--packages".to_string(),
        packages.display().to_string(),
        "--trust".to_string(),
        trust.display().to_string(),
    ]);
    step("kwasm shell");
    let mut input = lines.join("\n");
    input.push('\n');
    let out = cmd!(sh, "{kwasm} shell {dir_args...}")
        .stdin(input)
        .ignore_status()
        .quiet()
        .output()?;
    std::io::stdout().write_all(&out.stdout)?;
    std::io::stderr().write_all(&out.stderr)?;
    Ok(out.status.code().unwrap_or(1))
}

/// Boots the kernel, types `lines` (printing the console as it goes), then either hands the
/// console to the user (the tour on a terminal), ends with `exit 0` (the tour without one), or
/// ends like `xtask qemu --script` (a script: Ctrl-D after the last line).
fn qemu_tour(
    sh: &Shell,
    dirs: &[(PathBuf, String)],
    lines: &[&str],
    is_script: bool,
) -> Result<i32> {
    let root = crate::project_root();
    qemu::ensure_qemu(sh)?;
    let image = qemu::build_kernel(sh, &root)?;
    let mut packed = dirs.to_vec();
    packed.push((crate::packages::build(sh)?, qemu::BOOT_PACKAGES.to_string()));
    let initrd = qemu::build_initrd(&root, &packed)?;
    let opts = Options {
        dirs: dirs.to_vec(),
        ..Options::default()
    };
    let command = qemu::qemu_command(&opts, &image, &initrd);
    step("booting the SIS kernel in QEMU");
    let interactive = !is_script && std::io::stdin().is_terminal();
    let result = drive(command, lines, is_script, interactive);
    let _ = fs::remove_file(&initrd);
    match result {
        Ok(code) => Ok(code),
        Err(e @ DriverError::Timeout { .. }) => {
            eprintln!("\nxtask demo: {e}");
            Ok(124)
        }
        Err(e) => Err(e).context("running qemu-system-aarch64"),
    }
}

fn drive(
    command: Command,
    lines: &[&str],
    is_script: bool,
    interactive: bool,
) -> Result<i32, DriverError> {
    let mut session = Session::spawn(command, SCRIPT_TIMEOUT)?;
    let mut out = std::io::stdout();
    let mut show = |text: &str| {
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    };
    let fed = (|| {
        show(&session.wait_for(BOOT_HEADER)?);
        for line in lines {
            show(&session.wait_for(PROMPT)?);
            session.send_line(line)?;
        }
        let last = session.wait_for(PROMPT)?;
        if interactive {
            show(last.strip_suffix(PROMPT).unwrap_or(&last));
            return Ok(true);
        }
        show(&last);
        if is_script {
            // Like `xtask qemu --script`: Ctrl-D on an empty line ends the session (status 0).
            let _ = session.send(b"\x04");
        } else {
            session.send_line("exit 0")?;
        }
        Ok(false)
    })();
    let status = match fed {
        Ok(true) => {
            show("\n(the same boot, now interactive: try `help`; `exit` or Ctrl-D on an empty line ends it)\n");
            show(PROMPT);
            let saved = raw_terminal();
            let status = session.interact();
            restore_terminal(saved);
            status?
        }
        // A script may `exit` before its last line: the kernel is gone, which is fine.
        Ok(false) | Err(DriverError::Eof { .. }) => {
            let status = session.wait_exit()?;
            show(&session.take_pending());
            status
        }
        Err(e) => return Err(e),
    };
    Ok(status.code().unwrap_or(1))
}

/// Puts the terminal in raw mode without echo (the kernel's line editor echoes and handles
/// Ctrl-C, Ctrl-D, …); returns the previous settings. `None` when `stty` is unavailable.
fn raw_terminal() -> Option<String> {
    let saved = Command::new("stty")
        .arg("-g")
        .stdin(Stdio::inherit())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let saved = String::from_utf8_lossy(&saved.stdout).trim().to_string();
    let _ = Command::new("stty")
        .args(["raw", "-echo"])
        .stdin(Stdio::inherit())
        .status();
    Some(saved)
}

fn restore_terminal(saved: Option<String>) {
    if let Some(saved) = saved {
        let _ = Command::new("stty")
            .arg(saved)
            .stdin(Stdio::inherit())
            .status();
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn tour_uses_only_shipped_modules() {
        let fixtures = crate::project_root().join("kernel-wasm/tests/fixtures");
        let lines = integration::script_lines(TOUR.lines());
        assert!(lines.len() >= 8, "{lines:?}");
        assert!(
            !lines.iter().any(|l| l.starts_with("exit")),
            "the tour must not exit"
        );
        for word in lines.iter().flat_map(|l| l.split_whitespace()) {
            for (prefix, dir) in [("/bin/", ""), ("/agents/", "agents/")] {
                if let Some(name) = word.strip_prefix(prefix) {
                    let wat = Path::new(name).with_extension("wat");
                    assert!(
                        fixtures.join(dir).join(&wat).is_file(),
                        "the tour uses {word}, which has no fixture"
                    );
                }
            }
        }
    }
}
