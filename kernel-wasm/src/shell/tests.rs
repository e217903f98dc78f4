//! Shell tests over a captured console and an in-memory file system.

use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use super::*;
use crate::hosted::{platform_with_console, CaptureConsole};
use crate::test_rng::XorShift;
use crate::vfs::write_file;

fn shell_with(files: &[(&str, &[u8])]) -> (Shell, Arc<CaptureConsole>) {
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    for (path, data) in files {
        write_file(&*platform.vfs, path, data).unwrap();
    }
    (Shell::new(platform), console)
}

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

fn run(shell: &mut Shell, console: &CaptureConsole, line: &str) -> (ShellStatus, String) {
    console.output.lock().unwrap().clear();
    let status = shell.execute(line);
    (status, console.text())
}

#[test]
fn echo_help_exit_and_unknown() {
    let (mut sh, out) = shell_with(&[]);
    assert_eq!(
        run(&mut sh, &out, "echo hello   world"),
        (ShellStatus::Continue, "hello world\n".into())
    );
    let (_, help) = run(&mut sh, &out, "help");
    for c in COMMANDS {
        assert!(help.contains(c.usage), "{help}");
    }
    let (status, text) = run(&mut sh, &out, "frobnicate now");
    assert_eq!(status, ShellStatus::Continue);
    assert_eq!(
        text,
        "error: unknown command \"frobnicate\": type `help` for the list of commands\n"
    );
    assert_eq!(run(&mut sh, &out, "exit 3").0, ShellStatus::Exit(3));
    assert_eq!(run(&mut sh, &out, "exit").0, ShellStatus::Exit(0));
    assert_eq!(
        run(&mut sh, &out, "exit x").1,
        "error: exit: \"x\" is not an exit status (0 to 255)\n"
    );
    assert_eq!(run(&mut sh, &out, "   ").0, ShellStatus::Continue);
    assert_eq!(run(&mut sh, &out, "# comment").1, "");
}

#[test]
fn ls_and_cat() {
    let (mut sh, out) = shell_with(&[("/data/a.txt", b"alpha\n"), ("/data/sub/b", b"")]);
    assert_eq!(run(&mut sh, &out, "ls /data").1, "a.txt\nsub/\n");
    assert_eq!(run(&mut sh, &out, "ls").1, "data/\n");
    assert_eq!(run(&mut sh, &out, "cat /data/a.txt").1, "alpha\n");
    assert_eq!(
        run(&mut sh, &out, "cat /data/missing").1,
        "error: /data/missing: no such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, &out, "cat /data").1,
        "error: /data: is a directory\n"
    );
    assert_eq!(
        run(&mut sh, &out, "ls /../etc").1,
        "error: /../etc: path escapes its root\n"
    );
}

#[test]
fn wasm_run_start_call_trap_and_fuel() {
    let hello = wat(include_str!("../../tests/fixtures/hello.wat"));
    let arith = wat(include_str!("../../tests/fixtures/arith.wat"));
    let trap = wat(include_str!("../../tests/fixtures/trap.wat"));
    let looping = wat(include_str!("../../tests/fixtures/loop.wat"));
    let (mut sh, out) = shell_with(&[
        ("/bin/hello.wasm", &hello),
        ("/bin/arith.wasm", &arith),
        ("/bin/trap.wasm", &trap),
        ("/bin/loop.wasm", &looping),
    ]);
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/hello.wasm").1,
        "Hello from kernel-wasm!\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/arith.wasm divmod 7 2").1,
        "3\n1\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/trap.wasm").1,
        "error: trap in _start: unreachable instruction executed\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run --fuel 100000 /bin/loop.wasm").1,
        "error: _start ran out of fuel: the limit of 100000 fuel units was used up\n"
    );
    let (_, stats) = run(&mut sh, &out, "stats");
    assert!(
        stats.starts_with("fuel: 99999\nhost calls: 0\ntime: "),
        "{stats}"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/nope.wasm").1,
        "error: /bin/nope.wasm: no such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run --fuel lots /bin/loop.wasm").1,
        "error: --fuel: \"lots\" is not a number of fuel units\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run").1,
        "error: wasm-run: usage: wasm-run [--fuel N] [--time-limit-ms MS] [--caps LIST] [--dir DIR]... [--tcplisten [IP:]PORT]... PATH|PACKAGE [FUNC [ARGS...] | -- ARGS...]\n"
    );
    // The shell goes on after every failure.
    assert_eq!(run(&mut sh, &out, "echo still here").1, "still here\n");
}

#[test]
fn hostile_module_bytes_give_one_line() {
    let (mut sh, out) = shell_with(&[
        ("/junk.wasm", b"\0asm\x01\0\0\0\x01\x05"),
        ("/text.wasm", b"hello"),
    ]);
    let (_, text) = run(&mut sh, &out, "wasm-run /junk.wasm");
    assert!(
        text.starts_with("error: invalid module junk.wasm: ") && text.matches('\n').count() == 1,
        "{text}"
    );
    let (_, text) = run(&mut sh, &out, "wasm-run /text.wasm");
    assert!(
        text.starts_with("error: invalid module text.wasm: ") && text.matches('\n').count() == 1,
        "{text}"
    );
}

