//! Mailboxes: bounded FIFO queues of messages, and the one function that moves the head message
//! into guest memory.
//!
//! Hot path: a send copies once (guest memory → body) into the mailbox's *spare* buffer — the body
//! of the last message delivered from it, kept when it is at most [`SPARE_MAX_BYTES`] — and
//! allocates only when there is none or it is too small; the receive copies the body into the
//! receiver's buffer and keeps it as the spare. So agents trading small messages allocate nothing
//! per message. The queue itself is allocated at creation for up to [`PREALLOCATED_SLOTS`] entries
//! (the whole default depth), so queueing does not allocate either.
//!
//! Bounds: a mailbox holds at most `depth` messages, and the mailboxes of one agent system draw
//! their bodies' bytes from one [`Budget`], so the host memory all queued messages take is
//! bounded however many agents flood however many mailboxes (depth × agents × 64 KiB would be
//! gigabytes). Every message enters and leaves through [`Mailbox::push`]/[`Mailbox::pop`]/
//! [`Mailbox::clear`] (or the mailbox's drop), which keep the pool's count. The spare is outside
//! the pool: one buffer of at most [`SPARE_MAX_BYTES`] per mailbox, freed with it.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::guest::{GuestMemory, GuestPtr};
use crate::limits::Budget;

use super::abi::{ERR_BAD_POINTER, ERR_BUFFER_TOO_SMALL, ERR_NO_MESSAGE};

/// Mailbox slots reserved up front (a deeper mailbox grows on demand past this).
pub const PREALLOCATED_SLOTS: usize = 256;

/// The largest body buffer a mailbox keeps for reuse after delivering it.
pub const SPARE_MAX_BYTES: usize = 256;

/// One message: who sent it and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub from: u32,
    pub body: Vec<u8>,
}

/// Why a mailbox cannot take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It holds `depth` messages.
    Full,
    /// The system's pool of message bytes is used up.
    NoBytes,
}

/// A bounded FIFO of messages.
#[derive(Debug)]
pub struct Mailbox {
    queue: VecDeque<Message>,
    depth: usize,
    /// Bytes of the bodies queued here (drawn from `pool`).
    bytes: usize,
    pool: Option<Arc<Budget>>,
    /// An empty buffer to copy the next message into (see the module documentation).
    spare: Vec<u8>,
}

impl Mailbox {
    /// A mailbox holding at most `depth` messages (of any total size).
    pub fn new(depth: usize) -> Self {
        Mailbox {
            queue: VecDeque::with_capacity(depth.min(PREALLOCATED_SLOTS)),
            depth,
            bytes: 0,
            pool: None,
            spare: Vec::new(),
        }
    }

    /// A mailbox holding at most `depth` messages whose bodies' bytes come from `pool`.
    pub fn with_pool(depth: usize, pool: Arc<Budget>) -> Self {
        let mut mailbox = Mailbox::new(depth);
        mailbox.pool = Some(pool);
        mailbox
    }

    /// Whether a message of `len` bytes would be refused now, and why (what [`Mailbox::push`] and
    /// [`Mailbox::push_copy`] check before they queue or copy anything).
    pub fn refusal(&self, len: usize) -> Option<Refusal> {
        if self.is_full() {
            Some(Refusal::Full)
        } else if self.pool.as_ref().is_some_and(|p| !p.has_room(len)) {
            Some(Refusal::NoBytes)
        } else {
            None
        }
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.queue.len() >= self.depth
    }

    /// Queues `message`, or hands it back when the mailbox is full or the pool has no room for
    /// its body (backpressure).
    pub fn push(&mut self, message: Message) -> Result<(), Message> {
        if self.admit(message.body.len()).is_err() {
            return Err(message);
        }
        self.queue.push_back(message);
        Ok(())
    }

    /// Queues a copy of `body` from `from` (the one copy of a send), in the spare buffer when
    /// there is one. Refused as [`Mailbox::refusal`] says, before anything is copied.
    pub fn push_copy(&mut self, from: u32, body: &[u8]) -> Result<(), Refusal> {
        self.admit(body.len())?;
        let mut buf = core::mem::take(&mut self.spare);
        buf.extend_from_slice(body);
        self.queue.push_back(Message { from, body: buf });
        Ok(())
    }

