//! `cargo xtask demo`: boots the kernel in QEMU with the example modules, runs a short scripted
//! tour on its shell, then hands the same boot to the user.
//!
//! ```text
//! cargo xtask demo                  # tour, then the interactive shell (Ctrl-D or `exit` ends it)
//! cargo xtask demo --script FILE    # FILE instead of the tour; exits with the script's status
//! cargo xtask demo --host           # the tour through `kwasm shell` on the host, no QEMU
//! cargo xtask demo --build-only     # build what the demo boots with, and stop
//! ```
//!
//! Building (the kernel, kwasm, the guest templates, the signed packages, the fixtures) runs as
//! `demo --build-only` in a child process whose output goes to `target/demo/build.log`, shown
//! only when it fails: the demo's own output is one line per step, then the console.
//!
//! The kernel boots with the signed packages of `cargo xtask packages` (installed at boot) and
//! these directories ([`dirs`]): the compiled fixtures (`target/fixtures`, see `fixtures.rs`)
//! under `/bin`, the agent fixtures under `/agents`, `integration/data/files` under `/data` (where
//! the tour's WASI program writes). The project's own model comes from its signed package
//! `tinystories`, the default model the kernel loads at boot (no `/llm` mount). The tour is
//! `integration/scripts/tour.sh`, which the integration tests snapshot with the same directories,
//! so the demo cannot rot silently. When stdin is not a terminal (CI, pipes) the session ends
//! after the tour with `exit 0` instead of waiting for input.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use integration::{DriverError, Session, BOOT_HEADER};
use xshell::{cmd, Shell};

use crate::qemu::{self, Options, PROMPT};
use crate::{fixtures, step};

const TOUR: &str = include_str!("../../integration/scripts/tour.sh");
const USAGE: &str = "usage: cargo xtask demo [--script FILE] [--host] [--build-only]";
/// Where the build's output goes (relative to the project root).
const BUILD_LOG: &str = "target/demo/build.log";
/// Deadline for the scripted part (boot included); the interactive part has none.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let mut script: Option<PathBuf> = None;
    let mut host = false;
    let mut build_only = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--script" => {
                script = Some(it.next().context("--script needs a file")?.into());
            }
            "--host" => host = true,
            "--build-only" => build_only = true,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if build_only {
        return build(sh, host).map(|_| ());
    }
    let text = match &script {
        Some(path) => {
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => TOUR.to_string(),
    };
    let lines = integration::script_lines(text.lines());
    let built = build_quietly(host)?;
    let dirs = dirs(&built.fixtures);
    let code = if host {
        host_tour(sh, &built, &dirs, &lines)?
    } else {
        qemu_tour(&built, &dirs, &lines, script.is_some())?
    };
    std::process::exit(code);
}

/// What the demo boots with, once built.
#[derive(Debug, PartialEq)]
struct Built {
    fixtures: PathBuf,
    packages: PathBuf,
    kwasm: PathBuf,
    /// The kernel image (not with `--host`).
    image: Option<PathBuf>,
}

impl Built {
    /// Where [`build`] puts everything.
    fn at(root: &Path, host: bool) -> Built {
        Built {
            fixtures: root.join("target/fixtures"),
            packages: root.join(crate::packages::OUT_DIR),
            kwasm: root.join("target/debug/kwasm"),
            image: (!host).then(|| qemu::image_path(root)),
        }
    }
}

/// Builds everything the demo needs (`demo --build-only`), installing what is missing (QEMU).
fn build(sh: &Shell, host: bool) -> Result<Built> {
    let root = crate::project_root();
    let built = Built {
        fixtures: fixtures::build(sh)?,
        // Builds kwasm and the guest templates too.
        packages: crate::packages::build(sh)?,
        kwasm: crate::packages::kwasm(sh)?,
        image: if host {
            None
        } else {
            qemu::ensure_qemu(sh)?;
            Some(qemu::build_kernel(sh, &root)?)
        },
    };
    // The demo itself looks where `Built::at` says (it runs this in a child process).
    let expected = Built::at(&root, host);
    if built != expected {
        bail!("the build's output {built:?} is not where the demo looks: {expected:?}");
    }
    Ok(built)
}

