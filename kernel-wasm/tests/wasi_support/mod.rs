//! Test harness for the WASI host functions: a module that re-exports every preview1 import as
//! `x_<name>` (so a test calls any function with any arguments) plus byte/word access to its
//! memory, instantiated over an in-memory file system with `/sandbox` preopened (fd 3) and a file
//! `secret` outside it, with a capture console.

#![allow(dead_code)]
// The platform is single-threaded; `Arc` only shares the file system with the instance.
#![allow(clippy::arc_with_non_send_sync)]

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::vfs::hostdir::HostDir;
use kernel_wasm::vfs::{NodeId, NodeKind, Vfs};
use kernel_wasm::wasi::Preopen;
use kernel_wasm::{CallOutcome, CapSet, Error, Instance, InstanceConfig, MemFs, Runtime, Value};

/// (name, params, has result) of every preview1 function.
pub const FUNCS: &[(&str, &str, bool)] = &[
    ("args_get", "i32 i32", true),
    ("args_sizes_get", "i32 i32", true),
    ("environ_get", "i32 i32", true),
    ("environ_sizes_get", "i32 i32", true),
    ("clock_res_get", "i32 i32", true),
    ("clock_time_get", "i32 i64 i32", true),
    ("fd_advise", "i32 i64 i64 i32", true),
    ("fd_allocate", "i32 i64 i64", true),
    ("fd_close", "i32", true),
    ("fd_datasync", "i32", true),
    ("fd_fdstat_get", "i32 i32", true),
    ("fd_fdstat_set_flags", "i32 i32", true),
    ("fd_fdstat_set_rights", "i32 i64 i64", true),
    ("fd_filestat_get", "i32 i32", true),
    ("fd_filestat_set_size", "i32 i64", true),
    ("fd_filestat_set_times", "i32 i64 i64 i32", true),
    ("fd_pread", "i32 i32 i32 i64 i32", true),
    ("fd_prestat_get", "i32 i32", true),
    ("fd_prestat_dir_name", "i32 i32 i32", true),
    ("fd_pwrite", "i32 i32 i32 i64 i32", true),
    ("fd_read", "i32 i32 i32 i32", true),
    ("fd_readdir", "i32 i32 i32 i64 i32", true),
    ("fd_renumber", "i32 i32", true),
    ("fd_seek", "i32 i64 i32 i32", true),
    ("fd_sync", "i32", true),
    ("fd_tell", "i32 i32", true),
    ("fd_write", "i32 i32 i32 i32", true),
    ("path_create_directory", "i32 i32 i32", true),
    ("path_filestat_get", "i32 i32 i32 i32 i32", true),
    (
        "path_filestat_set_times",
        "i32 i32 i32 i32 i64 i64 i32",
        true,
    ),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32", true),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", true),
    ("path_readlink", "i32 i32 i32 i32 i32 i32", true),
    ("path_remove_directory", "i32 i32 i32", true),
    ("path_rename", "i32 i32 i32 i32 i32 i32", true),
    ("path_symlink", "i32 i32 i32 i32 i32", true),
    ("path_unlink_file", "i32 i32 i32", true),
    ("poll_oneoff", "i32 i32 i32 i32", true),
    ("proc_exit", "i32", false),
    ("proc_raise", "i32", true),
    ("sched_yield", "", true),
    ("random_get", "i32 i32", true),
    ("sock_accept", "i32 i32 i32", true),
    ("sock_recv", "i32 i32 i32 i32 i32 i32", true),
    ("sock_send", "i32 i32 i32 i32 i32", true),
    ("sock_shutdown", "i32 i32", true),
];

// errno values
pub const SUCCESS: i32 = 0;
pub const BADF: i32 = 8;
pub const BUSY: i32 = 10;
pub const EXIST: i32 = 20;
pub const ILSEQ: i32 = 25;
pub const INVAL: i32 = 28;
pub const ISDIR: i32 = 31;
pub const LOOP: i32 = 32;
pub const MFILE: i32 = 33;
pub const NAMETOOLONG: i32 = 37;
pub const NOENT: i32 = 44;
pub const NOTDIR: i32 = 54;
pub const NOTEMPTY: i32 = 55;
pub const NOTSOCK: i32 = 57;
pub const NOTSUP: i32 = 58;
pub const PERM: i32 = 63;
pub const SPIPE: i32 = 70;
pub const NOTCAPABLE: i32 = 76;

// oflags, rights, flags
pub const CREAT: i64 = 1;
pub const DIRECTORY: i64 = 2;
pub const EXCL: i64 = 4;
pub const TRUNC: i64 = 8;
pub const FOLLOW: i64 = 1;
pub const ALL: i64 = (1 << 30) - 1;
pub const FD_READ: i64 = 1 << 1;
pub const FD_SEEK: i64 = 1 << 2;
pub const FD_WRITE: i64 = 1 << 6;
pub const APPEND: i64 = 1;

