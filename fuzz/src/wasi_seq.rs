//! WASI call sequences decoded from the input, run against `MemFs` or against a `HostDir` over a
//! fresh temporary directory: a guest module re-exports every `wasi_snapshot_preview1` import,
//! and each step calls one with arguments drawn from values that matter (descriptors, pointers
//! near the ends of memory, lengths, flag bits, raw numbers) or writes a path (from a
//! dictionary of sandbox-escape attempts and edge cases, or raw bytes) where the next call
//! finds it.
//!
//! Properties checked after every sequence: nothing outside the sandbox changed (the file next
//! to it keeps its bytes, no entry appeared beside it), every call returned an errno WASI
//! defines or stopped the instance with an error, and the host never panicked.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use arbitrary::{Result, Unstructured};
use kernel_wasm::vfs::hostdir::HostDir;
use kernel_wasm::vfs::{NodeKind, Vfs};
use kernel_wasm::wasi::Preopen;
use kernel_wasm::{CallOutcome, CapSet, Instance, InstanceConfig, MemFs, Runtime, Value};

/// Which file system the sandbox is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Mem,
    Host,
}

/// (name, parameter types: `i` i32, `l` i64) of every function a step may call. `proc_exit`
/// is left out (it ends the sequence; `module_run` covers it).
const FUNCS: &[(&str, &str)] = &[
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "ili"),
    ("fd_advise", "illi"),
    ("fd_allocate", "ill"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "ill"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "il"),
    ("fd_filestat_set_times", "illi"),
    ("fd_pread", "iiili"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiili"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiili"),
    ("fd_renumber", "ii"),
    ("fd_seek", "ilii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiilli"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiillii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

/// The (pointer, length) argument positions of each path-taking function.
const PATH_ARGS: &[(&str, &[usize])] = &[
    ("path_create_directory", &[1]),
    ("path_filestat_get", &[2]),
    ("path_filestat_set_times", &[2]),
    ("path_link", &[2, 5]),
    ("path_open", &[2]),
    ("path_readlink", &[1]),
    ("path_remove_directory", &[1]),
    ("path_rename", &[1, 4]),
    ("path_symlink", &[0, 3]),
    ("path_unlink_file", &[1]),
];

/// Where the paths of a path call go.
const PATH_SLOTS: [u32; 2] = [2048, 3072];

/// Paths that probe the sandbox and the edge cases of resolution.
const PATHS: &[&str] = &[
    "f",
    "d",
    "d/f",
    "d/e",
    "l",
    "ld",
    ".",
    "..",
    "../secret",
    "../sandbox/f",
    "/secret",
    "/",
    "d/../f",
    "d/../../secret",
    "f/",
    "d/",
    "d/.",
    "f/.",
    "l/",
    "./d//f",
    "loop",
    "a/b/c",
    "",
    "x\0y",
    "d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d",
];

/// Symlink targets worth storing (`path_symlink`'s first path).
const TARGETS: &[&str] = &[
    "f",
    "d",
    "..",
    "../secret",
    "/secret",
    "loop",
    "d/../..",
    "l",
];

/// Pointers: the scratch areas, and the ends of the 64 KiB memory.
const ADDRS: &[u32] = &[
    0,
    8,
    64,
    512,
    520,
    1024,
    2048,
    3072,
    4096,
    8192,
    65528,
    65532,
    65535,
    65536,
    u32::MAX,
];
/// Lengths and counts.
const LENS: &[u32] = &[
    0,
    1,
    2,
    4,
    8,
    24,
    64,
    255,
    256,
    1024,
    1025,
    4096,
    4097,
    65536,
    u32::MAX,
];
/// Descriptors: stdio, the preopen, the next ones opened, and nonsense.
const FDS: &[u32] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 1000, u32::MAX];

