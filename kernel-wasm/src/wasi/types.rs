//! Preview1 constants and the guest layouts of its structs (`filestat`, `fdstat`, `dirent`,
//! `prestat`, `subscription`, `event`), as [`GuestType`]s so host functions read and write them
//! only through `crate::guest`. Offsets are those of the witx ABI (wasm32, little-endian).

use crate::guest::GuestType;
use crate::vfs::NodeKind;

use super::rights::Rights;

// filetype
pub const FILETYPE_UNKNOWN: u8 = 0;
pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub const FILETYPE_DIRECTORY: u8 = 3;
pub const FILETYPE_REGULAR_FILE: u8 = 4;
pub const FILETYPE_SOCKET_STREAM: u8 = 6;
pub const FILETYPE_SYMBOLIC_LINK: u8 = 7;

pub fn filetype(kind: NodeKind) -> u8 {
    match kind {
        NodeKind::File => FILETYPE_REGULAR_FILE,
        NodeKind::Dir => FILETYPE_DIRECTORY,
        NodeKind::Symlink => FILETYPE_SYMBOLIC_LINK,
    }
}

// fdflags
pub const FDFLAGS_APPEND: u16 = 1;
pub const FDFLAGS_DSYNC: u16 = 2;
pub const FDFLAGS_NONBLOCK: u16 = 4;
pub const FDFLAGS_RSYNC: u16 = 8;
pub const FDFLAGS_SYNC: u16 = 16;
pub const FDFLAGS_ALL: u32 = 31;

// oflags
pub const OFLAGS_CREAT: u32 = 1;
pub const OFLAGS_DIRECTORY: u32 = 2;
pub const OFLAGS_EXCL: u32 = 4;
pub const OFLAGS_TRUNC: u32 = 8;
pub const OFLAGS_ALL: u32 = 15;

// lookupflags
pub const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

// fstflags
pub const FST_ATIM: u32 = 1;
pub const FST_ATIM_NOW: u32 = 2;
pub const FST_MTIM: u32 = 4;
pub const FST_MTIM_NOW: u32 = 8;
pub const FST_ALL: u32 = 15;

// whence
pub const WHENCE_SET: u32 = 0;
pub const WHENCE_CUR: u32 = 1;
pub const WHENCE_END: u32 = 2;

// clockid
pub const CLOCK_REALTIME: u32 = 0;
pub const CLOCK_MONOTONIC: u32 = 1;
pub const CLOCK_PROCESS_CPUTIME: u32 = 2;
pub const CLOCK_THREAD_CPUTIME: u32 = 3;

// eventtype
pub const EVENTTYPE_CLOCK: u8 = 0;
pub const EVENTTYPE_FD_READ: u8 = 1;
pub const EVENTTYPE_FD_WRITE: u8 = 2;

// subclockflags / eventrwflags
pub const SUBCLOCK_ABSTIME: u16 = 1;
pub const EVENTRW_HANGUP: u16 = 1;

/// The largest `advice` value (`noreuse`).
pub const ADVICE_MAX: u32 = 5;

/// `filestat` (64 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl GuestType for Filestat {
    const SIZE: u32 = 64;
    const ALIGN: u32 = 8;
    fn read_from(b: &[u8]) -> Self {
        Filestat {
            dev: u64::read_from(&b[0..]),
            ino: u64::read_from(&b[8..]),
            filetype: b[16],
            nlink: u64::read_from(&b[24..]),
            size: u64::read_from(&b[32..]),
            atim: u64::read_from(&b[40..]),
            mtim: u64::read_from(&b[48..]),
            ctim: u64::read_from(&b[56..]),
        }
    }
    fn write_to(self, b: &mut [u8]) {
        b[..64].fill(0);
        self.dev.write_to(&mut b[0..]);
        self.ino.write_to(&mut b[8..]);
        b[16] = self.filetype;
        self.nlink.write_to(&mut b[24..]);
        self.size.write_to(&mut b[32..]);
        self.atim.write_to(&mut b[40..]);
        self.mtim.write_to(&mut b[48..]);
        self.ctim.write_to(&mut b[56..]);
    }
}

/// `fdstat` (24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fdstat {
    pub filetype: u8,
    pub flags: u16,
    pub rights_base: Rights,
    pub rights_inheriting: Rights,
}

impl GuestType for Fdstat {
    const SIZE: u32 = 24;
    const ALIGN: u32 = 8;
    fn read_from(b: &[u8]) -> Self {
        Fdstat {
            filetype: b[0],
            flags: u16::read_from(&b[2..]),
            rights_base: u64::read_from(&b[8..]),
            rights_inheriting: u64::read_from(&b[16..]),
        }
    }
    fn write_to(self, b: &mut [u8]) {
        b[..24].fill(0);
        b[0] = self.filetype;
        self.flags.write_to(&mut b[2..]);
        self.rights_base.write_to(&mut b[8..]);
        self.rights_inheriting.write_to(&mut b[16..]);
    }
}

/// `prestat` for a directory (8 bytes: tag 0, `pr_name_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrestatDir {
    pub name_len: u32,
}

