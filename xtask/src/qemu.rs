//! `cargo xtask qemu`: build the kernel, pack the initrd, boot it in QEMU (installing QEMU when
//! missing), interactively or driven by a script.
//!
//! ```text
//! cargo xtask qemu [--dir HOST_DIR::GUEST_DIR]... [--script FILE] [--cpu MODEL]
//!                  [--timeout SECS] [--memory SIZE] [--append ARGS] [--gdb]
//!                  [--packages DIR | --no-packages] [--net] [--hostfwd HOST_PORT:GUEST_PORT]...
//! ```
//!
//! `--net` adds a virtio-net device on QEMU's user networking (the kernel is 10.0.2.15, the
//! host's loopback is 10.0.2.2) and forwards host port 127.0.0.1:8080 to the kernel's port 8080;
//! `--hostfwd H:G` (repeatable, implies `--net`) forwards 127.0.0.1:H to the kernel's port G
//! instead. Forwarded ports are bound on the host's loopback only.
//!
//! The initrd holds the signed packages under `/boot/packages`, which the kernel installs at
//! boot: by default those `cargo xtask packages` builds (built first, `packages/out/*.wap`),
//! `--packages DIR` those of DIR instead, `--no-packages` none.
//!
//! The console-driving logic (wait for the prompt, feed a line, collect the transcript) lives in
//! the `integration` crate so the integration tests use exactly the same code.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::initrd::{elf_to_flat, CpioWriter};

/// The shell prompt the script driver waits for before sending each line.
pub const PROMPT: &str = "sis> ";
pub const TARGET: &str = "aarch64-unknown-none";
/// Where the kernel build goes, relative to the project root.
pub const TARGET_DIR: &str = "target/qemu";

const USAGE: &str = "usage: cargo xtask qemu [--dir HOST_DIR::GUEST_DIR]... [--script FILE] \
                     [--cpu MODEL] [--timeout SECS] [--memory SIZE] [--append ARGS] [--gdb] \
                     [--packages DIR | --no-packages] [--net] [--hostfwd HOST_PORT:GUEST_PORT]...";

/// Where the kernel finds the packages of its initrd (`kernel_wasm::package::BOOT_DIR`).
pub const BOOT_PACKAGES: &str = "/boot/packages";

/// Which packages the initrd holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Packages {
    /// `cargo xtask packages`' output, built first.
    Built,
    /// The `*.wap` files of a directory.
    Dir(PathBuf),
    None,
}

impl Packages {
    /// The directory to pack at [`BOOT_PACKAGES`] (building the packages when needed).
    pub fn dir(&self, sh: &Shell) -> Result<Option<PathBuf>> {
        match self {
            Packages::Built => crate::packages::build(sh).map(Some),
            Packages::Dir(dir) => Ok(Some(dir.clone())),
            Packages::None => Ok(None),
        }
    }
}

/// The forward `--net` sets up without `--hostfwd`: host 127.0.0.1:8080 to the kernel's 8080.
pub const DEFAULT_HOSTFWD: (u16, u16) = (8080, 8080);

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Host directories and where they appear in the kernel's file system.
    pub dirs: Vec<(PathBuf, String)>,
    /// Lines to type into the shell; interactive when absent.
    pub script: Option<PathBuf>,
    pub cpu: String,
    /// Deadline for a scripted session (boot included).
    pub timeout: Duration,
    pub memory: String,
    /// Kernel command line (`/chosen/bootargs`), e.g. `sis.selftest=fault`.
    pub append: Option<String>,
    /// Wait for gdb on tcp::1234 before the first instruction (`-s -S`).
    pub gdb: bool,
    pub packages: Packages,
    /// A virtio-net device on QEMU user networking.
    pub net: bool,
    /// (host port, guest port) forwards, bound on the host's 127.0.0.1.
    pub hostfwd: Vec<(u16, u16)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dirs: Vec::new(),
            script: None,
            cpu: "max".into(),
            timeout: Duration::from_secs(120),
            memory: "1G".into(),
            append: None,
            gdb: false,
            packages: Packages::Built,
            net: false,
            hostfwd: Vec::new(),
        }
    }
}

