//! Driving the kernel's serial console from the host: used by `cargo xtask qemu --script` and by
//! the integration tests in `tests/`.
//!
//! A [`Session`] owns a child process (QEMU, or anything that talks like the kernel's shell on
//! stdin/stdout), collects its output on a reader thread, waits for the prompt before each line
//! it sends, and enforces one deadline for the whole session so a hung boot fails clearly instead
//! of blocking CI. Transcripts are normalised ([`normalise`]): `\r\n` becomes `\n` and stray `\r`
//! and terminal bells disappear, so they can be compared with the hosted `kwasm shell`.

use std::fmt;
use std::io::{self, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The line the kernel prints once, right before its first prompt.
pub const BOOT_HEADER: &str = "[boot] sis-kernel:";

/// Why a session failed.
#[derive(Debug)]
pub enum DriverError {
    /// The deadline passed while waiting for `waiting_for`; the child was killed.
    Timeout {
        after: Duration,
        waiting_for: String,
        output: String,
    },
    /// The child closed its output (exited) while we waited for `waiting_for`.
    Eof {
        waiting_for: String,
        output: String,
    },
    Io(io::Error),
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Timeout {
                after, waiting_for, ..
            } => write!(
                f,
                "timed out after {} s waiting for {waiting_for:?} (hung boot or shell?); the child was killed",
                after.as_secs()
            ),
            DriverError::Eof { waiting_for, .. } => {
                write!(f, "the child exited while we waited for {waiting_for:?}")
            }
            DriverError::Io(e) => write!(f, "i/o error talking to the child: {e}"),
        }
    }
}

impl std::error::Error for DriverError {}

impl From<io::Error> for DriverError {
    fn from(e: io::Error) -> Self {
        DriverError::Io(e)
    }
}

/// `\r\n` -> `\n`, drop other `\r` and BEL, invalid UTF-8 -> U+FFFD.
pub fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.replace("\r\n", "\n").replace(['\r', '\x07'], "")
}

/// A running child whose console we drive.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: Receiver<Vec<u8>>,
    output: Vec<u8>,
    /// Output before this offset has been matched by a `wait_for`.
    cursor: usize,
    eof: bool,
    started: Instant,
    timeout: Duration,
}