/// `bench` on the workloads module `cargo xtask bench` builds (skipped, with a message, when it
/// has not been built): one case, both runtimes, rows in the host bench's `results.json` format.
/// Runs each `(line, expected output)` on a fresh output buffer; the shell must go on after each.
fn expect_lines(sh: &mut Shell, out: &CaptureConsole, cases: &[(&str, &str)]) {
    for (line, expected) in cases {
        let (status, text) = run(sh, out, line);
        assert_eq!(status, ShellStatus::Continue, "{line:?}");
        assert_eq!(text, *expected, "{line:?}");
    }
}

#[test]
fn syntax_errors_and_comments() {
    let (mut sh, out) = shell_with(&[]);
    expect_lines(
        &mut sh,
        &out,
        &[
            // A comment may hold anything, quotes included.
            ("# don't panic", ""),
            ("  #\"", ""),
            ("echo \"abc", "error: syntax: unterminated \" quote\n"),
            ("echo 'abc", "error: syntax: unterminated ' quote\n"),
            ("echo abc\\", "error: syntax: line ends with a backslash\n"),
            ("echo \"abc\\", "error: syntax: unterminated \" quote\n"),
            (
                "echo a\0b",
                "error: syntax: control character U+0000 at byte 6\n",
            ),
            (
                "echo \x1b[2J",
                "error: syntax: control character U+001B at byte 5\n",
            ),
            // A quoted `#` is a word, not a comment.
            (
                "'#x' y",
                "error: unknown command \"#x\": type `help` for the list of commands\n",
            ),
            ("echo a # b", "a # b\n"),
            ("echo é\t€", "é €\n"),
        ],
    );
    let long = std::format!("echo {}", "x".repeat(words::MAX_LINE));
    assert_eq!(
        run(&mut sh, &out, &long).1,
        "error: syntax: line longer than 65536 bytes\n"
    );
}

#[test]
fn numbers_that_do_not_fit_are_refused() {
    let arith = wat(include_str!("../../tests/fixtures/arith.wat"));
    let (mut sh, out) = shell_with(&[("/bin/arith.wasm", &arith)]);
    expect_lines(
        &mut sh,
        &out,
        &[
            (
                "wasm-run --fuel 99999999999999999999999 /bin/arith.wasm add 1 2",
                "error: --fuel: \"99999999999999999999999\" is not a number of fuel units\n",
            ),
            (
                "wasm-run --fuel -1 /bin/arith.wasm add 1 2",
                "error: --fuel: \"-1\" is not a number of fuel units\n",
            ),
            (
                "wasm-run --fuel 0 /bin/arith.wasm add 1 2",
                "error: arith.wasm ran out of fuel: the limit of 0 fuel units was used up\n",
            ),
            (
                "wasm-run --time-limit-ms -5 /bin/arith.wasm add 1 2",
                "error: --time-limit-ms: \"-5\" is not a number of milliseconds\n",
            ),
            (
                "wasm-run /bin/arith.wasm add 4294967296 1",
                "error: argument 1 of add: \"4294967296\" is not a valid i32\n",
            ),
            (
                "wasm-run /bin/arith.wasm add 0x-5 1",
                "error: argument 1 of add: \"0x-5\" is not a valid i32\n",
            ),
            ("wasm-run /bin/arith.wasm add 4294967295 1", "0\n"),
            (
                "wasm-run /bin/arith.wasm mixed 9223372036854775808 nan -inf",
                "-inf\n0\nNaN\n",
            ),
            (
                "wasm-run /bin/arith.wasm mixed 18446744073709551616 1 1",
                "error: argument 1 of mixed: \"18446744073709551616\" is not a valid i64\n",
            ),
            (
                "agent-send 4294967296 hi",
                "error: agent id: \"4294967296\" is not a number\n",
            ),
            (
                "agent-send -1 hi",
                "error: agent id: \"-1\" is not a number\n",
            ),
            (
                "agent-kill 4294967296",
                "error: agent id: \"4294967296\" is not a number\n",
            ),
            (
                "agent-run -5",
                "error: MAX_SLICES: \"-5\" is not a number\n",
            ),
            (
                "agent-spawn --fuel 99999999999999999999 /bin/arith.wasm",
                "error: --fuel: \"99999999999999999999\" is not a number\n",
            ),
            (
                "exit 256",
                "error: exit: \"256\" is not an exit status (0 to 255)\n",
            ),
            (
                "exit -1",
                "error: exit: \"-1\" is not an exit status (0 to 255)\n",
            ),
            (
                "exit 4294967296",
                "error: exit: \"4294967296\" is not an exit status (0 to 255)\n",
            ),
        ],
    );
    assert_eq!(run(&mut sh, &out, "exit 255").0, ShellStatus::Exit(255));
}