/// Parses the arguments after `qemu`.
pub fn parse_args(args: &[String]) -> Result<Options> {
    let mut opts = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--dir" => {
                let v = value("--dir")?;
                let Some((host, guest)) = v.split_once("::") else {
                    bail!("--dir takes HOST_DIR::GUEST_DIR, got {v:?}");
                };
                if !guest.starts_with('/') {
                    bail!("--dir: the guest directory must be absolute, got {guest:?}");
                }
                opts.dirs.push((PathBuf::from(host), guest.to_string()));
            }
            "--script" => opts.script = Some(PathBuf::from(value("--script")?)),
            "--cpu" => opts.cpu = value("--cpu")?,
            "--timeout" => {
                let v = value("--timeout")?;
                let secs: u64 = v
                    .parse()
                    .with_context(|| format!("--timeout: {v:?} is not a number of seconds"))?;
                opts.timeout = Duration::from_secs(secs);
            }
            "--memory" => opts.memory = value("--memory")?,
            "--append" => opts.append = Some(value("--append")?),
            "--gdb" => opts.gdb = true,
            "--packages" => opts.packages = Packages::Dir(PathBuf::from(value("--packages")?)),
            "--no-packages" => opts.packages = Packages::None,
            "--net" => opts.net = true,
            "--hostfwd" => {
                let v = value("--hostfwd")?;
                let port = |p: &str| -> Result<u16> {
                    match p.parse::<u16>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => bail!("--hostfwd: {p:?} is not a port (1-65535)"),
                    }
                };
                let Some((host, guest)) = v.split_once(':') else {
                    bail!("--hostfwd takes HOST_PORT:GUEST_PORT, got {v:?}");
                };
                opts.hostfwd.push((port(host)?, port(guest)?));
                opts.net = true;
            }
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(opts)
}

/// The `qemu` subcommand (`sh` is at the project root). Exits the process with QEMU's status.
pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let opts = parse_args(args)?;
    let root = crate::project_root();
    let root = root.as_path();
    ensure_qemu(sh)?;
    let image = build_kernel(sh, root)?;
    let mut dirs = opts.dirs.clone();
    if let Some(packages) = opts.packages.dir(sh)? {
        dirs.push((packages, BOOT_PACKAGES.to_string()));
    }
    let initrd = build_initrd(root, &dirs)?;
    let qemu = qemu_command(&opts, &image, &initrd);
    let result = boot(qemu, &opts);
    let _ = fs::remove_file(&initrd);
    let code = result?;
    std::process::exit(code);
}

