//! Guest memory: the one place that turns guest pointers into checked host slices.
//!
//! A guest pointer is an untrusted 32-bit offset into the instance's linear memory. Host functions
//! never index linear memory themselves: they wrap it in a [`GuestMemory`] and ask for typed values
//! ([`GuestMemory::read`]/[`GuestMemory::write`]), byte slices ([`GuestMemory::slice`]) or strings
//! ([`GuestMemory::str`]). Every request is checked for arithmetic overflow, bounds and alignment and
//! fails with a [`GuestError`], which the WASI layer maps to an errno (`EFAULT`/`EINVAL`) in one place.
//!
//! Architecture invariant: no other module slices linear memory.

use core::fmt;
use core::marker::PhantomData;

/// Why a guest pointer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestError {
    /// `ptr + len` does not fit in the memory.
    OutOfBounds { ptr: u32, len: u64 },
    /// `ptr` is not aligned for the type read or written.
    Misaligned { ptr: u32, align: u32 },
    /// The bytes are not UTF-8 where a string was expected.
    InvalidUtf8 { ptr: u32 },
    /// The instance exports no memory.
    NoMemory,
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestError::OutOfBounds { ptr, len } => {
                write!(f, "guest range {ptr:#x}+{len} is outside linear memory")
            }
            GuestError::Misaligned { ptr, align } => {
                write!(f, "guest pointer {ptr:#x} is not {align}-byte aligned")
            }
            GuestError::InvalidUtf8 { ptr } => write!(f, "guest string at {ptr:#x} is not UTF-8"),
            GuestError::NoMemory => f.write_str("the module exports no memory"),
        }
    }
}

/// A fixed-size little-endian value that lives in guest memory.
pub trait GuestType: Sized + Copy {
    const SIZE: u32;
    const ALIGN: u32;
    fn read_from(bytes: &[u8]) -> Self;
    fn write_to(self, bytes: &mut [u8]);
}

