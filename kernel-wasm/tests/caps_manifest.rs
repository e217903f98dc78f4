//! Manifests: a complete one, the bridge to `InstanceConfig`, and bad and hostile files, each
//! refused with an error naming the line and the field, never a panic.

use std::sync::Arc;

#[path = "../src/test_rng.rs"]
mod test_rng;
use test_rng::XorShift;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::manifest::{PreopenSpec, MAX_MANIFEST_BYTES};
use kernel_wasm::{Capability, Error, InstanceConfig, Manifest};

fn good() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/manifests/good.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

/// Parses `text`, expecting an error; returns (line, field, message).
fn refused(text: &str) -> (Option<u32>, Option<String>, String) {
    match Manifest::parse(text) {
        Err(Error::Manifest {
            line,
            field,
            message,
        }) => (line, field, message),
        Err(other) => panic!("not a manifest error: {other}"),
        Ok(m) => panic!("accepted: {m:?}\n--- from:\n{text}"),
    }
}

const HEAD: &str = "name = \"m\"\nversion = \"1.0.0\"\n";

#[test]
fn a_complete_manifest_parses() {
    let m = Manifest::parse(&good()).expect("valid");
    assert_eq!(m.name, "indexer");
    assert_eq!(m.version.to_string(), "1.2.0-rc.1+build.5");
    assert_eq!(
        (m.version.major, m.version.minor, m.version.patch),
        (1, 2, 0)
    );
    assert_eq!(
        m.description.as_deref(),
        Some("Builds the search index of /data")
    );
    assert_eq!(m.entry, "index");
    assert_eq!(
        m.capabilities.to_string(),
        "file:read=/data,file:write=/out,clock,agent:spawn"
    );
    assert!(m.capabilities.allows_path(Capability::FileRead, "/data/x"));
    assert!(!m.capabilities.has(Capability::Env));
    assert_eq!(m.memory_limit, Some(64 << 20));
    assert_eq!(m.fuel_limit, Some(50_000_000));
    assert_eq!(m.time_limit_ms, Some(2000));
    assert_eq!(m.fd_limit, Some(32));
    assert_eq!(m.spawn_limit, Some(4));
    assert_eq!(m.mailbox_depth, Some(64));
    assert_eq!(m.args, ["--verbose", "-n", "3"]);
    assert_eq!(
        m.env,
        [("LANG".into(), "C".into()), ("MODE".into(), "fast".into())]
    );
    assert_eq!(
        m.preopens,
        [
            PreopenSpec {
                host: "data".into(),
                guest: "/data".into()
            },
            PreopenSpec {
                host: "/tmp/out".into(),
                guest: "/out".into()
            },
        ]
    );
}

#[test]
fn a_minimal_manifest_grants_nothing_and_limits_nothing() {
    let m = Manifest::parse(HEAD).expect("valid");
    assert_eq!(m.entry, "_start");
    assert_eq!(m.capabilities, kernel_wasm::CapSet::none());
    assert_eq!(m.memory_limit, None);
    assert_eq!(m.fuel_limit, None);
    assert!(m.env.is_empty() && m.args.is_empty() && m.preopens.is_empty());
}

#[test]
fn the_manifest_configures_an_instance() {
    let m = Manifest::parse(&good()).expect("valid");
    let mut cfg = InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    cfg.args = vec!["indexer.wasm".into(), "extra".into()];
    cfg.env = vec![("MODE".into(), "slow".into())];
    m.apply_to(&mut cfg);
    assert_eq!(cfg.caps, m.capabilities);
    assert_eq!(cfg.max_memory, Some(64 << 20));
    assert_eq!(cfg.fuel, Some(50_000_000));
    assert_eq!(cfg.time_limit_ms, Some(2000));
    assert_eq!(cfg.spawn_limit, Some(4));
    assert_eq!(cfg.mailbox_depth, Some(64));
    assert_eq!(cfg.args, ["indexer.wasm", "--verbose", "-n", "3", "extra"]);
    // The variables given by the embedder win over the manifest's.
    assert_eq!(
        cfg.env,
        [("LANG".into(), "C".into()), ("MODE".into(), "slow".into())]
    );
    // Without an argv[0], the manifest's name is used.
    let mut cfg = InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    m.apply_to(&mut cfg);
    assert_eq!(cfg.args[0], "indexer");
}