/// Runs [`build`] as `demo --build-only` in a child process with its output in [`BUILD_LOG`];
/// on failure, prints the log's end.
fn build_quietly(host: bool) -> Result<Built> {
    let root = crate::project_root();
    let log_path = root.join(BUILD_LOG);
    fs::create_dir_all(log_path.parent().context("the log has a directory")?)?;
    let log =
        fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    step(&format!(
        "building the kernel, the example modules and the signed packages (the first run \
         installs tools and takes minutes; log: {BUILD_LOG})"
    ));
    let mut child = Command::new(std::env::current_exe().context("finding xtask")?);
    child.current_dir(&root).args(["demo", "--build-only"]);
    if host {
        child.arg("--host");
    }
    let status = child
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running xtask demo --build-only")?;
    if !status.success() {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{line}");
        }
        bail!("building failed ({status}); the whole log is {BUILD_LOG}");
    }
    Ok(Built::at(&root, host))
}

/// The directories the demo mounts, as (host, guest); `integration/tests/snapshots.rs` boots the
/// tour with the same ones. (No model directory: the model is the `tinystories` package.)
fn dirs(fixtures: &Path) -> Vec<(PathBuf, String)> {
    let root = crate::project_root();
    vec![
        (fixtures.to_path_buf(), "/bin".to_string()),
        (fixtures.join("agents"), "/agents".to_string()),
        (root.join("integration/data/files"), "/data".to_string()),
    ]
}

/// The lines through `kwasm shell` on the host, with the same directories.
fn host_tour(sh: &Shell, built: &Built, dirs: &[(PathBuf, String)], lines: &[&str]) -> Result<i32> {
    let kwasm = &built.kwasm;
    let mut dir_args: Vec<String> = dirs
        .iter()
        .flat_map(|(host, guest)| ["--dir".to_string(), format!("{}::{guest}", host.display())])
        .collect();
    // The packages the kernel installs at boot, with the key it trusts.
    let packages = &built.packages;
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
    built: &Built,
    dirs: &[(PathBuf, String)],
    lines: &[&str],
    is_script: bool,
) -> Result<i32> {
    let root = crate::project_root();
    let image = built.image.as_ref().context("the kernel was not built")?;
    let mut packed = dirs.to_vec();
    packed.push((built.packages.clone(), qemu::BOOT_PACKAGES.to_string()));
    let initrd = qemu::build_initrd(&root, &packed)?;
    let opts = Options {
        dirs: dirs.to_vec(),
        ..Options::default()
    };
    let command = qemu::qemu_command(&opts, image, &initrd);
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

    /// What the tour runs by name (`wasm-run NAME`, `agent-spawn NAME`) is a package that
    /// `cargo xtask packages` builds, so the kernel has installed it at boot.
    #[test]
    fn tour_runs_only_built_packages() {
        let names: Vec<&str> = crate::packages::PACKAGES.iter().map(|p| p.name).collect();
        let mut used = 0;
        for line in integration::script_lines(TOUR.lines()) {
            let mut words = line.split_whitespace();
            if !matches!(words.next(), Some("wasm-run" | "agent-spawn")) {
                continue;
            }
            // The first word that is not an option or an option's value.
            let mut target = None;
            while let Some(word) = words.next() {
                if word.starts_with("--") && word != "--" {
                    words.next();
                } else {
                    target = Some(word);
                    break;
                }
            }
            let target = target.unwrap_or_else(|| panic!("nothing to run in {line:?}"));
            if !target.contains('/') {
                assert!(
                    names.contains(&target),
                    "the tour runs {target}, not a package"
                );
                used += 1;
            }
        }
        assert!(used >= 8, "the tour runs {used} packages");
    }

    #[test]
    fn demo_directories_exist() {
        for (host, guest) in dirs(Path::new("target/fixtures")) {
            if guest != "/bin" && guest != "/agents" {
                assert!(host.is_dir(), "{} ({guest})", host.display());
            }
        }
    }
}