    /// Takes the room a body of `len` bytes needs (a slot, bytes from the pool), or says why
    /// there is none.
    fn admit(&mut self, len: usize) -> Result<(), Refusal> {
        if self.is_full() {
            return Err(Refusal::Full);
        }
        if self.pool.as_ref().is_some_and(|p| !p.take(len)) {
            return Err(Refusal::NoBytes);
        }
        self.bytes += len;
        Ok(())
    }

    pub fn front(&self) -> Option<&Message> {
        self.queue.front()
    }

    pub fn pop(&mut self) -> Option<Message> {
        let message = self.queue.pop_front()?;
        self.release(message.body.len());
        Some(message)
    }

    /// Drops the head message (it has been delivered), keeping its buffer as the spare when it
    /// is small.
    fn consume_front(&mut self) {
        if let Some(mut message) = self.pop() {
            if message.body.capacity() <= SPARE_MAX_BYTES {
                message.body.clear();
                self.spare = message.body;
            }
        }
    }

    /// Drops every queued message (the owner died).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.queue.shrink_to_fit();
        self.spare = Vec::new();
        self.release(self.bytes);
    }

    fn release(&mut self, len: usize) {
        self.bytes = self.bytes.saturating_sub(len);
        if let Some(pool) = &self.pool {
            pool.give(len);
        }
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        self.release(self.bytes);
    }
}