#[test]
fn missing_and_extra_arguments_print_the_usage() {
    let arith = wat(include_str!("../../tests/fixtures/arith.wat"));
    let (mut sh, out) = shell_with(&[("/bin/arith.wasm", &arith)]);
    let usage = |name: &str| {
        let c = COMMANDS.iter().find(|c| c.name == name).unwrap();
        std::format!("error: {name}: usage: {}\n", c.usage)
    };
    for (line, command) in [
        ("help me", "help"),
        ("stats now", "stats"),
        ("cat", "cat"),
        ("cat a b", "cat"),
        ("ls a b", "ls"),
        ("wasm-run", "wasm-run"),
        ("wasm-run --fuel", "wasm-run"),
        ("wasm-run --fuel 5", "wasm-run"),
        ("wasm-run --time-limit-ms", "wasm-run"),
        ("wasm-run --bogus /bin/arith.wasm", "wasm-run"),
        ("agent-spawn", "agent-spawn"),
        ("agent-spawn --fuel", "agent-spawn"),
        ("agent-spawn --fuel 5", "agent-spawn"),
        ("agent-spawn --bogus /bin/arith.wasm", "agent-spawn"),
        ("agent-spawn a b c", "agent-spawn"),
        ("agent-send", "agent-send"),
        ("agent-send 1", "agent-send"),
        ("agent-list x", "agent-list"),
        ("agent-kill", "agent-kill"),
        ("agent-kill 1 2", "agent-kill"),
        ("agent-run 1 2", "agent-run"),
        ("bench --nope", "bench"),
        ("bench --case", "bench"),
        ("bench a b", "bench"),
        ("exit 1 2", "exit"),
    ] {
        assert_eq!(
            run(&mut sh, &out, line),
            (ShellStatus::Continue, usage(command)),
            "{line:?}"
        );
    }
    // A module whose name starts with `--` is reachable as a relative path.
    let (mut sh, out) = shell_with(&[("/--odd.wasm", &arith)]);
    assert_eq!(run(&mut sh, &out, "wasm-run ./--odd.wasm add 1 2").1, "3\n");
}

#[test]
fn paths_stay_inside_the_root_and_files_are_bounded() {
    let big = std::vec![b'x'; (16 << 20) + 1];
    let (mut sh, out) = shell_with(&[
        ("/data/a.txt", b"alpha\n"),
        ("/big.txt", &big),
        ("/odd/a\nb", b""),
        ("/odd/\x1b[2Jc", b""),
    ]);
    expect_lines(
        &mut sh,
        &out,
        &[
            ("ls /..", "error: /..: path escapes its root\n"),
            ("ls ../..", "error: /../..: path escapes its root\n"),
            (
                "ls /data/../..",
                "error: /data/../..: path escapes its root\n",
            ),
            (
                "cat /../etc/passwd",
                "error: /../etc/passwd: path escapes its root\n",
            ),
            ("cat /data/../data/a.txt", "alpha\n"),
            ("cat /data", "error: /data: is a directory\n"),
            ("cat /", "error: /: is a directory\n"),
            ("cat /data/a.txt/", "error: /data/a.txt/: not a directory\n"),
            (
                "cat /big.txt",
                "error: /big.txt: is 16777217 bytes; cat takes files of at most 16777216 bytes\n",
            ),
            ("wasm-run /data", "error: /data: is a directory\n"),
            // Names with control characters are escaped: one entry, one line.
            ("ls /odd", "\\u{1b}[2Jc\na\\nb\n"),
        ],
    );
}

/// A clock whose sleeps return at once, having moved time on to their deadline: a guest that
/// waits "forever" meets its time limit without the test waiting.
#[derive(Debug)]
struct JumpClock {
    now: std::sync::Mutex<u64>,
}

impl crate::platform::Clock for JumpClock {
    fn monotonic_ns(&self) -> u64 {
        let mut now = self.now.lock().unwrap();
        *now += 1_000;
        *now
    }
    fn realtime_ns(&self) -> u64 {
        self.monotonic_ns()
    }
    fn resolution_ns(&self) -> u64 {
        1
    }
    fn sleep_until_ns(&self, deadline_ns: u64) {
        let mut now = self.now.lock().unwrap();
        *now = (*now).max(deadline_ns);
    }
}