macro_rules! guest_int {
    ($($t:ty),*) => {$(
        impl GuestType for $t {
            const SIZE: u32 = core::mem::size_of::<$t>() as u32;
            const ALIGN: u32 = core::mem::align_of::<$t>() as u32;
            #[inline]
            fn read_from(bytes: &[u8]) -> Self {
                let mut raw = [0u8; core::mem::size_of::<$t>()];
                raw.copy_from_slice(&bytes[..core::mem::size_of::<$t>()]);
                <$t>::from_le_bytes(raw)
            }
            #[inline]
            fn write_to(self, bytes: &mut [u8]) {
                bytes[..core::mem::size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
guest_int!(u8, i8, u16, i16, u32, i32, u64, i64);

/// An untrusted guest address of a `T`. Promises nothing about validity.
#[derive(Debug, PartialEq, Eq)]
pub struct GuestPtr<T> {
    pub offset: u32,
    _ty: PhantomData<T>,
}

impl<T> Clone for GuestPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for GuestPtr<T> {}

impl<T: GuestType> GuestPtr<T> {
    pub const fn new(offset: u32) -> Self {
        GuestPtr {
            offset,
            _ty: PhantomData,
        }
    }

    /// The pointer to element `index` of an array starting here (checked: overflow is out of bounds).
    #[allow(clippy::should_implement_trait)] // fallible, so not `ops::Add`
    pub fn add(self, index: u32) -> Result<Self, GuestError> {
        index
            .checked_mul(T::SIZE)
            .and_then(|bytes| self.offset.checked_add(bytes))
            .map(Self::new)
            .ok_or(GuestError::OutOfBounds {
                ptr: self.offset,
                len: u64::from(index) * u64::from(T::SIZE),
            })
    }
}

/// A view of one instance's linear memory for the duration of one host call.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    /// The size of linear memory in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn range(&self, ptr: u32, len: u32) -> Result<core::ops::Range<usize>, GuestError> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize);
        match end {
            Some(end) if end <= self.bytes.len() => Ok(start..end),
            _ => Err(GuestError::OutOfBounds {
                ptr,
                len: u64::from(len),
            }),
        }
    }

    /// The bytes `ptr..ptr+len`.
    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], GuestError> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    /// The bytes `ptr..ptr+len`, writable.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], GuestError> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    /// The UTF-8 string `ptr..ptr+len`.
    pub fn str(&self, ptr: u32, len: u32) -> Result<&str, GuestError> {
        core::str::from_utf8(self.slice(ptr, len)?).map_err(|_| GuestError::InvalidUtf8 { ptr })
    }

    fn checked<T: GuestType>(
        &self,
        ptr: GuestPtr<T>,
    ) -> Result<core::ops::Range<usize>, GuestError> {
        if ptr.offset % T::ALIGN != 0 {
            return Err(GuestError::Misaligned {
                ptr: ptr.offset,
                align: T::ALIGN,
            });
        }
        self.range(ptr.offset, T::SIZE)
    }

    pub fn read<T: GuestType>(&self, ptr: GuestPtr<T>) -> Result<T, GuestError> {
        let range = self.checked(ptr)?;
        Ok(T::read_from(&self.bytes[range]))
    }

    pub fn write<T: GuestType>(&mut self, ptr: GuestPtr<T>, value: T) -> Result<(), GuestError> {
        let range = self.checked(ptr)?;
        value.write_to(&mut self.bytes[range]);
        Ok(())
    }

    /// Copies `data` to `ptr` (bounds-checked, no alignment requirement).
    pub fn copy_from_host(&mut self, ptr: u32, data: &[u8]) -> Result<(), GuestError> {
        let len = u32::try_from(data.len()).map_err(|_| GuestError::OutOfBounds {
            ptr,
            len: data.len() as u64,
        })?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    /// Two disjoint views are not needed by any host function; when one function must read one
    /// region while writing another it copies the (small, bounded) input first.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
    }
}

/// One element of a WASI `iovec`/`ciovec` array: a guest buffer `buf..buf+len` (8 bytes, 4-aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iovec {
    pub buf: u32,
    pub len: u32,
}

impl GuestType for Iovec {
    const SIZE: u32 = 8;
    const ALIGN: u32 = 4;
    fn read_from(bytes: &[u8]) -> Self {
        Iovec {
            buf: u32::read_from(&bytes[0..4]),
            len: u32::read_from(&bytes[4..8]),
        }
    }
    fn write_to(self, bytes: &mut [u8]) {
        self.buf.write_to(&mut bytes[0..4]);
        self.len.write_to(&mut bytes[4..8]);
    }
}

impl GuestMemory<'_> {
    /// Element `index` of the guest array of `T` at `base` (checked: overflow, bounds, alignment).
    pub fn read_at<T: GuestType>(&self, base: u32, index: u32) -> Result<T, GuestError> {
        self.read(GuestPtr::<T>::new(base).add(index)?)
    }

    /// Writes `value` as element `index` of the guest array of `T` at `base`.
    pub fn write_at<T: GuestType>(
        &mut self,
        base: u32,
        index: u32,
        value: T,
    ) -> Result<(), GuestError> {
        self.write(GuestPtr::<T>::new(base).add(index)?, value)
    }

    /// The first non-empty buffer of the `count` iovecs at `iovs`, or `(0, 0)` when all are empty
    /// (what wasmtime's preview1 reads or writes: one buffer per call). Iovecs after the first
    /// non-empty one are not looked at.
    pub fn first_non_empty_iovec(&self, iovs: u32, count: u32) -> Result<Iovec, GuestError> {
        for index in 0..count {
            let iov: Iovec = self.read_at(iovs, index)?;
            if iov.len != 0 {
                return Ok(iov);
            }
        }
        Ok(Iovec { buf: 0, len: 0 })
    }
}

/// Writes a sequence of byte strings into a guest buffer `ptr..ptr+len`, truncating at the end of the
/// buffer (for `fd_readdir`, `args_get` and friends). Each piece is bounds-checked when written.
#[derive(Debug, Clone, Copy)]
pub struct GuestWriter {
    at: u32,
    remaining: u32,
}

impl GuestWriter {
    pub fn new(ptr: u32, len: u32) -> Self {
        GuestWriter {
            at: ptr,
            remaining: len,
        }
    }

    /// The guest address the next byte goes to.
    pub fn position(&self) -> u32 {
        self.at
    }

    /// Bytes still free in the buffer.
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Writes as much of `bytes` as fits; returns how many bytes were written.
    pub fn put(&mut self, mem: &mut GuestMemory<'_>, bytes: &[u8]) -> Result<u32, GuestError> {
        let n = u32::try_from(bytes.len())
            .unwrap_or(u32::MAX)
            .min(self.remaining);
        mem.copy_from_host(self.at, &bytes[..n as usize])?;
        // copy_from_host checked that at+n lies inside memory, so it cannot overflow.
        self.at = self.at.checked_add(n).ok_or(GuestError::OutOfBounds {
            ptr: self.at,
            len: u64::from(n),
        })?;
        self.remaining -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_overflow_are_checked() {
        let mut buf = [0u8; 16];
        let mem = GuestMemory::new(&mut buf);
        assert!(mem.slice(0, 16).is_ok());
        assert!(mem.slice(16, 0).is_ok());
        assert_eq!(
            mem.slice(8, 9),
            Err(GuestError::OutOfBounds { ptr: 8, len: 9 })
        );
        assert_eq!(
            mem.slice(u32::MAX, u32::MAX),
            Err(GuestError::OutOfBounds {
                ptr: u32::MAX,
                len: u64::from(u32::MAX)
            })
        );
        assert_eq!(
            mem.slice(17, 0),
            Err(GuestError::OutOfBounds { ptr: 17, len: 0 })
        );
    }

    #[test]
    fn typed_access_checks_alignment_and_is_little_endian() {
        let mut buf = [0u8; 16];
        let mut mem = GuestMemory::new(&mut buf);
        mem.write(GuestPtr::<u32>::new(4), 0x0102_0304).unwrap();
        assert_eq!(mem.slice(4, 4).unwrap(), &[4, 3, 2, 1]);
        assert_eq!(mem.read(GuestPtr::<u32>::new(4)), Ok(0x0102_0304));
        assert_eq!(
            mem.read(GuestPtr::<u32>::new(2)),
            Err(GuestError::Misaligned { ptr: 2, align: 4 })
        );
        assert_eq!(
            mem.read(GuestPtr::<u64>::new(16)),
            Err(GuestError::OutOfBounds { ptr: 16, len: 8 })
        );
        assert!(GuestPtr::<u64>::new(u32::MAX - 3).add(1).is_err());
    }

    #[test]
    fn iovecs_and_writer_are_checked() {
        let mut buf = [0u8; 32];
        let mut mem = GuestMemory::new(&mut buf);
        mem.write_at(0, 0, Iovec { buf: 16, len: 0 }).unwrap();
        mem.write_at(0, 1, Iovec { buf: 20, len: 4 }).unwrap();
        assert_eq!(
            mem.first_non_empty_iovec(0, 2),
            Ok(Iovec { buf: 20, len: 4 })
        );
        assert_eq!(
            mem.first_non_empty_iovec(0, 1),
            Ok(Iovec { buf: 0, len: 0 })
        );
        assert!(mem.first_non_empty_iovec(28, 2).is_err());
        let mut w = GuestWriter::new(24, 6);
        assert_eq!(w.put(&mut mem, b"abcd"), Ok(4));
        assert_eq!(w.put(&mut mem, b"efgh"), Ok(2));
        assert_eq!(w.remaining(), 0);
        assert_eq!(mem.slice(24, 6).unwrap(), b"abcdef");
        let mut w = GuestWriter::new(30, 10);
        assert!(w.put(&mut mem, b"xyz").is_err());
    }

    #[test]
    fn strings_must_be_utf8() {
        let mut buf = *b"ok\xff";
        let mem = GuestMemory::new(&mut buf);
        assert_eq!(mem.str(0, 2), Ok("ok"));
        assert_eq!(mem.str(0, 3), Err(GuestError::InvalidUtf8 { ptr: 0 }));
    }
}