fn module_text() -> String {
    let mut wat = String::from("(module\n");
    for (name, params, result) in FUNCS {
        let res = if *result { "(result i32)" } else { "" };
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {params}) {res}))\n"
        );
    }
    wat += "  (memory (export \"memory\") 1)\n";
    for (name, params, result) in FUNCS {
        let res = if *result { "(result i32)" } else { "" };
        let gets: String = (0..params.split_whitespace().count())
            .map(|i| format!("(local.get {i}) "))
            .collect();
        wat += &format!(
            "  (func (export \"x_{name}\") (param {params}) {res} (call ${name} {gets}))\n"
        );
    }
    wat += r#"
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
)"#;
    wat
}

pub struct W {
    pub inst: Instance,
    pub fs: Arc<dyn Vfs>,
    pub sandbox: NodeId,
    pub console: Arc<CaptureConsole>,
    /// The host directory behind a [`Backend::Host`] file system (removed on drop).
    host_dir: Option<std::path::PathBuf>,
}

impl Drop for W {
    fn drop(&mut self) {
        if let Some(dir) = &self.host_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Which file system the sandbox lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Mem,
    /// A real directory through `HostDir` (what `kwasm run --dir` uses).
    Host,
}

/// For each `name` (a `fn name(Backend)` in scope), a test module `name` whose tests `mem` and
/// `host` run it on the in-memory file system and on a real host directory.
#[allow(unused_macros)] // not every test file that includes this module uses it
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn mem() {
                super::$name($crate::wasi_support::Backend::Mem);
            }

            #[test]
            fn host() {
                super::$name($crate::wasi_support::Backend::Host);
            }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

pub struct Setup {
    pub caps: CapSet,
    pub fd_limit: Option<usize>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    pub backend: Backend,
    /// Listening sockets handed over (after `/sandbox`: descriptors 4, 5, ...).
    pub sockets: Vec<kernel_wasm::wasi::SocketPreopen>,
    pub time_limit_ms: Option<u64>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            caps: CapSet::wasi_default(),
            fd_limit: None,
            args: vec!["prog".into()],
            env: Vec::new(),
            stdin: Vec::new(),
            backend: Backend::Mem,
            sockets: Vec::new(),
            time_limit_ms: None,
        }
    }
}

impl W {
    pub fn new() -> W {
        W::with(Setup::default())
    }

    pub fn on(backend: Backend) -> W {
        W::with(Setup {
            backend,
            ..Setup::default()
        })
    }