/// Sleeps with one relative monotonic clock subscription of `timeout` ns.
fn sleeper(timeout: u64) -> Vec<u8> {
    wat(&std::format!(
        r#"(module
             (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")
               (i64.store (i32.const 0) (i64.const 1))
               (i32.store8 (i32.const 8) (i32.const 0))
               (i32.store (i32.const 16) (i32.const 1))
               (i64.store (i32.const 24) (i64.const {timeout}))
               (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#,
        timeout = timeout as i64
    ))
}

#[test]
fn a_guest_that_waits_forever_meets_the_default_time_limit() {
    let console = Arc::new(CaptureConsole::default());
    let mut platform = platform_with_console(console.clone());
    platform.clock = Arc::new(JumpClock {
        now: std::sync::Mutex::new(1_000_000_000),
    });
    write_file(&*platform.vfs, "/bin/forever.wasm", &sleeper(u64::MAX)).unwrap();
    let mut sh = Shell::new(platform);
    let (status, text) = run(&mut sh, &console, "wasm-run /bin/forever.wasm");
    assert_eq!(status, ShellStatus::Continue);
    assert_eq!(
        text,
        std::format!(
            "error: limit time_limit_ms ({DEFAULT_RUN_TIME_LIMIT_MS}) exceeded: forever.wasm slept past its {DEFAULT_RUN_TIME_LIMIT_MS} ms of wall time\n"
        )
    );
    assert_eq!(run(&mut sh, &console, "echo back").1, "back\n");
}

#[test]
fn running_modules_that_fail_leaves_the_shell_running() {
    let trap = wat(include_str!("../../tests/fixtures/trap.wat"));
    let looping = wat(include_str!("../../tests/fixtures/loop.wat"));
    let recurse = wat(include_str!("../../tests/fixtures/recurse.wat"));
    let (mut sh, out) = shell_with(&[
        ("/bin/trap.wasm", &trap),
        ("/bin/loop.wasm", &looping),
        ("/bin/recurse.wasm", &recurse),
        ("/bin/sleeper.wasm", &sleeper(60_000_000_000)),
    ]);
    for line in [
        "wasm-run /bin/trap.wasm",
        "wasm-run --fuel 1000 /bin/loop.wasm",
        "wasm-run /bin/recurse.wasm",
        "wasm-run --time-limit-ms 20 /bin/sleeper.wasm",
        "wasm-run --time-limit-ms 0 /bin/loop.wasm",
    ] {
        let started = std::time::Instant::now();
        let (status, text) = run(&mut sh, &out, line);
        assert_eq!(status, ShellStatus::Continue, "{line}");
        assert!(
            text.starts_with("error: ") && text.ends_with('\n') && text.lines().count() == 1,
            "{line}: {text:?}"
        );
        assert!(
            started.elapsed().as_secs() < 20,
            "{line} took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        run(&mut sh, &out, "wasm-run --time-limit-ms 20 /bin/sleeper.wasm").1,
        "error: limit time_limit_ms (20) exceeded: sleeper.wasm slept past its 20 ms of wall time\n"
    );
    assert_eq!(run(&mut sh, &out, "echo still here").1, "still here\n");
}

#[test]
fn agent_commands_on_missing_and_dead_agents() {
    let quick = wat(include_str!("../../tests/fixtures/agents/quick.wat"));
    let arith = wat(include_str!("../../tests/fixtures/arith.wat"));
    let (mut sh, out) = shell_with(&[("/a/quick.wasm", &quick), ("/a/arith.wasm", &arith)]);
    expect_lines(
        &mut sh,
        &out,
        &[
            ("agent-send 1 hi", "error: there is no agent 1\n"),
            ("agent-kill 1", "error: there is no agent 1\n"),
            ("agent-send 0 hi", "error: agent 0 is the host itself\n"),
            ("agent-spawn /a/missing.wasm", "error: /a/missing.wasm: no such file or directory\n"),
            (
                "agent-spawn /a/arith.wasm",
                "error: cannot instantiate arith.wasm: the module exports neither agent_run nor _start\n",
            ),
            ("agent-spawn /a/quick.wasm", "spawned agent 1 (quick.wasm)\n"),
        ],
    );
    let (_, text) = run(&mut sh, &out, "agent-run");
    assert!(text.ends_with("(0 ready, 0 blocked, 1 done)\n"), "{text}");
    expect_lines(
        &mut sh,
        &out,
        &[
            (
                "agent-send 1 hi",
                "error: agent 1 is not running: exited with status 0\n",
            ),
            (
                "agent-kill 1",
                "error: agent 1 is not running: exited with status 0\n",
            ),
            ("agent-send 2 hi", "error: there is no agent 2\n"),
        ],
    );
}

/// Random command lines from the shell's own vocabulary: every one prints nothing, output, or
/// exactly one error line, and the shell goes on.
#[test]
fn random_command_lines_never_break_the_shell() {
    let arith = wat(include_str!("../../tests/fixtures/arith.wat"));
    let (mut sh, out) = shell_with(&[("/bin/arith.wasm", &arith), ("/data/a.txt", b"alpha\n")]);
    let names: Vec<&str> = COMMANDS
        .iter()
        .map(|c| c.name)
        .filter(|&n| n != "bench") // bench on a real workloads module takes seconds
        .collect();
    const ARGS: &[&str] = &[
        "/bin/arith.wasm",
        "add",
        "divmod",
        "g",
        "1",
        "-1",
        "0x-5",
        "4294967296",
        "nan",
        "--fuel",
        "--time-limit-ms",
        "0",
        "99999999999999999999",
        "/data",
        "/data/a.txt",
        "/..",
        "..",
        "\"",
        "'a b'",
        "\\",
        "#",
        "",
        "clock",
        "teleport",
        "file:read=/../x",
        "--quick",
        "--case",
    ];
    let mut rng = XorShift(0x0bad_5eed_0000_0001);
    for round in 0..2000 {
        let mut line = String::from(names[(rng.next() as usize) % names.len()]);
        for _ in 0..rng.next() % 5 {
            line.push(' ');
            line.push_str(ARGS[(rng.next() as usize) % ARGS.len()]);
        }
        let (status, text) = run(&mut sh, &out, &line);
        if let ShellStatus::Exit(code) = status {
            assert!((0..=255).contains(&code), "round {round}: {line:?}");
            continue;
        }
        if let Some(error) = text.strip_prefix("error: ") {
            assert_eq!(
                error.matches('\n').count(),
                1,
                "round {round}: {line:?}: {text:?}"
            );
            assert!(error.ends_with('\n'), "round {round}: {line:?}");
        }
    }
    assert_eq!(run(&mut sh, &out, "echo alive").1, "alive\n");
}

#[test]
fn agent_messages_are_one_line_each() {
    use super::agent_cmds::message_line;
    assert_eq!(message_line(3, b"pong 1\n"), "[agent 3] pong 1\n");
    assert_eq!(message_line(3, "héllo".as_bytes()), "[agent 3] héllo\n");
    assert_eq!(
        message_line(3, b"a\nagent 1 (x) exited with status 0\n"),
        "[agent 3] a\\nagent 1 (x) exited with status 0\n"
    );
    assert_eq!(
        message_line(3, b"\x1b[2J\0\t"),
        "[agent 3] \\u{1b}[2J\\u{0}\\t\n"
    );
    assert_eq!(message_line(3, b"\xff\x1b"), "[agent 3] \\xff\\u{1b}\n");
    assert_eq!(message_line(3, b""), "[agent 3] \n");
}

/// A console that is interrupted (Ctrl-C) at its `after`-th poll, and records output.
#[derive(Default)]
struct InterruptingConsole {
    inner: CaptureConsole,
    polls: std::sync::atomic::AtomicU64,
    after: u64,
}

impl crate::platform::Console for InterruptingConsole {
    fn write(&self, stream: crate::platform::Stream, bytes: &[u8]) {
        self.inner.write(stream, bytes);
    }
    fn read(&self, buf: &mut [u8]) -> usize {
        self.inner.read(buf)
    }
    fn take_interrupt(&self) -> bool {
        let polls = self
            .polls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        polls + 1 == self.after
    }
}

fn interrupting_shell(after: u64, files: &[(&str, &[u8])]) -> (Shell, Arc<InterruptingConsole>) {
    let console = Arc::new(InterruptingConsole {
        after,
        ..InterruptingConsole::default()
    });
    let mut platform = platform_with_console(console.clone());
    platform.clock = Arc::new(JumpClock {
        now: std::sync::Mutex::new(1_000_000_000),
    });
    for (path, data) in files {
        write_file(&*platform.vfs, path, data).unwrap();
    }
    (Shell::new(platform), console)
}

fn run_interrupted(sh: &mut Shell, console: &InterruptingConsole, line: &str) -> String {
    console.inner.output.lock().unwrap().clear();
    assert_eq!(sh.execute(line), ShellStatus::Continue);
    console.inner.text()
}

#[test]
fn ctrl_c_stops_a_computing_or_sleeping_guest_and_the_shell_goes_on() {
    let looping = wat(include_str!("../../tests/fixtures/loop.wat"));
    let (mut sh, out) = interrupting_shell(3, &[("/bin/loop.wasm", &looping)]);
    // Between fuel slices (the default fuel is a thousand slices).
    assert_eq!(
        run_interrupted(&mut sh, &out, "wasm-run /bin/loop.wasm"),
        "error: _start interrupted (Ctrl-C)\n"
    );
    assert_eq!(run_interrupted(&mut sh, &out, "echo back"), "back\n");
    // While it sleeps in poll_oneoff (a sleep of a day, polled every 10 ms of it).
    let (mut sh, out) = interrupting_shell(5, &[("/bin/sleep.wasm", &sleeper(86_400_000_000_000))]);
    assert_eq!(
        run_interrupted(&mut sh, &out, "wasm-run /bin/sleep.wasm"),
        "error: sleep.wasm (sleeping in poll_oneoff) interrupted (Ctrl-C)\n"
    );
}

#[test]
fn ctrl_c_and_the_time_limit_stop_agent_run_and_leave_the_agents() {
    let busy = wat(include_str!("../../tests/fixtures/agents/busy.wat"));
    let (mut sh, out) = interrupting_shell(4, &[("/a/busy.wasm", &busy)]);
    run_interrupted(
        &mut sh,
        &out,
        "agent-spawn --fuel 1000000000000 /a/busy.wasm",
    );
    assert_eq!(
        run_interrupted(&mut sh, &out, "agent-run"),
        "agent-run: interrupted after 3 slices (1 ready, 0 blocked, 0 done)\n"
    );
    // The agent is left as it was: another run continues it.
    assert_eq!(
        run_interrupted(&mut sh, &out, "agent-run 2"),
        "agent-run: stopped at the limit of 2 slices (1 ready, 0 blocked, 0 done)\n"
    );

    // An agent waiting 24 days for a message: the run ends at its time limit.
    let waiter = wat(r#"(module
        (import "agent" "receive_message_timeout" (func $recv (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "agent_run") (result i32)
          (call $recv (i32.const 64) (i32.const 16) (i32.const 0) (i32.const 2147483647))))"#);
    let (mut sh, out) = interrupting_shell(u64::MAX, &[("/a/waiter.wasm", &waiter)]);
    run_interrupted(&mut sh, &out, "agent-spawn /a/waiter.wasm");
    assert_eq!(
        run_interrupted(&mut sh, &out, "agent-run --time-limit-ms 50"),
        "agent-run: stopped at the time limit after 1 slices (0 ready, 1 blocked, 0 done)\n"
    );
    assert_eq!(
        run_interrupted(&mut sh, &out, "agent-run --time-limit-ms x"),
        "error: --time-limit-ms: \"x\" is not a number\n"
    );
}

#[test]
fn ctrl_c_stops_a_guest_reading_stdin() {
    let reader = wat(r#"(module
        (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 64))
          (i32.store (i32.const 4) (i32.const 16))
          (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))))"#);
    // The console's read comes back empty-handed because of the Ctrl-C.
    let (mut sh, out) = interrupting_shell(1, &[("/bin/reader.wasm", &reader)]);
    assert_eq!(
        run_interrupted(&mut sh, &out, "wasm-run /bin/reader.wasm"),
        "error: reader.wasm (reading stdin) interrupted (Ctrl-C)\n"
    );
    // Without one, an empty read is the end of input, and the guest goes on.
    let (mut sh, out) = interrupting_shell(u64::MAX, &[("/bin/reader.wasm", &reader)]);
    assert_eq!(
        run_interrupted(&mut sh, &out, "wasm-run /bin/reader.wasm"),
        ""
    );
}

/// A stand-in for the workloads module with the same exports: each loops ARG times (or a fixed
/// count) so both runtimes do real, identical work.
fn fake_workloads(extra: &str) -> Vec<u8> {
    let looped = |name: &str, param: bool| {
        let (params, count) = if param {
            ("(param $n i32)", "(local.get $n)")
        } else {
            ("", "(i32.const 5000)")
        };
        std::format!(
            r#"(func (export "{name}") {params} (result i32) (local $i i32) (local $acc i32)
                 (block $done (loop $next
                   (br_if $done (i32.ge_u (local.get $i) {count}))
                   (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br $next)))
                 (local.get $acc))"#
        )
    };
    wat(&std::format!(
        "(module (memory (export \"memory\") 1) {} {} {} {} {} {extra})",
        looped("coremark_like", true),
        looped("sha256_1mib", false),
        looped("fib", true),
        looped("matmul128", false),
        looped("sort", true),
    ))
}

