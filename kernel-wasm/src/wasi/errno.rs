//! WASI preview1 errno values, and the one mapping from host-side errors to them.

#![allow(dead_code)]

use crate::guest::GuestError;
use crate::vfs::VfsError;

/// A preview1 `errno` (the spec's `$errno` enum, as u16 on the wire, returned as i32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    Again = 6,
    Badf = 8,
    Exist = 20,
    Fault = 21,
    Ilseq = 25,
    Inval = 28,
    Io = 29,
    Isdir = 31,
    Loop = 32,
    Nametoolong = 37,
    Noent = 44,
    Nomem = 48,
    Nospc = 51,
    Nosys = 52,
    Notdir = 54,
    Notempty = 55,
    Notsup = 58,
    Overflow = 61,
    Perm = 63,
    Spipe = 70,
    Xdev = 75,
    Notcapable = 76,
}

impl From<GuestError> for Errno {
    fn from(e: GuestError) -> Self {
        match e {
            // A pointer outside linear memory or misaligned is EFAULT/EINVAL rather than a trap, as
            // wasmtime's preview1 does for out-of-bounds guest pointers.
            GuestError::OutOfBounds { .. } | GuestError::NoMemory => Errno::Fault,
            GuestError::Misaligned { .. } => Errno::Inval,
            GuestError::InvalidUtf8 { .. } => Errno::Ilseq,
        }
    }
}

impl From<VfsError> for Errno {
    fn from(e: VfsError) -> Self {
        match e {
            VfsError::NotFound => Errno::Noent,
            VfsError::AlreadyExists => Errno::Exist,
            VfsError::NotADirectory => Errno::Notdir,
            VfsError::IsADirectory => Errno::Isdir,
            VfsError::DirectoryNotEmpty => Errno::Notempty,
            VfsError::InvalidName => Errno::Inval,
            VfsError::NoSpace => Errno::Nospc,
            VfsError::ReadOnly => Errno::Perm,
            VfsError::Invalid => Errno::Inval,
            VfsError::Loop => Errno::Loop,
            VfsError::Escape => Errno::Notcapable,
            VfsError::Unsupported => Errno::Notsup,
            VfsError::Permission => Errno::Perm,
            VfsError::Io(_) => Errno::Io,
        }
    }
}