/// Moves the head message of `mailbox` into guest memory: the body to `buf_ptr` (at most
/// `buf_len` bytes) and the sender's id to the `u32` at `sender_ptr`. Returns the body length.
///
/// Errors (the message then stays queued): [`ERR_NO_MESSAGE`] when the mailbox is empty;
/// [`ERR_BUFFER_TOO_SMALL`] when the body does not fit — the length needed is written to the `u32`
/// at `sender_ptr` instead of the sender; [`ERR_BAD_POINTER`] when a range is outside memory or
/// `sender_ptr` is not 4-byte aligned.
pub fn deliver(
    mem: &mut GuestMemory<'_>,
    mailbox: &mut Mailbox,
    buf_ptr: u32,
    buf_len: u32,
    sender_ptr: u32,
) -> i32 {
    let Some(head) = mailbox.front() else {
        return ERR_NO_MESSAGE;
    };
    // Bodies are at most MAX_MESSAGE_BYTES long, so the length fits an i32.
    let size = head.body.len() as u32;
    let sender = GuestPtr::<u32>::new(sender_ptr);
    if size > buf_len {
        return match mem.write(sender, size) {
            Ok(()) => ERR_BUFFER_TOO_SMALL,
            Err(_) => ERR_BAD_POINTER,
        };
    }
    if mem.read(sender).is_err() || mem.copy_from_host(buf_ptr, &head.body).is_err() {
        return ERR_BAD_POINTER;
    }
    let from = head.from;
    if mem.write(sender, from).is_err() {
        return ERR_BAD_POINTER;
    }
    mailbox.consume_front();
    size as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn msg(from: u32, body: &[u8]) -> Message {
        Message {
            from,
            body: body.into(),
        }
    }

    #[test]
    fn bounded_fifo_with_backpressure() {
        let mut mb = Mailbox::new(2);
        assert!(mb.push(msg(1, b"a")).is_ok());
        assert!(mb.push(msg(2, b"b")).is_ok());
        assert_eq!(mb.push(msg(3, b"c")), Err(msg(3, b"c")));
        assert_eq!(mb.pop(), Some(msg(1, b"a")));
        assert_eq!(mb.len(), 1);
    }

    #[test]
    fn mailboxes_share_a_byte_pool() {
        let pool = Budget::new(10);
        let mut a = Mailbox::with_pool(8, pool.clone());
        let mut b = Mailbox::with_pool(8, pool.clone());
        assert!(a.push(msg(1, b"123456")).is_ok());
        assert_eq!(b.refusal(5), Some(Refusal::NoBytes));
        assert_eq!(b.push(msg(2, b"12345")), Err(msg(2, b"12345")));
        assert_eq!(b.refusal(4), None);
        assert!(b.push(msg(2, b"1234")).is_ok());
        assert_eq!(pool.used(), 10);
        assert_eq!(a.pop(), Some(msg(1, b"123456")));
        assert_eq!(pool.used(), 4);
        assert!(a.push(msg(1, b"abc")).is_ok());
        b.clear();
        assert_eq!(pool.used(), 3);
        drop(a);
        assert_eq!(pool.used(), 0);
        let mut full = Mailbox::with_pool(1, pool.clone());
        full.push(msg(1, b"x")).unwrap();
        assert_eq!(full.refusal(0), Some(Refusal::Full));
    }

    #[test]
    fn delivered_small_bodies_are_reused_for_the_next_send() {
        let pool = Budget::new(1 << 20);
        let mut mem_bytes = vec![0u8; 1024];
        let mut mem = GuestMemory::new(&mut mem_bytes);
        let mut mb = Mailbox::with_pool(4, pool.clone());
        mb.push_copy(1, b"ping").unwrap();
        let first = mb.front().unwrap().body.as_ptr();
        assert_eq!(deliver(&mut mem, &mut mb, 0, 64, 64), 4);
        // The next message lands in the same buffer, with its own bytes and length.
        mb.push_copy(2, b"pong!").unwrap();
        let head = mb.front().unwrap();
        assert_eq!((head.from, &head.body[..]), (2, &b"pong!"[..]));
        assert_eq!(head.body.as_ptr(), first);
        assert_eq!(pool.used(), 5);
        assert_eq!(deliver(&mut mem, &mut mb, 0, 64, 64), 5);
        assert_eq!(mem.slice(0, 5), Ok(&b"pong!"[..]));
        assert_eq!(pool.used(), 0);
        // A large body is freed after delivery, not kept.
        let big = vec![7u8; SPARE_MAX_BYTES + 1];
        mb.push_copy(3, &big).unwrap();
        assert_eq!(
            deliver(&mut mem, &mut mb, 0, 1024 - 64, 1020),
            big.len() as i32
        );
        assert_eq!(mb.spare.capacity(), 0);
        // Refused sends queue nothing and take nothing from the pool.
        let tiny = Budget::new(2);
        let mut limited = Mailbox::with_pool(1, tiny.clone());
        assert_eq!(limited.push_copy(1, b"abc"), Err(Refusal::NoBytes));
        limited.push_copy(1, b"ab").unwrap();
        assert_eq!(limited.push_copy(1, b""), Err(Refusal::Full));
        assert_eq!((tiny.used(), limited.len()), (2, 1));
        limited.clear();
        assert_eq!(tiny.used(), 0);
    }

    #[test]
    fn deliver_keeps_oversized_message_and_reports_size() {
        let mut mem_bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut mem_bytes);
        let mut mb = Mailbox::new(4);
        assert_eq!(deliver(&mut mem, &mut mb, 0, 8, 32), ERR_NO_MESSAGE);
        mb.push(msg(7, b"hello world")).unwrap();
        assert_eq!(deliver(&mut mem, &mut mb, 0, 8, 32), ERR_BUFFER_TOO_SMALL);
        assert_eq!(mem.read(GuestPtr::<u32>::new(32)), Ok(11));
        assert_eq!(mb.len(), 1);
        assert_eq!(deliver(&mut mem, &mut mb, 0, 8, 33), ERR_BAD_POINTER);
        assert_eq!(deliver(&mut mem, &mut mb, 60, 11, 32), ERR_BAD_POINTER);
        assert_eq!(mb.len(), 1);
        assert_eq!(deliver(&mut mem, &mut mb, 0, 16, 32), 11);
        assert_eq!(mem.slice(0, 11), Ok(&b"hello world"[..]));
        assert_eq!(mem.read(GuestPtr::<u32>::new(32)), Ok(7));
        assert!(mb.is_empty());
    }
}