#[test]
fn bench_runs_every_case_on_both_runtimes_and_refuses_start_functions() {
    let (mut sh, out) = shell_with(&[
        ("/bench/workloads.wasm", &fake_workloads("")),
        ("/bench/start.wasm", &fake_workloads("(func $s) (start $s)")),
        (
            "/bench/arith.wasm",
            &wat(include_str!("../../tests/fixtures/arith.wat")),
        ),
    ]);
    for quick in ["--quick", ""] {
        let (status, text) = run(&mut sh, &out, &std::format!("bench {quick}"));
        assert_eq!(status, ShellStatus::Continue);
        let rows: Vec<(&str, &str)> = text
            .lines()
            .map(|l| {
                let field = |key: &str| {
                    let start = l.find(&std::format!("\"{key}\": \"")).expect(key) + key.len() + 5;
                    &l[start..start + l[start..].find('"').unwrap()]
                };
                (field("case"), field("runtime"))
            })
            .collect();
        let expected: Vec<(&str, &str)> = bench_cmd::CASES
            .iter()
            .flat_map(|c| [(c.name, "kernel-wasm"), (c.name, "wasmi")])
            .collect();
        assert_eq!(rows, expected, "{text}");
    }
    assert_eq!(
        run(&mut sh, &out, "bench /bench/start.wasm").1,
        "error: bench: /bench/start.wasm has a start function; bench runs only modules without one\n"
    );
    let (_, text) = run(&mut sh, &out, "bench --case fib30 /bench/arith.wasm");
    assert!(
        text.starts_with("error: ") && text.lines().count() == 1,
        "{text}"
    );
    assert_eq!(
        run(&mut sh, &out, "bench --case nope").1,
        "error: bench: unknown case \"nope\": the cases are coremark_like, sha256_1mib, fib30, matmul128, sort\n"
    );
    assert!(run(&mut sh, &out, "bench /missing.wasm")
        .1
        .starts_with("error: /missing.wasm"));
}

