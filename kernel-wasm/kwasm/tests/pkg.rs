//! `kwasm pkg`: the round trip keygen → build → sign → verify → install → list → info → run →
//! upgrade → uninstall on a clean directory, and every refusal as one stderr line, status 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kwasm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(args)
        .output()
        .expect("kwasm runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs kwasm and expects success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = kwasm(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "kwasm {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs kwasm and expects a refusal: status 1 and exactly one line on stderr, returned.
fn refused(args: &[&str]) -> String {
    let out = kwasm(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "kwasm {args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "kwasm {args:?}: {err:?}");
    assert!(err.starts_with("kwasm: "), "{err}");
    err
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("kwasm-pkg-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn path(&self, rest: &str) -> String {
        self.0.join(rest).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// A package directory: manifest (version), the hello module, one asset.
fn package_dir(dir: &Dir, name: &str, version: &str) -> String {
    let src = dir.0.join(name);
    std::fs::create_dir_all(src.join("assets/sub")).unwrap();
    std::fs::write(
        src.join("manifest.toml"),
        format!("name = \"hello\"\nversion = \"{version}\"\ndescription = \"greets\"\nenv = {{ GREETING = \"hi\" }}\n"),
    )
    .unwrap();
    let wasm = wat::parse_file(fixture("hello.wat")).unwrap();
    std::fs::write(src.join("module.wasm"), wasm).unwrap();
    std::fs::write(src.join("assets/sub/data.txt"), "asset\n").unwrap();
    src.display().to_string()
}

#[test]
fn round_trip_from_keygen_to_uninstall() {
    let dir = Dir::new("round-trip");
    let keys = dir.path("keys");
    let out = ok(&["pkg", "keygen", "--out", &keys, "--name", "tester"]);
    assert!(out.starts_with("key "), "{out}");
    let public = dir.path("keys/tester.pub");
    let secret = dir.path("keys/tester.key");
    assert!(public.contains("pub"));
    // keygen never overwrites a key.
    refused(&["pkg", "keygen", "--out", &keys, "--name", "tester"]);

    let src = package_dir(&dir, "src", "1.0.0");
    let wap = dir.path("hello.wap");
    ok(&["pkg", "build", &src, "-o", &wap]);
    let err = refused(&["pkg", "verify", &wap, "--trust", &public]);
    assert!(err.contains("not signed"), "{err}");
    ok(&["pkg", "sign", &wap, "--key", &secret]);
    let out = ok(&["pkg", "verify", &wap, "--trust", &public]);
    assert!(
        out.contains("hello 1.0.0, signed by key ") && out.contains("(tester)"),
        "{out}"
    );
    // --trust names a directory of keys too.
    ok(&["pkg", "verify", &wap, "--trust", &keys]);

    let root = dir.path("root");
    let out = ok(&["pkg", "install", &wap, "--root", &root, "--trust", &public]);
    assert!(out.starts_with("hello 1.0.0 installed"), "{out}");
    let out = ok(&["pkg", "list", "--root", &root]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("NAME") && lines[1].starts_with("hello "),
        "{out}"
    );
    let out = ok(&["pkg", "info", "hello", "--root", &root]);
    assert!(
        out.contains("version: 1.0.0\n") && out.contains("assets/sub/data.txt"),
        "{out}"
    );
    assert_eq!(
        ok(&["pkg", "run", "hello", "--root", &root]),
        "Hello from kernel-wasm!\n"
    );

    let err = refused(&["pkg", "install", &wap, "--root", &root, "--trust", &public]);
    assert!(err.contains("already installed"), "{err}");
    let src2 = package_dir(&dir, "src2", "1.1.0");
    let wap2 = dir.path("hello-1.1.0.wap");
    ok(&["pkg", "build", &src2, "-o", &wap2]);
    ok(&["pkg", "sign", &wap2, "--key", &secret]);
    let out = ok(&["pkg", "install", &wap2, "--root", &root, "--trust", &public]);
    assert!(out.contains("(was 1.0.0)"), "{out}");
    let err = refused(&["pkg", "install", &wap, "--root", &root, "--trust", &public]);
    assert!(err.contains("is older"), "{err}");
    ok(&[
        "pkg", "install", &wap, "--root", &root, "--trust", &public, "--force",
    ]);

    let out = ok(&["pkg", "uninstall", "hello", "--root", &root]);
    assert_eq!(out, "hello 1.0.0 uninstalled\n");
    assert_eq!(
        ok(&["pkg", "list", "--root", &root]),
        "no packages installed\n"
    );
    let err = refused(&["pkg", "run", "hello", "--root", &root]);
    assert!(err.contains("not installed"), "{err}");
    // Nothing is left behind but the empty root.
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}

#[test]
fn refusals_are_one_line_naming_what_failed() {
    let dir = Dir::new("refusals");
    let keys = dir.path("keys");
    ok(&["pkg", "keygen", "--out", &keys, "--name", "good"]);
    ok(&["pkg", "keygen", "--out", &keys, "--name", "other"]);
    let public = dir.path("keys/good.pub");
    let src = package_dir(&dir, "src", "1.0.0");
    let wap = dir.path("hello.wap");
    ok(&["pkg", "build", &src, "-o", &wap]);
    ok(&["pkg", "sign", &wap, "--key", &dir.path("keys/good.key")]);
    let bytes = std::fs::read(&wap).unwrap();

    // A flipped byte in the module (its data starts after the manifest's blocks).
    let module_at = bytes
        .windows(4)
        .position(|w| w == b"\0asm")
        .expect("the module is in the archive");
    let bad = dir.path("bad.wap");
    let mut flipped = bytes.clone();
    flipped[module_at + 20] ^= 1;
    std::fs::write(&bad, &flipped).unwrap();
    let err = refused(&["pkg", "verify", &bad, "--trust", &public]);
    assert!(err.contains("module.wasm: SHA-256"), "{err}");
    let root = dir.path("root");
    refused(&["pkg", "install", &bad, "--root", &root, "--trust", &public]);
    assert!(!Path::new(&root).join("hello").exists());

    // An untrusted key, then a revoked one.
    let err = refused(&[
        "pkg",
        "verify",
        &wap,
        "--trust",
        &dir.path("keys/other.pub"),
    ]);
    assert!(err.contains("is not in the trust store"), "{err}");
    let id = text(&std::fs::read(&public).unwrap())
        .lines()
        .find_map(|l| l.strip_prefix("id ").map(str::to_string))
        .unwrap();
    let revoked = dir.path("revoked");
    std::fs::write(&revoked, format!("{id} lost\n")).unwrap();
    let err = refused(&[
        "pkg",
        "verify",
        &wap,
        "--trust",
        &public,
        "--revoked",
        &revoked,
    ]);
    assert!(err.contains(&format!("key {id} is revoked")), "{err}");
    // A `revoked` file in a trust directory counts too, even with --allow-unsigned.
    std::fs::copy(&revoked, dir.path("keys/revoked")).unwrap();
    let err = refused(&["pkg", "verify", &wap, "--trust", &keys, "--allow-unsigned"]);
    assert!(err.contains("revoked"), "{err}");

    // Truncated, and not a package at all.
    let cut = dir.path("cut.wap");
    std::fs::write(&cut, &bytes[..bytes.len() - 700]).unwrap();
    let err = refused(&["pkg", "verify", &cut, "--trust", &public]);
    assert!(err.contains("malformed package"), "{err}");
    let err = refused(&[
        "pkg",
        "verify",
        &fixture("hello.wat").display().to_string(),
        "--trust",
        &public,
    ]);
    assert!(err.contains("malformed package"), "{err}");

    // --allow-unsigned: a warning line, then success.
    let unsigned = dir.path("unsigned.wap");
    ok(&["pkg", "build", &src, "-o", &unsigned]);
    let out = kwasm(&[
        "pkg",
        "install",
        &unsigned,
        "--root",
        &root,
        "--allow-unsigned",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).starts_with("kwasm: warning: "),
        "{}",
        text(&out.stderr)
    );
    let out = kwasm(&["pkg", "run", "hello", "--root", &root]);
    assert_eq!(text(&out.stdout), "Hello from kernel-wasm!\n");
    assert!(text(&out.stderr).contains("warning: package hello is not signed"));

    // A host directory in a package manifest is refused at build.
    let hostile = package_dir(&dir, "hostile", "1.0.0");
    std::fs::write(
        Path::new(&hostile).join("manifest.toml"),
        "name = \"x\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"/etc\"\nguest = \"/etc\"\n",
    )
    .unwrap();
    let err = refused(&["pkg", "build", &hostile, "-o", &dir.path("x.wap")]);
    assert!(err.contains("may not map host directories"), "{err}");
    // A bad key file.
    std::fs::write(dir.path("bad.pub"), "kwasm public key v1\nname x\n").unwrap();
    let err = refused(&["pkg", "verify", &wap, "--trust", &dir.path("bad.pub")]);
    assert!(err.contains("bad.pub"), "{err}");
    refused(&["pkg", "info", "nope", "--root", &root]);
    refused(&["pkg", "uninstall", "../nope", "--root", &root]);
}