#[test]
fn sizes_accept_integers_and_binary_units() {
    for (text, bytes) in [
        ("65536", 65536usize),
        ("\"64KiB\"", 64 << 10),
        ("\"16 MiB\"", 16 << 20),
        ("\"1GiB\"", 1 << 30),
        ("\"4096B\"", 4096),
        ("\"1_024KiB\"", 1 << 20),
    ] {
        let m = Manifest::parse(&format!("{HEAD}memory_limit = {text}\n"))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(m.memory_limit, Some(bytes), "{text}");
    }
    for text in [
        "\"64MB\"",
        "\"lots\"",
        "\"\"",
        "0",
        "-1",
        "\"0KiB\"",
        "true",
        "\"99999999999999999999GiB\"",
    ] {
        let (line, field, message) = refused(&format!("{HEAD}memory_limit = {text}\n"));
        assert_eq!(line, Some(3), "{text}: {message}");
        assert_eq!(field.as_deref(), Some("memory_limit"), "{text}: {message}");
    }
}

#[test]
fn bad_files_name_the_line_and_the_field() {
    // (file, line, field, part of the message)
    let cases: &[(&str, u32, &str, &str)] = &[
        ("name = \"m\"\nversion = \"1.0\"\n", 2, "version", "not a semantic version"),
        ("name = \"m\"\nversion = \"01.0.0\"\n", 2, "version", "leading zeros"),
        ("name = \"m\"\nversion = \"1.0.0-\"\n", 2, "version", "empty identifier"),
        ("name = \"m\"\nversion = \"1.0.0-01\"\n", 2, "version", "leading zero"),
        ("name = \"m\"\nversion = \"1.0.0.0\"\n", 2, "version", "more than three"),
        ("name = \"m\"\nversion = \"v1.0.0\"\n", 2, "version", "not a number"),
        ("name = \"m\"\nversion = 1\n", 2, "version", "string"),
        ("name = \"bad name\"\nversion = \"1.0.0\"\n", 1, "name", "letters, digits"),
        ("name = \"\"\nversion = \"1.0.0\"\n", 1, "name", "must start"),
        ("name = \"m\"\nversion = \"1.0.0\"\ncolour = \"red\"\n", 3, "colour", "unknown field"),
        ("name = \"m\"\nversion = \"1.0.0\"\nfuel_limit = -5\n", 3, "fuel_limit", "negative"),
        ("name = \"m\"\nversion = \"1.0.0\"\nfuel_limit = 0\n", 3, "fuel_limit", "at least 1"),
        ("name = \"m\"\nversion = \"1.0.0\"\nfuel_limit = \"lots\"\n", 3, "fuel_limit", "invalid type"),
        ("name = \"m\"\nversion = \"1.0.0\"\nfd_limit = 4294967296\n", 3, "fd_limit", "more than"),
        ("name = \"m\"\nversion = \"1.0.0\"\nspawn_limit = 1.5\n", 3, "spawn_limit", "invalid type"),
        ("name = \"m\"\nversion = \"1.0.0\"\nmailbox_depth = 0\n", 3, "mailbox_depth", "at least 1"),
        ("name = \"m\"\nversion = \"1.0.0\"\nentry = \"\"\n", 3, "entry", "empty"),
        ("name = \"m\"\nversion = \"1.0.0\"\nargs = \"--x\"\n", 3, "args", "sequence"),
        ("name = \"m\"\nversion = \"1.0.0\"\nargs = [1, 2]\n", 3, "args", "string"),
        ("name = \"m\"\nversion = \"1.0.0\"\n[env]\nA = 1\n", 4, "A", "string"),
        ("name = \"m\"\nversion = \"1.0.0\"\n[env]\n\"A=B\" = \"x\"\n", 4, "env.A=B", "'='"),
        (
            "name = \"m\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"d\"\nguest = \"data\"\n",
            5,
            "preopens.guest",
            "absolute",
        ),
        (
            "name = \"m\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"d\"\nguest = \"/a/../b\"\n",
            5,
            "preopens.guest",
            "..",
        ),
        (
            "name = \"m\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"d\"\nguest = \"/d\"\nmode = \"rw\"\n",
            6,
            "mode",
            "unknown field",
        ),
        (
            "name = \"m\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"\"\nguest = \"/d\"\n",
            4,
            "preopens.host",
            "empty",
        ),
        (
            "name = \"m\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"a\"\nguest = \"/d\"\n[[preopens]]\nhost = \"b\"\nguest = \"/d\"\n",
            8,
            "preopens.guest",
            "twice",
        ),
        ("name = \"m\"\nversion = \"1.0.0\"\nname = \"n\"\n", 3, "name", "duplicate"),
    ];
    for (text, line, field, part) in cases {
        let (got_line, got_field, message) = refused(text);
        assert_eq!(got_line, Some(*line), "{text:?}: {message}");
        assert_eq!(got_field.as_deref(), Some(*field), "{text:?}: {message}");
        assert!(
            message.contains(part),
            "{text:?}: {message:?} lacks {part:?}"
        );
    }
    // A raw newline ends the string: the TOML layer reports where it stopped making sense.
    let (line, _, message) = refused("name = \"m\"\nversion = \"1.0.0\"\ndescription = \"a\nb\"\n");
    assert_eq!(line, Some(4), "{message}");
    // A missing required field is named (no line: it is not there).
    let (line, field, _) = refused("version = \"1.0.0\"\n");
    assert_eq!((line, field.as_deref()), (None, Some("name")));
    let (_, field, _) = refused("name = \"m\"\n");
    assert_eq!(field.as_deref(), Some("version"));
}