#[test]
fn wasm_run_passes_arguments_after_a_double_dash_and_preopens_dirs() {
    // Prints its argument buffer (NUL-separated), then the file in.txt of its first preopen.
    let guest = wat(r#"(module
        (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_open"
          (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 900) "in.txt")
        (func $print (param $ptr i32) (param $len i32)
          (i32.store (i32.const 16) (local.get $ptr))
          (i32.store (i32.const 20) (local.get $len))
          (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
        (func (export "_start")
          (drop (call $sizes (i32.const 0) (i32.const 4)))
          (drop (call $args (i32.const 100) (i32.const 200)))
          (call $print (i32.const 200) (i32.load (i32.const 4)))
          (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 900) (i32.const 6)
                (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 28)))
            (then
              (i32.store (i32.const 32) (i32.const 1000))
              (i32.store (i32.const 36) (i32.const 64))
              (drop (call $read (i32.load (i32.const 28)) (i32.const 32) (i32.const 1) (i32.const 40)))
              (call $print (i32.const 1000) (i32.load (i32.const 40)))))))"#);
    let (mut sh, out) = shell_with(&[
        ("/bin/show.wasm", &guest),
        ("/data/in.txt", b"from the kernel fs\n"),
    ]);
    assert_eq!(
        run(
            &mut sh,
            &out,
            "wasm-run --dir /data /bin/show.wasm -- one 'two words'"
        )
        .1,
        "show.wasm\0one\0two words\0from the kernel fs\n"
    );
    // Without --dir the guest has no directory; without -- only its name.
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/show.wasm").1,
        "show.wasm\0"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run --dir /nope /bin/show.wasm").1,
        "error: /nope: no such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run --dir /data/in.txt /bin/show.wasm").1,
        "error: /data/in.txt: not a directory\n"
    );
    assert!(run(&mut sh, &out, "wasm-run --dir")
        .1
        .starts_with("error: wasm-run: usage: "));
}