fn module_text() -> String {
    let mut wat = String::from("(module\n");
    for (name, params) in FUNCS {
        let params: Vec<&str> = params
            .chars()
            .map(|c| if c == 'i' { "i32" } else { "i64" })
            .collect();
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) (result i32)))\n",
            params.join(" ")
        );
    }
    wat += "  (memory (export \"memory\") 1 1)\n";
    // The iovecs at 512 and 520 point at 64 bytes each of data at 4096 and 4160.
    wat += "  (data (i32.const 512) \"\\00\\10\\00\\00\\40\\00\\00\\00\\40\\10\\00\\00\\40\\00\\00\\00\")\n";
    wat += "  (data (i32.const 4096) \"hello, fuzzed world\")\n";
    for (name, params) in FUNCS {
        let decl: Vec<&str> = params
            .chars()
            .map(|c| if c == 'i' { "i32" } else { "i64" })
            .collect();
        let gets: String = (0..params.len())
            .map(|i| format!("(local.get {i}) "))
            .collect();
        wat += &format!(
            "  (func (export \"x_{name}\") (param {}) (result i32) (call ${name} {gets}))\n",
            decl.join(" ")
        );
    }
    wat += "  (func (export \"poke\") (param i32 i64) (i64.store (local.get 0) (local.get 1)))\n)";
    wat
}

thread_local! {
    static HARNESS: (Runtime, kernel_wasm::Module) = {
        let runtime = Runtime::default();
        let wasm = wat::parse_str(module_text()).expect("the harness compiles");
        let module = runtime.load(&wasm, Some("wasi-fuzz")).expect("the harness loads");
        (runtime, module)
    };
}

/// The sandbox of one sequence: its file system, the sandbox directory, and (for `HostDir`)
/// the temporary directory that holds it, removed afterwards.
struct Sandbox {
    fs: Arc<dyn Vfs>,
    root_dir: Option<PathBuf>,
}