/// Runs QEMU interactively or through the script; returns the exit status to pass on.
fn boot(mut qemu: Command, opts: &Options) -> Result<i32> {
    let Some(script) = &opts.script else {
        let status = qemu.status().context("starting qemu-system-aarch64")?;
        return Ok(status.code().unwrap_or(1));
    };
    let text =
        fs::read_to_string(script).with_context(|| format!("reading {}", script.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    match integration::run_script(qemu, &lines, PROMPT, opts.timeout) {
        Ok(outcome) => {
            print!("{}", outcome.transcript);
            outcome.exit_code.context("qemu was killed by a signal")
        }
        Err(e @ integration::DriverError::Timeout { .. }) => {
            if let integration::DriverError::Timeout { output, .. } = &e {
                print!("{output}");
            }
            eprintln!("\nxtask qemu: {e}");
            Ok(124)
        }
        Err(e) => Err(e).context("running qemu-system-aarch64"),
    }
}

/// The QEMU invocation for `opts`.
pub fn qemu_command(opts: &Options, image: &Path, initrd: &Path) -> Command {
    let mut c = Command::new("qemu-system-aarch64");
    c.args(["-M", "virt", "-cpu", &opts.cpu, "-m", &opts.memory])
        // The UART on stdio (muxed with the monitor: Ctrl-A x quits, Ctrl-A c is the monitor),
        // with `signal=off` so a Ctrl-C typed on a terminal reaches the kernel, which interrupts
        // the running guest, instead of killing QEMU.
        .args(["-display", "none"])
        .args(["-chardev", "stdio,id=console,mux=on,signal=off"])
        .args([
            "-serial",
            "chardev:console",
            "-mon",
            "chardev=console,mode=readline",
        ])
        .args(["-semihosting", "-no-reboot"])
        .arg("-kernel")
        .arg(image)
        .arg("-initrd")
        .arg(initrd)
        // The entropy source for CPUs without RNDR (harmless when RNDR exists).
        .args(["-device", "virtio-rng-device"]);
    if opts.net {
        // User networking (slirp): no privileges, no host interface. Forwards listen on the
        // host's loopback only, never on its other addresses.
        let forwards = if opts.hostfwd.is_empty() {
            vec![DEFAULT_HOSTFWD]
        } else {
            opts.hostfwd.clone()
        };
        let mut netdev = String::from("user,id=net0");
        for (host, guest) in forwards {
            netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
        }
        c.args(["-netdev", &netdev]);
        c.args(["-device", "virtio-net-device,netdev=net0"]);
    }
    if let Some(append) = &opts.append {
        c.args(["-append", append]);
    }
    if opts.gdb {
        c.args(["-s", "-S"]);
    }
    die_with_parent(&mut c);
    c
}

/// QEMU never outlives the xtask that started it (a test or a script driver killing xtask at
/// its deadline would otherwise leave an emulator spinning on a core).
#[cfg(target_os = "linux")]
fn die_with_parent(c: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only makes one
    // async-signal-safe system call (prctl), touching no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_c: &mut Command) {}

/// Builds the kernel in release and flattens it into `target/qemu/Image`.
pub fn build_kernel(sh: &Shell, root: &Path) -> Result<PathBuf> {
    // Idempotent and quick when the target is installed; ignore failure without rustup.
    let _ = cmd!(sh, "rustup target add {TARGET}")
        .quiet()
        .ignore_stderr()
        .run();
    cmd!(
        sh,
        "cargo build --release --manifest-path qemu/Cargo.toml --target {TARGET} --target-dir {TARGET_DIR}"
    )
    .run()
    .context("building the kernel")?;
    let elf_path = root
        .join(TARGET_DIR)
        .join(TARGET)
        .join("release/sis-kernel");
    let elf = fs::read(&elf_path).with_context(|| format!("reading {}", elf_path.display()))?;
    let image = elf_to_flat(&elf).context("flattening the kernel ELF")?;
    // Write-then-rename: concurrent runs (parallel tests) never boot a half-written image.
    let image_path = image_path(root);
    let tmp = root
        .join(TARGET_DIR)
        .join(format!("Image.tmp-{}", std::process::id()));
    fs::write(&tmp, image)?;
    fs::rename(&tmp, &image_path)?;
    Ok(image_path)
}

/// Where [`build_kernel`] writes the flat kernel image QEMU boots.
pub fn image_path(root: &Path) -> PathBuf {
    root.join(TARGET_DIR).join("Image")
}

/// Packs the `--dir` trees into `target/qemu/initrd-PID.cpio` (one per run, so parallel runs
/// with different trees do not clash; [`run`] deletes it when QEMU exits).
pub fn build_initrd(root: &Path, dirs: &[(PathBuf, String)]) -> Result<PathBuf> {
    let mut writer = CpioWriter::new();
    for (host, guest) in dirs {
        writer
            .add_tree(host, guest)
            .with_context(|| format!("packing {} as {guest}", host.display()))?;
    }
    let path = root
        .join(TARGET_DIR)
        .join(format!("initrd-{}.cpio", std::process::id()));
    fs::create_dir_all(root.join(TARGET_DIR))?;
    fs::write(&path, writer.finish()?)?;
    Ok(path)
}

/// Installs QEMU (Debian's `qemu-system-arm`) when `qemu-system-aarch64` is not on PATH.
///
/// On Debian 12 the bookworm package (QEMU 7.2) conflicts with the newer qemu-utils from
/// bookworm-backports, so it adds a bookworm-backports source (same mirror as the existing
/// bookworm entry) if there is none and installs from there.
pub fn ensure_qemu(sh: &Shell) -> Result<()> {
    if qemu_on_path(sh) {
        return Ok(());
    }
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    if !os_release.lines().any(|l| l == "ID=debian") {
        bail!("qemu-system-aarch64 is not installed; install QEMU for aarch64 (e.g. the qemu-system-arm package)");
    }
    let is_root = cmd!(sh, "id -u").read().unwrap_or_default().trim() == "0";
    // Runs `args` as root (through sudo when we are not root).
    let as_root = |args: &[&str]| -> Result<()> {
        let (program, rest) = if is_root {
            (args[0], &args[1..])
        } else {
            ("sudo", args)
        };
        crate::tools::run_on_stderr(
            sh.cmd(program)
                .args(rest)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    eprintln!("xtask qemu: qemu-system-aarch64 not found, installing qemu-system-arm");
    let bookworm = os_release.lines().any(|l| l == "VERSION_CODENAME=bookworm");
    if bookworm {
        let sources = read_apt_sources();
        if !sources
            .iter()
            .any(|(_, text)| text.contains("bookworm-backports"))
        {
            let stanza = backports_stanza(&sources).context(
                "no bookworm entry in the apt sources to derive bookworm-backports from",
            )?;
            let tmp = std::env::temp_dir().join("bookworm-backports.sources");
            fs::write(&tmp, stanza)?;
            let tmp = tmp.to_string_lossy().into_owned();
            as_root(&[
                "cp",
                &tmp,
                "/etc/apt/sources.list.d/bookworm-backports.sources",
            ])?;
        }
    }
    as_root(&["apt-get", "update"])?;
    if bookworm {
        as_root(&[
            "apt-get",
            "install",
            "-y",
            "-t",
            "bookworm-backports",
            "qemu-system-arm",
        ])?;
    } else {
        as_root(&["apt-get", "install", "-y", "qemu-system-arm"])?;
    }
    if !qemu_on_path(sh) {
        bail!("installed qemu-system-arm, but qemu-system-aarch64 is still not on PATH");
    }
    Ok(())
}

fn qemu_on_path(sh: &Shell) -> bool {
    cmd!(sh, "qemu-system-aarch64 --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

fn read_apt_sources() -> Vec<(PathBuf, String)> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(
            more.into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources")),
        );
    }
    files
        .into_iter()
        .filter_map(|p| fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect()
}

/// A deb822 stanza for bookworm-backports using the mirror (and keyring) of the first `bookworm`
/// entry in `sources` (deb822 `.sources` files or one-line `.list` files).
pub fn backports_stanza(sources: &[(PathBuf, String)]) -> Option<String> {
    for (path, text) in sources {
        let deb822 = path.extension().is_some_and(|e| e == "sources");
        if deb822 {
            for stanza in text.split("\n\n") {
                let field = |name: &str| {
                    stanza.lines().find_map(|l| {
                        l.strip_prefix(name)
                            .and_then(|rest| rest.strip_prefix(':'))
                            .map(|v| v.trim().to_string())
                    })
                };
                let suites = field("Suites").unwrap_or_default();
                if !suites.split_whitespace().any(|s| s == "bookworm") {
                    continue;
                }
                let uris = field("URIs")?;
                let mut out = format!(
                    "Types: deb\nURIs: {uris}\nSuites: bookworm-backports\nComponents: main\n"
                );
                if let Some(key) = field("Signed-By") {
                    out.push_str(&format!("Signed-By: {key}\n"));
                }
                return Some(out);
            }
        } else {
            for line in text.lines() {
                let words: Vec<&str> = line
                    .split_whitespace()
                    .filter(|w| !w.starts_with('['))
                    .collect();
                // deb URI SUITE COMPONENTS... (options in [...] dropped above when one word)
                if words.len() >= 3 && words[0] == "deb" && words[2] == "bookworm" {
                    return Some(format!(
                        "Types: deb\nURIs: {}\nSuites: bookworm-backports\nComponents: main\n",
                        words[1]
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_flags() {
        let o = parse_args(&s(&[
            "--dir",
            "guests::/bin",
            "--dir",
            "data::/data",
            "--script",
            "t.txt",
            "--cpu",
            "cortex-a72",
            "--timeout",
            "30",
            "--append",
            "sis.selftest=fault",
            "--gdb",
        ]))
        .unwrap();
        assert_eq!(
            o.dirs,
            vec![
                ("guests".into(), "/bin".into()),
                ("data".into(), "/data".into())
            ]
        );
        assert_eq!(o.script, Some("t.txt".into()));
        assert_eq!(o.cpu, "cortex-a72");
        assert_eq!(o.timeout, Duration::from_secs(30));
        assert_eq!(o.append.as_deref(), Some("sis.selftest=fault"));
        assert!(o.gdb);
        assert!(!o.net);
        assert_eq!(parse_args(&[]).unwrap(), Options::default());
        let n = parse_args(&s(&["--hostfwd", "18080:80", "--hostfwd", "2222:22"])).unwrap();
        assert!(n.net);
        assert_eq!(n.hostfwd, vec![(18080, 80), (2222, 22)]);
        assert!(parse_args(&s(&["--net"])).unwrap().net);
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(parse_args(&s(&["--dir", "nohost"])).is_err());
        assert!(parse_args(&s(&["--dir", "a::relative"])).is_err());
        assert!(parse_args(&s(&["--timeout", "soon"])).is_err());
        assert!(parse_args(&s(&["--script"])).is_err());
        assert!(parse_args(&s(&["--bogus"])).is_err());
        assert!(parse_args(&s(&["--hostfwd", "80"])).is_err());
        assert!(parse_args(&s(&["--hostfwd", "0:80"])).is_err());
        assert!(parse_args(&s(&["--hostfwd", "80:x"])).is_err());
    }

    #[test]
    fn backports_from_deb822() {
        let src = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n\
                   Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                   Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n";
        let out = backports_stanza(&[("debian.sources".into(), src.into())]).unwrap();
        assert_eq!(
            out,
            "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\n\
             Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
    }

    #[test]
    fn backports_from_one_line_list() {
        let src = "# comment\ndeb http://mirror.example/debian bookworm main contrib\n";
        let out = backports_stanza(&[("sources.list".into(), src.into())]).unwrap();
        assert!(out.contains("URIs: http://mirror.example/debian\n"));
        assert!(
            backports_stanza(&[("sources.list".into(), "deb http://x trixie main".into())])
                .is_none()
        );
    }

    #[test]
    fn qemu_command_line() {
        let opts = Options {
            cpu: "cortex-a72".into(),
            append: Some("a=b".into()),
            ..Options::default()
        };
        let c = qemu_command(&opts, Path::new("I"), Path::new("R"));
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-M virt -cpu cortex-a72 -m 1G -display none -chardev stdio,id=console,mux=on,signal=off \
             -serial chardev:console -mon chardev=console,mode=readline -semihosting -no-reboot \
             -kernel I -initrd R -device virtio-rng-device -append a=b"
        );
        let net = Options {
            hostfwd: vec![(18080, 80)],
            net: true,
            ..Options::default()
        };
        let args: Vec<_> = qemu_command(&net, Path::new("I"), Path::new("R"))
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(
            args.join(" ").ends_with(
                "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:18080-:80 -device virtio-net-device,netdev=net0"
            ),
            "{args:?}"
        );
    }
}