#[test]
fn net_info_tcplisten_and_caps() {
    // `addr` prints the local address of descriptor 3 (the listener); `refused` connects to a
    // port nothing listens on and returns what `net.connect` said.
    let guest = wat(r#"(module
        (import "net" "local_addr" (func $local (param i32 i32 i32) (result i32)))
        (import "net" "connect" (func $connect (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 200) "127.0.0.1:1")
        (func (export "addr") (result i32)
            (local $n i32)
            (local.set $n (call $local (i32.const 3) (i32.const 100) (i32.const 64)))
            (i32.store8 (i32.add (i32.const 100) (local.get $n)) (i32.const 10))
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.add (local.get $n) (i32.const 1)))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (local.get $n))
        (func (export "refused") (result i32)
            (call $connect (i32.const 200) (i32.const 11))))"#);
    let (mut sh, out) = shell_with(&[("/bin/net.wasm", &guest)]);
    assert_eq!(
        run(&mut sh, &out, "net-info").1,
        "network: host sockets\nsockets: 0 open of 1024\nconnections: 0 accepted, 0 made\n\
         bytes: 0 sent, 0 received\n"
    );
    assert_eq!(
        run(&mut sh, &out, "net-info now").1,
        "error: net-info: usage: net-info\n"
    );
    // Without net:connect the module is refused before it runs.
    let (_, text) = run(&mut sh, &out, "wasm-run --tcplisten 0 /bin/net.wasm addr");
    assert!(
        text.starts_with("error: ") && text.contains("net:connect (imported by net::connect)"),
        "{text}"
    );
    let (_, text) = run(
        &mut sh,
        &out,
        "wasm-run --caps net:connect=127.0.0.1:* --tcplisten 0 /bin/net.wasm addr",
    );
    let (printed, result) = text.split_once('\n').unwrap_or_default();
    assert!(printed.starts_with("127.0.0.1:"), "{text}");
    assert_eq!(
        result.trim().parse::<usize>().ok(),
        Some(printed.len()),
        "{text}"
    );
    assert_eq!(
        run(
            &mut sh,
            &out,
            "wasm-run --caps net:connect=127.0.0.1:* /bin/net.wasm refused"
        )
        .1,
        "-14\n"
    );
    // Outside the scope: refused with -76 before anything is sent.
    assert_eq!(
        run(
            &mut sh,
            &out,
            "wasm-run --caps net:connect=10.0.2.2:80 /bin/net.wasm refused"
        )
        .1,
        "-76\n"
    );
    assert_eq!(
        run(
            &mut sh,
            &out,
            "wasm-run --tcplisten nonsense /bin/net.wasm addr"
        )
        .1,
        "error: --tcplisten nonsense: expected PORT or IP:PORT\n"
    );
    let (_, text) = run(
        &mut sh,
        &out,
        "wasm-run --caps net:connect=x /bin/net.wasm refused",
    );
    assert!(text.contains("must be HOST:PORT"), "{text}");
    // The listener closed with the instance.
    assert_eq!(
        run(&mut sh, &out, "net-info").1.lines().nth(1),
        Some("sockets: 0 open of 1024")
    );
}

