//! WASI preview1 (`wasi_snapshot_preview1`): every function of the snapshot, with wasmtime's
//! semantics and errno values (see `docs/wasi.md` for the per-function notes).
//!
//! One concept per file: [`ctx`] (the per-instance state and preopens), [`fd_table`] (descriptors
//! and rights), [`rights`] (rights and how capabilities grant them), [`errno`] (the one mapping of
//! errors to errno numbers, and the errno/trap split), [`types`] (guest struct layouts),
//! [`args_env`], [`clock`] (clocks and random), [`fs`] (every `fd_*`/`path_*`), [`poll`],
//! [`proc`], [`sock`] (sockets), [`blocking`] (calls that wait on a socket park the guest).
//!
//! Host functions reach linear memory only through [`crate::guest`]; they return a
//! [`errno::WasiResult`] which [`errno::finish`] turns into the guest's errno or a trap; a clean
//! exit (`proc_exit`) is `wasmi::Error::i32_exit`, which the instance reports as
//! [`CallOutcome::Exited`](crate::CallOutcome::Exited).

pub mod args_env;
pub mod blocking;
pub mod clock;
pub mod ctx;
pub mod errno;
pub mod fd_table;
pub mod fs;
pub mod poll;
pub mod proc;
pub mod rights;
pub mod sock;
pub mod types;

use wasmi::Caller;

pub use ctx::{Preopen, SocketPreopen, WasiCtx};
pub use errno::{Errno, WasiError, WasiResult};

use crate::caps::Capability;
use crate::context::HostContext;
use crate::host::{HostCall, Registry};

pub const MODULE: &str = "wasi_snapshot_preview1";

/// The most iovecs one call accepts (POSIX `IOV_MAX`); more is EINVAL.
pub const MAX_IOVS: u32 = 1024;

/// The most subscriptions one `poll_oneoff` accepts; more is EINVAL (as Linux `poll` refuses more
/// descriptors than `RLIMIT_NOFILE`). The host does work per subscription that fuel does not
/// meter, so a guest number must not decide how much.
pub const MAX_SUBSCRIPTIONS: u32 = 4096;

/// Defines the wasmi-facing wrapper of a host function implemented as
/// `fn(&mut GuestMemory, &mut HostContext, args...) -> WasiResult<()>`, and registers it with the
/// capability the catalog records for it (`[Env]`, …; none for functions whose file
/// capabilities are checked through descriptor rights).
macro_rules! wrap {
    ($($name:ident $([$cap:ident])? => $m:ident :: $f:ident ( $($arg:ident : $ty:ty),* );)*) => {
        #[allow(clippy::too_many_arguments)]
        mod wrappers {
            use super::*;
            $(
                pub fn $name(mut caller: Caller<'_, HostContext>, $($arg: $ty),*) -> Result<i32, wasmi::Error> {
                    caller.count();
                    // File-system calls are charged the work they made the file systems do.
                    let metered = stringify!($m) == "fs";
                    let before = if metered { caller.data().wasi.file_systems.work() } else { 0 };
                    let result = match caller.memory() {
                        Ok((mut mem, ctx)) => $m::$f(&mut mem, ctx, $($arg),*),
                        Err(e) => Err(e.into()),
                    };
                    if metered {
                        let work = caller.data().wasi.file_systems.work().wrapping_sub(before);
                        if work > 0 {
                            caller.charge(work.saturating_mul(crate::limits::FUEL_PER_WORK));
                        }
                    }
                    errno::finish_or_park(stringify!($name), result, caller.data_mut())
                }
            )*
        }
        fn register_wrapped(reg: &mut Registry) {
            $(
                let capability: Option<Capability> = None $(.or(Some(Capability::$cap)))?;
                reg.func(MODULE, stringify!($name), capability, wrappers::$name);
            )*
        }
    };
}

