//! Boots the real kernel in QEMU through `cargo xtask qemu --script` and checks what a user sees:
//! the boot header, typed lines, files from `--dir`, exit statuses, and the fault and panic
//! reports. Slow (builds the kernel once, boots QEMU per test); not in the default members, run
//! with `cargo test -p integration --test qemu`.

mod common;

use std::process::Command;

use common::{cargo, root, serial};

/// Writes `script` to a temp file, runs `cargo xtask qemu --script FILE ARGS...`, and returns
/// (exit code, stdout transcript with the boot header redacted).
fn xtask_qemu(name: &str, script: &str, args: &[&str]) -> (Option<i32>, String) {
    let _serial = serial();
    let dir = std::env::temp_dir().join(format!("sis-qemu-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script_path = dir.join("script.txt");
    std::fs::write(&script_path, script).unwrap();
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "run",
            "--quiet",
            "-p",
            "xtask",
            "--",
            "qemu",
            "--timeout",
            "120",
            "--script",
        ])
        .arg(&script_path)
        .args(args)
        .output()
        .expect("running cargo xtask qemu");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let redacted = stdout
        .lines()
        .map(|l| {
            if l.starts_with(integration::BOOT_HEADER) {
                "[boot] sis-kernel: heap [N] MiB, boot [N] ms".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    (out.status.code(), redacted)
}

#[test]
fn exit_status_reaches_the_host() {
    let (code, text) = xtask_qemu("exit", "echo hello from the kernel\nexit 3\n", &[]);
    assert_eq!(code, Some(3), "{text}");
    // The packages `cargo xtask packages` builds are installed at boot, in file-name order: the
    // project's own, the guest SDK templates (docs/guests.md) and the model package.
    let packages = [
        "echo-assemblyscript 0.1.0",
        "echo-c 0.1.0",
        "echo-go 0.1.0",
        "echo-rust 0.1.0",
        "go-hello 1.0.0",
        "hello-assemblyscript 0.1.0",
        "hello-c 0.1.0",
        "hello-go 0.1.0",
        "hello-rust 0.1.0",
        "hello 1.0.0",
        "llm-ask-assemblyscript 0.1.0",
        "llm-ask-c 0.1.0",
        "llm-ask-go 0.1.0",
        "llm-ask-rust 0.1.0",
        "ping-assemblyscript 0.1.0",
        "ping-c 0.1.0",
        "ping-go 0.1.0",
        "ping-rust 0.1.0",
        "pong 1.0.0",
        "tinystories 1.0.0",
    ];
    let installed: String = packages
        .iter()
        .map(|p| format!("[boot] pkg: {p} installed (key 8be9222c0d745b35 development)\n"))
        .collect();
    assert_eq!(
        text,
        format!(
            "[boot] sis-kernel: heap [N] MiB, boot [N] ms\n{installed}\
             sis> echo hello from the kernel\nhello from the kernel\nsis> exit 3"
        )
    );
}

#[test]
fn files_reach_the_kernel_through_the_initrd() {
    let host = std::env::temp_dir().join(format!("sis-qemu-initrd-{}", std::process::id()));
    std::fs::create_dir_all(host.join("sub")).unwrap();
    std::fs::write(host.join("sub/greeting.txt"), "hi from the host\n").unwrap();
    let dir_arg = format!("{}::/data", host.display());
    let (code, text) = xtask_qemu(
        "initrd",
        "cat /data/sub/greeting.txt\n",
        &["--dir", &dir_arg],
    );
    let _ = std::fs::remove_dir_all(&host);
    // No `exit`: the driver ends the session with Ctrl-D, which is status 0.
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("hi from the host"), "{text}");
}

#[test]
fn cortex_a72_without_rndr_boots_on_virtio_rng() {
    let (code, text) = xtask_qemu("a72", "exit 5\n", &["--cpu", "cortex-a72"]);
    assert_eq!(code, Some(5), "{text}");
    assert!(text.starts_with("[boot] sis-kernel:"), "{text}");
}

#[test]
fn cpu_exception_prints_a_report_and_fails() {
    let (code, text) = xtask_qemu("fault", "", &["--append", "sis.selftest=fault"]);
    assert_eq!(code, Some(102), "{text}");
    for needle in [
        "CPU exception: data abort",
        "EC   0x25",
        "ESR ",
        "FAR  0x0000800000000000",
        "ELR ",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}

#[test]
fn panic_prints_message_and_location_and_fails() {
    let (code, text) = xtask_qemu("panic", "", &["--append", "sis.selftest=panic"]);
    assert_eq!(code, Some(101), "{text}");
    assert!(text.contains("kernel panic at src/main.rs:"), "{text}");
    assert!(text.contains("selftest panic requested"), "{text}");
}

#[test]
fn wasm_module_from_the_initrd_runs_in_the_kernel() {
    let guard = serial();
    cargo(&["run", "--quiet", "-p", "xtask", "--", "fixtures"]);
    drop(guard);
    let fixtures = format!("{}::/bin", root().join("target/fixtures").display());
    let (code, text) = xtask_qemu(
        "wasm",
        "wasm-run /bin/hello.wasm\nexit 0\n",
        &["--dir", &fixtures],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("sis> wasm-run /bin/hello.wasm\nHello from kernel-wasm!\n"),
        "{text}"
    );
}

#[test]
fn kernel_and_kwasm_shell_print_the_same_transcript() {
    let guard = serial();
    cargo(&["run", "--quiet", "-p", "xtask", "--", "fixtures"]);
    let fixtures = format!("{}::/bin", root().join("target/fixtures").display());
    let script = "help\nls /\nls /bin\ncat /nope\necho one  two\nwasm-run /bin/hello.wasm\n\
                  wasm-run /bin/arith.wasm divmod 7 2\nwasm-run /bin/trap.wasm\n\
                  wasm-run /bin/exit7.wasm\nbogus-command\nexit 3\n";
    let mut kwasm = Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "run",
            "--quiet",
            "-p",
            "kwasm",
            "--",
            "shell",
            "--dir",
            &fixtures,
            // What the kernel boots with: `cargo xtask packages`' output and the key it trusts.
            "--packages",
            "packages/out",
            "--trust",
            "packages/keys/development.pub",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running kwasm shell");
    use std::io::Write;
    kwasm
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())
        .expect("writing the script to kwasm");
    let hosted = kwasm.wait_with_output().expect("waiting for kwasm");
    drop(guard);
    let (code, kernel) = xtask_qemu("parity", script, &["--dir", &fixtures]);
    let kernel_body = kernel
        .split_once('\n')
        .map(|(_header, rest)| rest)
        .unwrap_or_default();
    let hosted_text = String::from_utf8_lossy(&hosted.stdout);
    assert_eq!(code, Some(3), "{kernel}");
    assert!(kernel_body.contains("Hello from kernel-wasm!"), "{kernel}");
    assert_eq!(code, hosted.status.code());
    assert_eq!(kernel_body, hosted_text.trim_end_matches('\n'));
}

/// Ctrl-C on the UART stops a running guest between fuel slices; the shell prints one error line
/// and takes the next command. A line typed while a guest runs is not lost.
#[test]
fn ctrl_c_interrupts_a_running_guest() {
    let guard = serial();
    cargo(&["run", "--quiet", "-p", "xtask", "--", "fixtures"]);
    cargo(&["build", "--quiet", "-p", "xtask"]);
    let fixtures = format!("{}::/bin", root().join("target/fixtures").display());
    // Interactive `xtask qemu` (no --script), run directly so that killing it at the deadline
    // also ends QEMU: the console is this test's pipe.
    let mut cmd = Command::new(root().join("target/debug/xtask"));
    cmd.current_dir(root()).args(["qemu", "--dir", &fixtures]);
    let mut session =
        integration::Session::spawn(cmd, std::time::Duration::from_secs(300)).expect("xtask qemu");
    let step = |session: &mut integration::Session, needle: &str| {
        session
            .wait_for(needle)
            .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}: {e:?}"))
    };
    step(&mut session, integration::BOOT_HEADER);
    step(&mut session, "sis> ");
    // 10^12 fuel: far longer than this test under TCG.
    session
        .send_line("wasm-run --fuel 1000000000000 /bin/loop.wasm")
        .unwrap();
    step(&mut session, "loop.wasm\r\n");
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send(b"\x03").unwrap();
    assert_eq!(
        step(&mut session, "sis> "),
        "error: _start interrupted (Ctrl-C)\nsis> "
    );
    // Typed while a guest runs (10^8 fuel: seconds under TCG): kept for the shell.
    session
        .send_line("wasm-run --fuel 100000000 /bin/loop.wasm")
        .unwrap();
    step(&mut session, "loop.wasm\r\n");
    session.send_line("echo typed ahead").unwrap();
    let text = step(&mut session, "typed ahead\r\n");
    assert!(text.contains("ran out of fuel"), "{text}");
    step(&mut session, "sis> ");
    session.send_line("exit 4").unwrap();
    let status = session.wait_exit().expect("the kernel exits");
    drop(guard);
    assert_eq!(status.code(), Some(4), "{}", session.transcript());
}

/// Real toolchain output in the kernel: Go's runtime (goroutines, sleeps, clock, random) from the
/// WASI test programs, the same module `kwasm run` runs in `kernel-wasm/kwasm/tests/wasi_programs.rs`.
#[test]
fn a_go_program_runs_in_the_kernel() {
    let guard = serial();
    cargo(&["run", "--quiet", "-p", "xtask", "--", "wasi-programs"]);
    drop(guard);
    let programs = format!("{}::/w", root().join("target/wasi-programs").display());
    let (code, text) = xtask_qemu(
        "go",
        "wasm-run /w/go/hello.wasm\nwasm-run --dir /w/go /w/go/files.wasm -- /w/go x\nls /w/go\nexit 0\n",
        &["--dir", &programs],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "sis> wasm-run /w/go/hello.wasm\nhello from Go: 1 args\nclock advances: true\n\
             random: true\ngoroutines: 14\n"
        ),
        "{text}"
    );
    // The files program in a preopened directory of the kernel's file system, which it leaves
    // as it found it.
    assert!(
        text.contains(
            "args=[\"/w/go\" \"x\"]\nGREETING=\"\"\nread=world tell=11 end=17\nsize=17 file=true\n\
             entries=[\"moved.txt\" \"sub\"]\ncontents=\"hello world\\nmore\\n\"\n\
             remove non-empty dir fails: true\nexists after remove: false\nescape fails: true\n\
             slept>=10ms: true\nrealtime after 2020: true\nrandom differs: true\nto stderr\ndone\n\
             files.wasm exited with status 3\nsis> ls /w/go\nfiles.wasm\nhello.wasm\nsis> exit 0"
        ),
        "{text}"
    );
}