/// The package commands, end to end in the shell: install from the file system, list, info,
/// run by name (with the manifest's capabilities), spawn as an agent, refuse a tampered package,
/// uninstall; and the boot install of a directory.
#[test]
fn packages_round_trip_through_the_shell() {
    use crate::package::{pack, SecretKey, TrustStore};
    let key = SecretKey::from_seed("shell-test", [5; 32]).unwrap();
    let hello = wat(r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hi from a package\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 18))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#);
    let manifest = b"name = \"hi\"\nversion = \"1.0.0\"\nfuel_limit = 1000\n";
    let wap = pack::sign(&pack::pack(manifest, &hello, &[]).unwrap(), &key).unwrap();
    let pong = wat(include_str!("../../tests/fixtures/agents/pong.wat"));
    let pong_manifest =
        b"name = \"pong\"\nversion = \"1.0.0\"\ncapabilities = [\"agent:send\", \"agent:receive\"]\n";
    let pong_wap = pack::sign(&pack::pack(pong_manifest, &pong, &[]).unwrap(), &key).unwrap();
    let mut tampered = wap.clone();
    let at = tampered.windows(4).position(|w| w == b"\0asm").unwrap() + 30;
    tampered[at] ^= 0x20;
    let (mut sh, out) = shell_with(&[
        ("/data/hi.wap", &wap),
        ("/data/pong.wap", &pong_wap),
        ("/data/bad.wap", &tampered),
    ]);
    // Without a trust store the key is unknown.
    let (_, text) = run(&mut sh, &out, "pkg-install /data/hi.wap");
    assert!(
        text.starts_with("error: package /data/hi.wap: signature: key "),
        "{text}"
    );
    let mut trust = TrustStore::new();
    trust.add(key.public());
    sh.set_packages(trust, false);
    let (_, text) = run(&mut sh, &out, "pkg-install /data/hi.wap");
    assert_eq!(
        text,
        format!("hi 1.0.0 installed (key {} shell-test)\n", key.id)
    );
    let (_, text) = run(&mut sh, &out, "pkg-list");
    assert!(text.lines().nth(1).unwrap().starts_with("hi "), "{text}");
    let (_, text) = run(&mut sh, &out, "pkg-info hi");
    assert!(text.contains("limits: fuel_limit 1000\n"), "{text}");
    // By name: the manifest's fuel limit applies (the module needs less).
    assert_eq!(run(&mut sh, &out, "wasm-run hi").1, "hi from a package\n");
    let (_, text) = run(&mut sh, &out, "wasm-run --fuel 3 hi");
    assert!(text.contains("ran out of fuel"), "{text}");
    // A tampered package is refused naming the module; nothing changes.
    let (_, text) = run(&mut sh, &out, "pkg-install /data/bad.wap");
    assert!(
        text.starts_with("error: package /data/bad.wap: module.wasm: SHA-256 "),
        "{text}"
    );
    // An agent package with its manifest's capabilities.
    run(&mut sh, &out, "pkg-install /data/pong.wap");
    let (_, text) = run(&mut sh, &out, "agent-spawn pong");
    assert_eq!(text, "spawned agent 1 (pong)\n");
    run(&mut sh, &out, "agent-send 1 ping 7");
    let (_, text) = run(&mut sh, &out, "agent-run 50");
    assert!(text.contains("[agent 1] pong 7\n"), "{text}");
    assert_eq!(
        run(&mut sh, &out, "pkg-uninstall hi").1,
        "hi 1.0.0 uninstalled\n"
    );
    let (_, text) = run(&mut sh, &out, "wasm-run hi");
    assert_eq!(text, "error: /hi: no such file or directory\n");
    let (_, text) = run(&mut sh, &out, "pkg-uninstall hi");
    assert_eq!(text, "error: package hi: package hi is not installed\n");

    // The package benchmark the kernel runs: two JSON rows.
    let (_, text) = run(&mut sh, &out, "bench-pkg --quick /data/pong.wap");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows[0].starts_with(
            "{\"group\": \"packages\", \"case\": \"verify_install\", \"runtime\": \"kernel-wasm\""
        ),
        "{text}"
    );
    assert!(rows[1].contains("\"runtime\": \"direct\""), "{text}");
    let (_, text) = run(&mut sh, &out, "bench-pkg /data/bad.wap");
    assert!(text.starts_with("error: "), "{text}");

    // The boot install: every .wap of /boot/packages, one line each.
    write_file(&*sh.platform().vfs, "/boot/packages/hi.wap", &wap).unwrap();
    write_file(&*sh.platform().vfs, "/boot/packages/zz-bad.wap", &tampered).unwrap();
    let lines = sh.install_boot_packages();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        format!("[boot] pkg: hi 1.0.0 installed (key {} shell-test)", key.id)
    );
    assert!(
        lines[1].starts_with("[boot] pkg: /boot/packages/zz-bad.wap refused: module.wasm: "),
        "{lines:?}"
    );
}