#[test]
fn an_unknown_capability_is_named_with_the_valid_ones() {
    let text = format!("{HEAD}capabilities = [\n  \"clock\",\n  \"teleport\",\n]\n");
    let (line, field, message) = refused(&text);
    assert_eq!(line, Some(5));
    assert_eq!(field.as_deref(), Some("capabilities"));
    assert!(message.contains("\"teleport\""), "{message}");
    for cap in Capability::ALL {
        assert!(message.contains(cap.name()), "{message} lacks {cap}");
    }
    // Scopes only on file capabilities, and absolute.
    let (_, _, message) = refused(&format!("{HEAD}capabilities = [\"clock=/x\"]\n"));
    assert!(message.contains("cannot be scoped"), "{message}");
    let (_, _, message) = refused(&format!("{HEAD}capabilities = [\"file:read=data\"]\n"));
    assert!(message.contains("absolute"), "{message}");
    // The error is one line, whatever the input.
    let err = Manifest::parse(&text).unwrap_err().to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(err.starts_with("manifest, line 5, capabilities: "), "{err}");
}

#[test]
fn hostile_files_are_refused_without_panicking() {
    // Numbers beyond i64, beyond u64 as units.
    let (line, _, _) = refused(&format!("{HEAD}fuel_limit = 99999999999999999999999\n"));
    assert_eq!(line, Some(3));
    let (_, field, _) = refused(&format!(
        "{HEAD}memory_limit = \"18446744073709551615GiB\"\n"
    ));
    assert_eq!(field.as_deref(), Some("memory_limit"));

    // Deep nesting: arrays and inline tables, far past any sane depth.
    for depth in [100, 10_000] {
        let arrays = format!("{HEAD}args = {}{}\n", "[".repeat(depth), "]".repeat(depth));
        refused(&arrays);
        let tables = format!("{HEAD}env = {}{}\n", "{a=".repeat(depth), "}".repeat(depth));
        refused(&tables);
        let dotted = format!("{HEAD}{} = 1\n", vec!["k"; depth].join("."));
        refused(&dotted);
        let headers = format!("{HEAD}[{}]\n", vec!["t"; depth].join("."));
        refused(&headers);
    }

    // Very long strings: refused by their field limit, or by the file limit.
    let long = "x".repeat(5000);
    let (_, field, message) = refused(&format!("{HEAD}args = [\"{long}\"]\n"));
    assert_eq!(field.as_deref(), Some("args"));
    assert!(message.contains("4096"), "{message}");
    let (_, field, _) = refused(&format!(
        "name = \"{}\"\nversion = \"1.0.0\"\n",
        "n".repeat(65)
    ));
    assert_eq!(field.as_deref(), Some("name"));
    let (_, field, _) = refused(&format!("{HEAD}description = \"{}\"\n", "d".repeat(2000)));
    assert_eq!(field.as_deref(), Some("description"));
    let (line, field, message) = refused(&format!("{HEAD}# {}\n", "x".repeat(MAX_MANIFEST_BYTES)));
    assert_eq!((line, field), (None, None));
    assert!(message.contains("the most is 65536"), "{message}");
    // Too many items.
    let many: Vec<String> = (0..300).map(|i| format!("\"a{i}\"")).collect();
    let (_, field, _) = refused(&format!("{HEAD}args = [{}]\n", many.join(",")));
    assert_eq!(field.as_deref(), Some("args"));
    // A very long unknown key: the message stays short.
    let key = "k".repeat(20_000);
    let (_, _, message) = refused(&format!("{HEAD}{key} = 1\n"));
    assert!(message.len() < 400, "{} bytes", message.len());

    // Not UTF-8, NUL and control characters, garbage, empty.
    assert!(matches!(
        Manifest::from_bytes(b"name = \"m\xff\"\n"),
        Err(Error::Manifest { line: Some(1), .. })
    ));
    refused(&format!("{HEAD}args = [\"a\\u0000b\"]\n"));
    refused(&format!("{HEAD}description = \"bell\\u0007\"\n"));
    refused("\u{0}\u{1}\u{2}");
    refused("[[[[");
    refused("= = =");
    refused("");
    // Every prefix of a good file either parses or fails cleanly.
    let good = good();
    for end in (0..good.len()).filter(|&i| good.is_char_boundary(i)) {
        let _ = Manifest::parse(&good[..end]);
    }
}