impl Sandbox {
    fn new(backend: Backend) -> Sandbox {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        match backend {
            Backend::Mem => Sandbox {
                fs: Arc::new(MemFs::new(1 << 20, 256)),
                root_dir: None,
            },
            Backend::Host => {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let dir =
                    std::env::temp_dir().join(format!("kw-fuzz-wasi-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).expect("a temporary directory");
                Sandbox {
                    fs: Arc::new(HostDir::new(&dir).expect("the temporary directory opens")),
                    root_dir: Some(dir),
                }
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(dir) = &self.root_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

const SECRET: &[u8] = b"outside the sandbox";

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> Result<T> {
    Ok(*u.choose(from)?)
}

/// One argument of type `ty` (`i` or `l`).
fn arg(u: &mut Unstructured<'_>, ty: char) -> Result<Value> {
    let v: u64 = match u.int_in_range(0..=5)? {
        0 => u.int_in_range(0..=16)?,
        1 => u64::from(pick(u, FDS)?),
        2 => u64::from(pick(u, ADDRS)?),
        3 => u64::from(pick(u, LENS)?),
        // Flag words: one or two bits.
        4 => (1u64 << u.int_in_range(0..=31)?) | (1u64 << u.int_in_range(0..=31)?),
        _ => u.arbitrary()?,
    };
    Ok(if ty == 'i' {
        Value::I32(v as u32 as i32)
    } else {
        Value::I64(v as i64)
    })
}

/// Bytes of a path: from the dictionary (or the symlink targets), or raw.
fn path_bytes(u: &mut Unstructured<'_>, target: bool) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => pick(u, PATHS)?.as_bytes().to_vec(),
        2 if target => pick(u, TARGETS)?.as_bytes().to_vec(),
        _ => {
            let len = u.int_in_range(0..=300)?;
            u.bytes(len.min(u.len()))?.to_vec()
        }
    })
}

fn poke(inst: &mut Instance, addr: u32, bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(8).enumerate() {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let at = addr as usize + i * 8;
        if at + 8 > 65536 {
            return;
        }
        let _ = inst.call(
            "poke",
            &[Value::I32(at as i32), Value::I64(i64::from_le_bytes(word))],
        );
    }
}

/// Runs the sequence `data` describes against `backend`, then checks the sandbox held.
pub fn run(data: &[u8], backend: Backend) {
    let sandbox = Sandbox::new(backend);
    let fs = sandbox.fs.clone();
    let root = fs.root();
    let dir = fs.create(root, "sandbox", NodeKind::Dir).expect("sandbox");
    let secret = fs.create(root, "secret", NodeKind::File).expect("secret");
    fs.write_at(secret, 0, SECRET).expect("secret written");
    // A few entries to start from: a file, a directory, a symlink to each.
    let f = fs.create(dir, "f", NodeKind::File).expect("f");
    fs.write_at(f, 0, b"data of f").expect("f written");
    let d = fs.create(dir, "d", NodeKind::Dir).expect("d");
    fs.create(d, "e", NodeKind::File).expect("d/e");
    fs.symlink(dir, "l", "f").expect("l");
    fs.symlink(dir, "ld", "d").expect("ld");

    let (platform, _console) = crate::platform_with(b"line one\nline two\n");
    let mut config = InstanceConfig::new(platform);
    config.caps = CapSet::wasi_default();
    config.preopens = vec![Preopen::new("/sandbox", fs.clone(), dir)];
    config.fd_limit = Some(16);
    config.fuel = Some(50_000_000);
    config.time_limit_ms = Some(1_000);
    config.args = vec!["fuzz".into(), "--flag".into()];
    config.env = vec![("HOME".into(), "/sandbox".into())];
    let instance = HARNESS.with(|(runtime, module)| runtime.instantiate(module, config));
    let mut inst = instance.expect("the harness instantiates");

    let mut u = Unstructured::new(data);
    for _ in 0..64 {
        if u.is_empty() || step(&mut u, &mut inst).is_err() {
            break;
        }
    }
    drop(inst);
    check_outside(&*fs, secret);
}

/// One step; `Err` ends the sequence (the input ran out, or the instance stopped).
fn step(u: &mut Unstructured<'_>, inst: &mut Instance) -> Result<()> {
    let (name, params) = if u.ratio(1, 2)? {
        // A path call: its paths written where its arguments point.
        let (name, slots) = pick(u, PATH_ARGS)?;
        let params = FUNCS.iter().find(|f| f.0 == name).map_or("", |f| f.1);
        let mut args: Vec<Value> = params.chars().map(|c| arg(u, c)).collect::<Result<_>>()?;
        for (slot, &at) in slots.iter().enumerate() {
            let target = name == "path_symlink" && slot == 0;
            let bytes = path_bytes(u, target)?;
            poke(inst, PATH_SLOTS[slot], &bytes);
            args[at] = Value::I32(PATH_SLOTS[slot] as i32);
            args[at + 1] = Value::I32(bytes.len() as i32);
        }
        if name != "path_symlink" {
            // The directory: mostly the preopen or one opened from it.
            args[0] = Value::I32(pick(u, &[3, 3, 4, 5])?);
        }
        return call(inst, name, &args);
    } else if u.ratio(1, 8)? {
        let at = pick(u, ADDRS)?;
        let bytes = path_bytes(u, false)?;
        poke(inst, at, &bytes);
        return Ok(());
    } else {
        pick(u, FUNCS)?
    };
    let args: Vec<Value> = params.chars().map(|c| arg(u, c)).collect::<Result<_>>()?;
    call(inst, name, &args)
}

fn call(inst: &mut Instance, name: &str, args: &[Value]) -> Result<()> {
    match inst.call(&format!("x_{name}"), args) {
        Ok(CallOutcome::Returned(values)) => {
            match values.as_slice() {
                [Value::I32(errno)] => assert!(
                    (0..=76).contains(errno),
                    "{name}{args:?} returned {errno}, not a WASI errno"
                ),
                other => panic!("{name} returned {other:?}"),
            }
            Ok(())
        }
        // A trap (a bad pointer) or a limit: the instance goes on or is stopped; a stopped one
        // ends the sequence.
        Ok(CallOutcome::Exited(_)) => Err(arbitrary::Error::IncorrectFormat),
        Err(kernel_wasm::Error::HostAbort { .. }) => Ok(()),
        Err(_) => Err(arbitrary::Error::IncorrectFormat),
    }
}

/// The sandbox's root holds what it held (the sandbox and the secret beside it), and the secret
/// its bytes: no sequence reached outside.
fn check_outside(fs: &dyn Vfs, secret: u64) {
    let root = fs.root();
    let names: Vec<String> = fs
        .read_dir(root)
        .expect("the root lists")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        ["sandbox", "secret"],
        "an entry appeared outside the sandbox"
    );
    let mut buf = vec![0u8; 64];
    let n = fs.read_at(secret, 0, &mut buf).expect("the secret reads");
    assert_eq!(&buf[..n], SECRET, "the file outside the sandbox changed");
    let meta = fs.stat(secret).expect("the secret stats");
    assert_eq!(
        meta.nlink, 1,
        "the file outside the sandbox got a hard link"
    );
}
