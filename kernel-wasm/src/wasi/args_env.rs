//! `args_*` and `environ_*`: the arguments (always readable) and the environment (`env`
//! capability).

use crate::caps::Capability;
use crate::context::HostContext;
use crate::guest::{GuestMemory, GuestWriter};

use super::errno::{Errno, WasiResult};

/// Writes the pointer array at `ptrs` and the NUL-terminated strings packed at `buf`, each string
/// being the concatenation of its `parts`.
fn write_list<'s, I, P>(mem: &mut GuestMemory<'_>, ptrs: u32, buf: u32, items: I) -> WasiResult<()>
where
    I: Iterator<Item = P>,
    P: IntoIterator<Item = &'s [u8]>,
{
    let mut out = GuestWriter::new(buf, u32::MAX - buf);
    for (index, parts) in (0u32..).zip(items) {
        mem.write_at::<u32>(ptrs, index, out.position())?;
        for part in parts {
            out.put(mem, part)?;
        }
        out.put(mem, b"\0")?;
    }
    Ok(())
}

fn sizes(
    mem: &mut GuestMemory<'_>,
    count_ptr: u32,
    size_ptr: u32,
    count: usize,
    size: usize,
) -> WasiResult<()> {
    let count = u32::try_from(count)?;
    let size = u32::try_from(size)?;
    mem.write_at::<u32>(count_ptr, 0, count)?;
    mem.write_at::<u32>(size_ptr, 0, size)?;
    Ok(())
}

pub fn args_sizes_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    count_ptr: u32,
    size_ptr: u32,
) -> WasiResult<()> {
    let size = ctx.wasi.args.iter().map(|a| a.len() + 1).sum();
    sizes(mem, count_ptr, size_ptr, ctx.wasi.args.len(), size)
}

pub fn args_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    argv: u32,
    buf: u32,
) -> WasiResult<()> {
    write_list(mem, argv, buf, ctx.wasi.args.iter().map(|a| [a.as_bytes()]))
}

pub fn environ_sizes_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    count_ptr: u32,
    size_ptr: u32,
) -> WasiResult<()> {
    if !ctx.caps.has(Capability::Env) {
        return Err(Errno::Notcapable.into());
    }
    let size = ctx
        .wasi
        .env
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum();
    sizes(mem, count_ptr, size_ptr, ctx.wasi.env.len(), size)
}

pub fn environ_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    environ: u32,
    buf: u32,
) -> WasiResult<()> {
    if !ctx.caps.has(Capability::Env) {
        return Err(Errno::Notcapable.into());
    }
    write_list(
        mem,
        environ,
        buf,
        ctx.wasi
            .env
            .iter()
            .map(|(k, v)| [k.as_bytes(), b"=".as_slice(), v.as_bytes()]),
    )
}