#[test]
fn absurd_values_get_an_error_naming_what_is_wrong() {
    // (body after HEAD, line, field, the whole message)
    let cases: &[(&str, u32, &str, &str)] = &[
        (
            "memory_limit = 1.5",
            3,
            "memory_limit",
            "invalid type: floating point `1.5`, expected an integer number of bytes or a string like \"64MiB\"",
        ),
        (
            "memory_limit = [1]",
            3,
            "memory_limit",
            "invalid type: sequence, expected an integer number of bytes or a string like \"64MiB\"",
        ),
        (
            "memory_limit = 99999999999999999999",
            3,
            "memory_limit",
            "99999999999999999999 is too large",
        ),
        (
            "memory_limit = -99999999999999999999",
            3,
            "memory_limit",
            "must not be negative",
        ),
        ("memory_limit = -1", 3, "memory_limit", "must not be negative"),
        ("memory_limit = 0", 3, "memory_limit", "must be at least 1"),
        ("fuel_limit = 0", 3, "fuel_limit", "must be at least 1"),
        ("time_limit_ms = -1", 3, "time_limit_ms", "must not be negative"),
        (
            "spawn_limit = 4294967296",
            3,
            "spawn_limit",
            "4294967296 is more than the most, 4294967295",
        ),
        (
            "capabilities = [\"file:read=/data/../etc\"]",
            3,
            "capabilities",
            "scope \"/data/../etc\" of file:read must be a plain guest path: no . or .. components, ',' or control characters",
        ),
        (
            "capabilities = [\"clock\",\n  \"file:write=/a,clock\"]",
            4,
            "capabilities",
            "scope \"/a,clock\" of file:write must be a plain guest path: no . or .. components, ',' or control characters",
        ),
        (
            "capabilities = [\"file:create=out\"]",
            3,
            "capabilities",
            "scope \"out\" of file:create must be an absolute guest path like /data",
        ),
        (
            "capabilities = [\"file:read:extra\"]",
            3,
            "capabilities",
            "unknown capability \"file:read:extra\"; valid: file:read, file:write, file:create, env, clock, random, net:connect, net:send, net:recv, agent:spawn, agent:send, agent:receive, llm:infer, llm:adapter",
        ),
        (
            "[[preopens]]\nguest = \"/x\"",
            3,
            "preopens",
            "missing field `host`",
        ),
        (
            "[[preopens]]\nhost = \"a\"\nguest = \"//x\"",
            5,
            "preopens.guest",
            "\"//x\" must be an absolute guest path without . or .. or empty components (like /data)",
        ),
        (
            "[[preopens]]\nhost = \"a\"\nguest = \"/x/\"\n[[preopens]]\nhost = \"b\"\nguest = \"/x\"",
            8,
            "preopens.guest",
            "\"/x\" is mounted twice",
        ),
        (
            "[env]\n\"A\\u001bB\" = \"x\"",
            4,
            "env.A\\u{1b}B",
            "variable names must be 1 to 256 bytes without '=', NUL or control characters",
        ),
        (
            "[foo]\nx = 1",
            3,
            "foo",
            "unknown field `foo`, expected one of `name`, `version`, `description`, `entry`, `capabilities`, `memory_limit`, `fuel_limit`, `time_limit_ms`, `fd_limit`, `spawn_limit`, `mailbox_depth`, `env`, `args`, `preopens`",
        ),
        ("[name]", 3, "name", "duplicate key"),
    ];
    for (body, line, field, message) in cases {
        let text = format!("{HEAD}{body}\n");
        assert_eq!(
            refused(&text),
            (Some(*line), Some(field.to_string()), message.to_string()),
            "{body:?}"
        );
    }
    // A trailing slash does not make another mount point.
    let m = Manifest::parse(&format!(
        "{HEAD}[[preopens]]\nhost = \"a\"\nguest = \"/x/\"\n[[preopens]]\nhost = \"b\"\nguest = \"/\"\n"
    ))
    .unwrap();
    let guests: Vec<&str> = m.preopens.iter().map(|p| p.guest.as_str()).collect();
    assert_eq!(guests, ["/x", "/"]);
}