    pub fn with(setup: Setup) -> W {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let console = Arc::new(CaptureConsole::with_input(&setup.stdin));
        let platform = platform_with_console(console.clone());
        let (fs, host_dir): (Arc<dyn Vfs>, _) = match setup.backend {
            Backend::Mem => (Arc::new(MemFs::new(1 << 20, 1000)), None),
            Backend::Host => {
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let dir =
                    std::env::temp_dir().join(format!("kw-wasi-test-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                (Arc::new(HostDir::new(&dir).unwrap()), Some(dir))
            }
        };
        let root = fs.root();
        let sandbox = fs.create(root, "sandbox", NodeKind::Dir).unwrap();
        let secret = fs.create(root, "secret", NodeKind::File).unwrap();
        fs.write_at(secret, 0, b"top secret").unwrap();
        let mut config = InstanceConfig::new(platform);
        config.caps = setup.caps;
        config.fd_limit = setup.fd_limit;
        config.args = setup.args;
        config.env = setup.env;
        config.preopens = vec![Preopen::new("/sandbox", fs.clone(), sandbox)];
        config.sockets = setup.sockets;
        config.time_limit_ms = setup.time_limit_ms;
        let runtime = Runtime::default();
        let wasm = wat::parse_str(module_text()).unwrap();
        let module = runtime.load(&wasm, Some("wasi-test")).unwrap();
        let inst = runtime.instantiate(&module, config).unwrap();
        W {
            inst,
            fs,
            sandbox,
            console,
            host_dir,
        }
    }

    fn raw(&mut self, export: &str, args: &[i64]) -> Result<CallOutcome, Error> {
        let texts: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.inst.call_with_text(export, &refs)
    }

    /// Calls WASI function `name` with `args` (converted to its parameter types); its errno.
    pub fn wasi(&mut self, name: &str, args: &[i64]) -> i32 {
        match self.raw(&format!("x_{name}"), args) {
            Ok(CallOutcome::Returned(v)) => match v.as_slice() {
                [Value::I32(e)] => *e,
                other => panic!("{name} returned {other:?}"),
            },
            other => panic!("{name}{args:?}: {other:?}"),
        }
    }

    /// Calls WASI function `name`, expecting a trap; the trap's text.
    pub fn trap(&mut self, name: &str, args: &[i64]) -> String {
        match self.raw(&format!("x_{name}"), args) {
            Err(e @ Error::HostAbort { .. }) => e.to_string(),
            other => panic!("{name}{args:?}: expected a trap, got {other:?}"),
        }
    }

    /// The raw outcome of calling WASI function `name`.
    pub fn outcome(&mut self, name: &str, args: &[i64]) -> Result<CallOutcome, Error> {
        self.raw(&format!("x_{name}"), args)
    }

    fn value(&mut self, export: &str, args: &[i64]) -> Value {
        match self.raw(export, args) {
            Ok(CallOutcome::Returned(v)) if v.len() == 1 => v[0],
            other => panic!("{export}: {other:?}"),
        }
    }

    pub fn u8(&mut self, addr: u32) -> u8 {
        match self.value("load8", &[i64::from(addr)]) {
            Value::I32(v) => v as u8,
            v => panic!("{v:?}"),
        }
    }

    pub fn u32(&mut self, addr: u32) -> u32 {
        match self.value("load32", &[i64::from(addr)]) {
            Value::I32(v) => v as u32,
            v => panic!("{v:?}"),
        }
    }

    pub fn u64(&mut self, addr: u32) -> u64 {
        match self.value("load64", &[i64::from(addr)]) {
            Value::I64(v) => v as u64,
            v => panic!("{v:?}"),
        }
    }

    pub fn bytes(&mut self, addr: u32, len: u32) -> Vec<u8> {
        (addr..addr + len).map(|a| self.u8(a)).collect()
    }

    pub fn put(&mut self, addr: u32, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.raw("store8", &[i64::from(addr) + i as i64, i64::from(*b)])
                .unwrap();
        }
    }

    pub fn put32(&mut self, addr: u32, v: u32) {
        self.raw("store32", &[i64::from(addr), i64::from(v)])
            .unwrap();
    }

    pub fn put64(&mut self, addr: u32, v: u64) {
        self.raw("store64", &[i64::from(addr), v as i64]).unwrap();
    }

    /// Puts `path` at 2048 and returns `(ptr, len)` arguments for it.
    pub fn path(&mut self, path: &str) -> [i64; 2] {
        self.path_at(2048, path)
    }

    pub fn path_at(&mut self, addr: u32, path: &str) -> [i64; 2] {
        self.put(addr, path.as_bytes());
        [i64::from(addr), path.len() as i64]
    }

    /// Opens `path` under the preopen with `oflags` and `rights` (fdflags `fdflags`): the errno
    /// and, on success, the new fd.
    pub fn open(&mut self, path: &str, oflags: i64, rights: i64, fdflags: i64) -> Result<u32, i32> {
        let [p, l] = self.path(path);
        match self.wasi(
            "path_open",
            &[3, FOLLOW, p, l, oflags, rights, ALL, fdflags, 0],
        ) {
            0 => Ok(self.u32(0)),
            e => Err(e),
        }
    }

    /// Writes `data` to `fd` through one iovec; errno and bytes written.
    pub fn write(&mut self, fd: u32, data: &[u8]) -> (i32, u32) {
        self.put(4096, data);
        self.put32(512, 4096);
        self.put32(516, data.len() as u32);
        self.put32(8, 0);
        let e = self.wasi("fd_write", &[i64::from(fd), 512, 1, 8]);
        (e, self.u32(8))
    }

    /// Reads up to `len` bytes from `fd` through one iovec.
    pub fn read(&mut self, fd: u32, len: u32) -> Result<Vec<u8>, i32> {
        self.put32(512, 4096);
        self.put32(516, len);
        match self.wasi("fd_read", &[i64::from(fd), 512, 1, 8]) {
            0 => {
                let n = self.u32(8);
                Ok(self.bytes(4096, n))
            }
            e => Err(e),
        }
    }

    /// The node at `path` inside the sandbox (host side), if any.
    pub fn host_lookup(&self, path: &str) -> Option<u64> {
        let mut node = self.sandbox;
        for part in path.split('/') {
            node = self.fs.lookup(node, part).ok()?;
        }
        Some(node)
    }

    pub fn host_read(&self, path: &str) -> Option<Vec<u8>> {
        let node = self.host_lookup(path)?;
        let mut buf = vec![0u8; 4096];
        let n = self.fs.read_at(node, 0, &mut buf).ok()?;
        buf.truncate(n);
        Some(buf)
    }

    pub fn host_write(&self, path: &str, data: &[u8]) {
        let node = self.fs.create(self.sandbox, path, NodeKind::File).unwrap();
        self.fs.write_at(node, 0, data).unwrap();
    }
}