impl GuestType for PrestatDir {
    const SIZE: u32 = 8;
    const ALIGN: u32 = 4;
    fn read_from(b: &[u8]) -> Self {
        PrestatDir {
            name_len: u32::read_from(&b[4..]),
        }
    }
    fn write_to(self, b: &mut [u8]) {
        b[..8].fill(0);
        self.name_len.write_to(&mut b[4..]);
    }
}

/// The fixed part of a `dirent` (24 bytes), followed in the buffer by `d_namlen` name bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dirent {
    pub next: u64,
    pub ino: u64,
    pub namlen: u32,
    pub filetype: u8,
}

impl Dirent {
    pub const SIZE: usize = 24;

    /// The header as bytes (dirents are written byte-wise because a buffer may cut them short).
    pub fn to_bytes(self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        self.next.write_to(&mut b[0..]);
        self.ino.write_to(&mut b[8..]);
        self.namlen.write_to(&mut b[16..]);
        b[20] = self.filetype;
        b
    }
}

/// What a subscription waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    Clock {
        id: u32,
        timeout: u64,
        precision: u64,
        flags: u16,
    },
    FdRead(u32),
    FdWrite(u32),
    /// A tag other than 0..=2: the call fails with EINVAL.
    Invalid,
}

/// `subscription` (48 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    pub userdata: u64,
    pub kind: SubscriptionKind,
}

impl GuestType for Subscription {
    const SIZE: u32 = 48;
    const ALIGN: u32 = 8;
    fn read_from(b: &[u8]) -> Self {
        let kind = match b[8] {
            0 => SubscriptionKind::Clock {
                id: u32::read_from(&b[16..]),
                timeout: u64::read_from(&b[24..]),
                precision: u64::read_from(&b[32..]),
                flags: u16::read_from(&b[40..]),
            },
            1 => SubscriptionKind::FdRead(u32::read_from(&b[16..])),
            2 => SubscriptionKind::FdWrite(u32::read_from(&b[16..])),
            _ => SubscriptionKind::Invalid,
        };
        Subscription {
            userdata: u64::read_from(&b[0..]),
            kind,
        }
    }
    fn write_to(self, b: &mut [u8]) {
        b[..48].fill(0);
        self.userdata.write_to(&mut b[0..]);
        match self.kind {
            SubscriptionKind::Clock {
                id,
                timeout,
                precision,
                flags,
            } => {
                b[8] = 0;
                id.write_to(&mut b[16..]);
                timeout.write_to(&mut b[24..]);
                precision.write_to(&mut b[32..]);
                flags.write_to(&mut b[40..]);
            }
            SubscriptionKind::FdRead(fd) => {
                b[8] = 1;
                fd.write_to(&mut b[16..]);
            }
            SubscriptionKind::FdWrite(fd) => {
                b[8] = 2;
                fd.write_to(&mut b[16..]);
            }
            SubscriptionKind::Invalid => b[8] = 0xff,
        }
    }
}

/// `event` (32 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Event {
    pub userdata: u64,
    pub error: u16,
    pub kind: u8,
    pub nbytes: u64,
    pub flags: u16,
}

impl GuestType for Event {
    const SIZE: u32 = 32;
    const ALIGN: u32 = 8;
    fn read_from(b: &[u8]) -> Self {
        Event {
            userdata: u64::read_from(&b[0..]),
            error: u16::read_from(&b[8..]),
            kind: b[10],
            nbytes: u64::read_from(&b[16..]),
            flags: u16::read_from(&b[24..]),
        }
    }
    fn write_to(self, b: &mut [u8]) {
        b[..32].fill(0);
        self.userdata.write_to(&mut b[0..]);
        self.error.write_to(&mut b[8..]);
        b[10] = self.kind;
        self.nbytes.write_to(&mut b[16..]);
        self.flags.write_to(&mut b[24..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip<T: GuestType + PartialEq + core::fmt::Debug>(v: T) {
        let mut buf = [0u8; 64];
        v.write_to(&mut buf[..T::SIZE as usize]);
        assert_eq!(T::read_from(&buf[..T::SIZE as usize]), v);
    }

    #[test]
    fn layouts_roundtrip() {
        roundtrip(Filestat {
            dev: 1,
            ino: 2,
            filetype: 4,
            nlink: 3,
            size: 5,
            atim: 6,
            mtim: 7,
            ctim: 8,
        });
        roundtrip(Fdstat {
            filetype: 3,
            flags: 5,
            rights_base: 9,
            rights_inheriting: 10,
        });
        roundtrip(Subscription {
            userdata: 7,
            kind: SubscriptionKind::Clock {
                id: 1,
                timeout: 2,
                precision: 3,
                flags: 1,
            },
        });
        roundtrip(Event {
            userdata: 1,
            error: 2,
            kind: 1,
            nbytes: 9,
            flags: 1,
        });
        let d = Dirent {
            next: 1,
            ino: 2,
            namlen: 3,
            filetype: 4,
        }
        .to_bytes();
        assert_eq!(d[16], 3);
        assert_eq!(d[20], 4);
    }
}