#[test]
fn no_error_puts_a_control_character_on_the_terminal() {
    // A quoted key holding an escape sequence, unknown: the TOML layer names it.
    let err = Manifest::parse(&format!("{HEAD}\"k\\u001b[2J\" = 1\n"))
        .unwrap_err()
        .to_string();
    assert!(!err.chars().any(char::is_control), "{err:?}");
    assert!(err.contains("k\\u{1b}[2J"), "{err}");
}

/// Thousands of random byte strings and mutations of the good file: each parses or is one
/// manifest error on one line, never a panic.
#[test]
fn random_inputs_parse_or_fail_cleanly() {
    let good = good().into_bytes();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    // TOML's own punctuation, so mutations reach deep into the parser.
    const TOKENS: &[&[u8]] = &[
        b"[",
        b"]",
        b"[[",
        b"]]",
        b"{",
        b"}",
        b"=",
        b"\"",
        b"'",
        b"\"\"\"",
        b",",
        b".",
        b"\n",
        b"#",
        b"\\",
        b"\\u",
        b"0x",
        b"-",
        b"inf",
        b"1979-05-27T07:32:00Z",
        b"\xff",
        b"\0",
    ];
    for round in 0..4000 {
        let bytes: Vec<u8> = if round % 2 == 0 {
            let len = (rng.next() % 300) as usize;
            (0..len)
                .flat_map(|_| {
                    let r = rng.next();
                    if r % 4 == 0 {
                        TOKENS[(r >> 8) as usize % TOKENS.len()].to_vec()
                    } else {
                        vec![(r >> 16) as u8 & 0x7f]
                    }
                })
                .collect()
        } else {
            let mut m = good.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % (m.len() + 1);
                let token = TOKENS[(rng.next() as usize) % TOKENS.len()];
                match rng.next() % 3 {
                    0 => m.splice(at..at, token.iter().copied()).for_each(drop),
                    1 if at < m.len() => m[at] = rng.next() as u8,
                    _ => m.truncate(at),
                }
            }
            m
        };
        match Manifest::from_bytes(&bytes) {
            Ok(_) => {}
            Err(e @ Error::Manifest { .. }) => {
                let text = e.to_string();
                assert!(!text.contains('\n'), "round {round}: {text:?}");
                assert!(text.len() < 1024, "round {round}: {} bytes", text.len());
            }
            Err(other) => panic!("round {round}: not a manifest error: {other}"),
        }
    }
}