/// The packages of the initrd are installed at boot against the kernel's built-in trust root: a
/// tampered one is refused with its reason on the console, the kernel boots on with the others,
/// and runs one by name — the same transcript as `kwasm shell --packages` with the same trust.
/// (The shell's package verbs after boot, a tampered `pkg-install` included, are the `packages`
/// scenario of `snapshots.rs`; the 4 × 4 ping/echo matrix of the guest SDKs is its `languages`.)
#[test]
fn the_kernel_installs_its_packages_at_boot_and_refuses_a_tampered_one() {
    let guard = serial();
    cargo(&["run", "--quiet", "-p", "xtask", "--", "packages"]);
    cargo(&["build", "--quiet", "-p", "kwasm"]);
    drop(guard);
    let out = root().join("packages/out");
    let dir = std::env::temp_dir().join(format!("sis-qemu-packages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["hello.wap", "pong.wap"] {
        std::fs::copy(out.join(name), dir.join(name)).unwrap();
    }
    // hello.wap with one byte of its module flipped.
    let mut tampered = std::fs::read(out.join("hello.wap")).unwrap();
    let module = tampered.windows(4).position(|w| w == b"\0asm").unwrap();
    tampered[module + 40] ^= 0x01;
    std::fs::write(dir.join("tampered.wap"), &tampered).unwrap();
    let script = "pkg-list\nwasm-run hello\nexit 0\n";
    let packages = dir.display().to_string();
    let (code, kernel) = xtask_qemu("packages", script, &["--packages", &packages]);
    let mut kwasm = Command::new(root().join("target/debug/kwasm"))
        .current_dir(root())
        .args([
            "shell",
            "--packages",
            &packages,
            "--trust",
            "packages/keys/development.pub",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running kwasm shell");
    use std::io::Write;
    kwasm
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())
        .expect("writing the script to kwasm");
    let hosted = kwasm.wait_with_output().expect("waiting for kwasm");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(0), "{kernel}");
    let key = "key 8be9222c0d745b35 development";
    for needle in [
        format!(
            "[boot] pkg: hello 1.0.0 installed ({key})\n[boot] pkg: pong 1.0.0 installed ({key})\n"
        ),
        "[boot] pkg: /boot/packages/tampered.wap refused: module.wasm: SHA-256 ".to_string(),
        "sis> wasm-run hello\nHello from kernel-wasm!\n".to_string(),
    ] {
        assert!(kernel.contains(&needle), "missing {needle:?} in {kernel}");
    }
    // The shell is alive after the refusal at boot, and prints what kwasm's shell prints.
    assert!(kernel.ends_with("sis> exit 0"), "{kernel}");
    let kernel_body = kernel
        .split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    assert_eq!(hosted.status.code(), Some(0));
    assert_eq!(
        kernel_body,
        String::from_utf8_lossy(&hosted.stdout).trim_end_matches('\n')
    );
}

/// A free port on the host's loopback (bound, read, released).
fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Networking in the kernel (issue acceptance 2), over QEMU user networking: the example HTTP
/// server guest (`guests/net/http_server.rs`) answers a request from the host through the
/// forwarded port (127.0.0.1 only), and the client guest (`http_get.rs`) reaches a test server
/// on the host's loopback as 10.0.2.2. A connect outside its `net:connect` scope is refused.
/// The test server and client bind and connect to 127.0.0.1 only and stop on their own.
#[test]
fn guest_server_and_client_reach_the_host_through_user_networking() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let guard = serial();
    cargo(&["run", "--quiet", "-p", "xtask", "--", "wasi-programs"]);
    drop(guard);
    let www = std::env::temp_dir().join(format!("sis-qemu-net-{}", std::process::id()));
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        "hello from the kernel's guest server\n",
    )
    .unwrap();
    // The host test server: one connection, then it stops (or gives up after 4 minutes).
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server_port = server.local_addr().unwrap().port();
    server.set_nonblocking(true).unwrap();
    let host_server = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(240);
        let (mut s, _) = loop {
            match server.accept() {
                Ok(conn) => break conn,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("the kernel's client never came: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let body = "body from the host test server\n";
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8_lossy(&head).into_owned()
    });
    let fwd = free_loopback_port();
    let script = format!(
        "wasm-run --tcplisten 8080 --dir /www /bin/http_server.wasm -- 1\n\
         wasm-run --caps net:connect=10.0.2.2:{server_port},net:send,net:recv /bin/http_get.wasm -- http://10.0.2.2:{server_port}/from-the-kernel\n\
         wasm-run --caps net:connect=10.0.2.2:1,net:send,net:recv /bin/http_get.wasm -- http://10.0.2.2:{server_port}/\n\
         net-info\n\
         exit 0\n"
    );
    let programs = format!(
        "{}::/bin",
        root().join("target/wasi-programs/net").display()
    );
    let www_arg = format!("{}::/www", www.display());
    let fwd_arg = format!("{fwd}:8080");
    let kernel = std::thread::spawn(move || {
        xtask_qemu(
            "net",
            &script,
            &["--hostfwd", &fwd_arg, "--dir", &programs, "--dir", &www_arg],
        )
    });
    // The host's request to the kernel's server, through the forward: retried until the kernel
    // has booted and listens (a connection before that is accepted by QEMU and closed).
    let deadline = Instant::now() + Duration::from_secs(240);
    let answer = loop {
        let attempt = std::net::TcpStream::connect(("127.0.0.1", fwd)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            s.write_all(b"GET / HTTP/1.1\r\nHost: kernel\r\n\r\n")?;
            let mut out = Vec::new();
            s.read_to_end(&mut out)?;
            Ok(String::from_utf8_lossy(&out).into_owned())
        });
        match attempt {
            Ok(text) if !text.is_empty() => break text,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(500)),
            other => panic!("the kernel's server never answered: {other:?}"),
        }
    };
    let (code, text) = kernel.join().unwrap();
    let _ = std::fs::remove_dir_all(&www);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\nhello from the kernel's guest server\n"),
        "{answer}"
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("listening on 10.0.2.15:8080"), "{text}");
    let request = host_server.join().unwrap();
    assert!(
        request.starts_with("GET /from-the-kernel HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(text.contains("body from the host test server\n"), "{text}");
    assert!(
        text.contains(&format!(
            "http_get: connect 10.0.2.2:{server_port}: errno 76\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("network: smoltcp, address 10.0.2.15/24, gateway 10.0.2.2\n"),
        "{text}"
    );
    assert!(text.contains("connections: 1 accepted, 1 made\n"), "{text}");
}