impl Session {
    /// Spawns `cmd` with piped stdin/stdout (stderr is inherited) and a deadline of `timeout`
    /// from now for the whole session.
    pub fn spawn(mut cmd: Command, timeout: Duration) -> io::Result<Session> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("child has no stdout"))?;
        let (tx, chunks) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(Session {
            child,
            stdin,
            chunks,
            output: Vec::new(),
            cursor: 0,
            eof: false,
            started: Instant::now(),
            timeout,
        })
    }

    fn remaining(&self) -> Option<Duration> {
        self.timeout.checked_sub(self.started.elapsed())
    }

    fn timeout_error(&mut self, waiting_for: &str) -> DriverError {
        let _ = self.child.kill();
        let _ = self.child.wait();
        DriverError::Timeout {
            after: self.timeout,
            waiting_for: waiting_for.to_string(),
            output: self.transcript(),
        }
    }

    /// Waits until the output after the last match contains `needle`; returns that output up to
    /// and including `needle` (normalised) and moves past it.
    pub fn wait_for(&mut self, needle: &str) -> Result<String, DriverError> {
        let needle_bytes = needle.as_bytes();
        loop {
            if let Some(pos) = find(&self.output[self.cursor..], needle_bytes) {
                let end = self.cursor + pos + needle_bytes.len();
                let text = normalise(&self.output[self.cursor..end]);
                self.cursor = end;
                return Ok(text);
            }
            if self.eof {
                return Err(DriverError::Eof {
                    waiting_for: needle.to_string(),
                    output: self.transcript(),
                });
            }
            let Some(left) = self.remaining() else {
                return Err(self.timeout_error(needle));
            };
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.output.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Timeout) => return Err(self.timeout_error(needle)),
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
            }
        }
    }

    /// Sends raw bytes to the child's console.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("stdin already closed"))?;
        stdin.write_all(bytes)?;
        stdin.flush()
    }

    /// Types `line` and Enter (sent as `\n`; the kernel's line editor takes `\r`, `\n` or both).
    pub fn send_line(&mut self, line: &str) -> io::Result<()> {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send(&bytes)
    }

    /// Waits for the child to exit (reading the rest of its output), killing it at the deadline.
    pub fn wait_exit(&mut self) -> Result<ExitStatus, DriverError> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                // Drain what the reader thread still has.
                while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_millis(200)) {
                    self.output.extend_from_slice(&chunk);
                }
                return Ok(status);
            }
            if self.remaining().is_none() {
                return Err(self.timeout_error("the child to exit"));
            }
            match self.chunks.recv_timeout(Duration::from_millis(50)) {
                Ok(chunk) => self.output.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.eof = true;
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// What the child printed after the last match (normalised); moves past it.
    pub fn take_pending(&mut self) -> String {
        let text = normalise(&self.output[self.cursor..]);
        self.cursor = self.output.len();
        text
    }

    /// Hands the console to the user: prints what the child printed since the last match, then
    /// copies this process's stdin to the child and the child's output (raw) to stdout until the
    /// child exits. The session's deadline does not apply. The caller sets up the terminal.
    pub fn interact(&mut self) -> Result<ExitStatus, DriverError> {
        let mut out = io::stdout();
        out.write_all(&self.output[self.cursor..])?;
        out.flush()?;
        self.cursor = self.output.len();
        let mut child_in = self
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("stdin already closed"))?;
        // Blocked in read() when the child exits; it ends with the process.
        thread::spawn(move || {
            let mut buf = [0u8; 1024];
            let mut input = io::stdin();
            loop {
                match input.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if child_in
                            .write_all(&buf[..n])
                            .and_then(|()| child_in.flush())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        while let Ok(chunk) = self.chunks.recv() {
            out.write_all(&chunk)?;
            out.flush()?;
            self.output.extend_from_slice(&chunk);
            self.cursor = self.output.len();
        }
        self.eof = true;
        Ok(self.child.wait()?)
    }

    /// Everything the child printed so far, normalised.
    pub fn transcript(&self) -> String {
        normalise(&self.output)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The result of [`run_script`].
#[derive(Debug)]
pub struct ScriptOutcome {
    /// The whole console output, normalised.
    pub transcript: String,
    /// The child's exit code (`None` if it was killed by a signal).
    pub exit_code: Option<i32>,
}

/// Boots `cmd`, waits for [`BOOT_HEADER`], then for each line waits for `prompt` and types the
/// line. Blank lines and lines starting with `#` are skipped. If the child is still running after
/// the last line, Ctrl-D on an empty line ends the session. A child that exits early (an `exit`
/// in the middle, or a kernel that stops during boot) is not an error: the outcome carries its
/// transcript and exit code. Only the deadline passing is an error.
pub fn run_script(
    cmd: Command,
    lines: &[&str],
    prompt: &str,
    timeout: Duration,
) -> Result<ScriptOutcome, DriverError> {
    let mut session = Session::spawn(cmd, timeout)?;
    match feed(&mut session, lines, prompt) {
        Ok(()) | Err(DriverError::Eof { .. }) => {}
        Err(e) => return Err(e),
    }
    let status = session.wait_exit()?;
    Ok(ScriptOutcome {
        transcript: session.transcript(),
        exit_code: status.code(),
    })
}

/// The lines of a script that [`run_script`] types: without line endings, blank lines and
/// `#` comments. Feed the same lines to `kwasm shell` to compare transcripts.
pub fn script_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    lines
        .into_iter()
        .map(|l| l.trim_end_matches(['\r', '\n']))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect()
}

fn feed(session: &mut Session, lines: &[&str], prompt: &str) -> Result<(), DriverError> {
    session.wait_for(BOOT_HEADER)?;
    for line in script_lines(lines.iter().copied()) {
        session.wait_for(prompt)?;
        session.send_line(line)?;
    }
    session.wait_for(prompt)?;
    // Still running after the script: end the session like a user pressing Ctrl-D. The child
    // may already be gone, so a write error here is not a failure.
    let _ = session.send(b"\x04");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_line_endings_and_bells() {
        assert_eq!(normalise(b"a\r\nb\r\x07c\n"), "a\nbc\n");
        assert_eq!(normalise(b"\xffx"), "\u{fffd}x");
    }

    /// A tiny shell in POSIX sh that behaves like the kernel's: header, prompt, echo, exit.
    fn fake_kernel() -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(
            r#"printf '[boot] sis-kernel: heap 1 MiB, boot 1 ms\r\n'
               while printf 'sis> ' && IFS= read -r line; do
                 printf '%s\r\n' "$line"
                 case "$line" in
                   exit*) exit ${line#exit } ;;
                   echo*) printf '%s\r\n' "${line#echo }" ;;
                 esac
               done"#,
        );
        cmd
    }

    #[test]
    fn script_is_fed_after_prompts_and_exit_code_returned() {
        let lines = ["echo hello", "# comment", "", "exit 3", "echo never sent"];
        let out = run_script(fake_kernel(), &lines, "sis> ", Duration::from_secs(20)).unwrap();
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(
            out.transcript,
            "[boot] sis-kernel: heap 1 MiB, boot 1 ms\nsis> echo hello\nhello\nsis> exit 3\n"
        );
    }

    #[test]
    fn hung_child_times_out_and_is_killed() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("sleep 30");
        let started = Instant::now();
        let err = run_script(cmd, &["echo"], "sis> ", Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, DriverError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn child_exiting_during_boot_reports_its_status() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo dying early; exit 7");
        let out = run_script(cmd, &["echo"], "sis> ", Duration::from_secs(10)).unwrap();
        assert_eq!(out.exit_code, Some(7));
        assert_eq!(out.transcript, "dying early\n");
    }

    #[test]
    fn script_without_exit_ends_with_ctrl_d() {
        // The fake treats Ctrl-D (read fails at EOF of its line) as the end: emulate with `head`.
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(
            r#"printf '[boot] sis-kernel: x\n'; printf 'sis> '; IFS= read -r l; printf 'sis> ';
               c=$(dd bs=1 count=1 2>/dev/null | od -An -c | tr -d ' '); [ "$c" = 004 ] && exit 0; exit 9"#,
        );
        let out = run_script(cmd, &["echo a"], "sis> ", Duration::from_secs(10)).unwrap();
        assert_eq!(out.exit_code, Some(0), "{}", out.transcript);
    }
}