wrap! {
    args_get => args_env::args_get(argv: u32, buf: u32);
    args_sizes_get => args_env::args_sizes_get(count_ptr: u32, size_ptr: u32);
    environ_get [Env] => args_env::environ_get(environ: u32, buf: u32);
    environ_sizes_get [Env] => args_env::environ_sizes_get(count_ptr: u32, size_ptr: u32);
    clock_res_get [Clock] => clock::clock_res_get(id: u32, out: u32);
    clock_time_get [Clock] => clock::clock_time_get(id: u32, precision: u64, out: u32);
    random_get [Random] => clock::random_get(buf: u32, len: u32);
    fd_advise => fs::fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
    fd_allocate => fs::fd_allocate(fd: u32, offset: u64, len: u64);
    fd_close => fs::fd_close(fd: u32);
    fd_datasync => fs::fd_datasync(fd: u32);
    fd_fdstat_get => fs::fd_fdstat_get(fd: u32, out: u32);
    fd_fdstat_set_flags => fs::fd_fdstat_set_flags(fd: u32, flags: u32);
    fd_fdstat_set_rights => fs::fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
    fd_filestat_get => fs::fd_filestat_get(fd: u32, out: u32);
    fd_filestat_set_size => fs::fd_filestat_set_size(fd: u32, size: u64);
    fd_filestat_set_times => fs::fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst: u32);
    fd_pread => fs::fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32);
    fd_prestat_get => fs::fd_prestat_get(fd: u32, out: u32);
    fd_prestat_dir_name => fs::fd_prestat_dir_name(fd: u32, buf: u32, len: u32);
    fd_pwrite => fs::fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32);
    fd_read => fs::fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32);
    fd_readdir => fs::fd_readdir(fd: u32, buf: u32, buf_len: u32, cookie: u64, out: u32);
    fd_renumber => fs::fd_renumber(from: u32, to: u32);
    fd_seek => fs::fd_seek(fd: u32, offset: i64, whence: u32, out: u32);
    fd_sync => fs::fd_sync(fd: u32);
    fd_tell => fs::fd_tell(fd: u32, out: u32);
    fd_write => fs::fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32);
    path_create_directory => fs::path_create_directory(fd: u32, path: u32, path_len: u32);
    path_filestat_get => fs::path_filestat_get(fd: u32, flags: u32, path: u32, path_len: u32, out: u32);
    path_filestat_set_times => fs::path_filestat_set_times(fd: u32, flags: u32, path: u32, path_len: u32, atim: u64, mtim: u64, fst: u32);
    path_link => fs::path_link(old_fd: u32, old_flags: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32);
    path_open => fs::path_open(fd: u32, dirflags: u32, path: u32, path_len: u32, oflags: u32, base: u64, inheriting: u64, fdflags: u32, out: u32);
    path_readlink => fs::path_readlink(fd: u32, path: u32, path_len: u32, buf: u32, buf_len: u32, out: u32);
    path_remove_directory => fs::path_remove_directory(fd: u32, path: u32, path_len: u32);
    path_rename => fs::path_rename(old_fd: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32);
    path_symlink => fs::path_symlink(old_path: u32, old_len: u32, fd: u32, new_path: u32, new_len: u32);
    path_unlink_file => fs::path_unlink_file(fd: u32, path: u32, path_len: u32);
    poll_oneoff => poll::poll_oneoff(subs: u32, events: u32, nsubs: u32, nevents: u32);
    sock_accept => sock::sock_accept(fd: u32, flags: u32, out: u32);
    sock_recv => sock::sock_recv(fd: u32, iovs: u32, iovs_len: u32, flags: u32, nread: u32, oflags: u32);
    sock_send => sock::sock_send(fd: u32, iovs: u32, iovs_len: u32, flags: u32, nwritten: u32);
}

/// Registers every preview1 function.
pub fn register(reg: &mut Registry) {
    register_wrapped(reg);
    reg.func(MODULE, "proc_exit", None, proc::proc_exit);
    reg.func(MODULE, "proc_raise", None, proc::proc_raise);
    reg.func(MODULE, "sched_yield", None, proc::sched_yield);
    reg.func(MODULE, "sock_shutdown", None, sock::sock_shutdown);
}
