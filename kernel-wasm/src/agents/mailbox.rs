//! Mailboxes: bounded FIFO queues of messages, and the one function that moves the head message
//! into guest memory.
//!
//! Hot path: a send allocates once (the message body, exactly its length) and copies once (guest
//! memory → body); the receive copies the body into the receiver's buffer and frees it. The queue
//! itself is allocated at creation for up to [`PREALLOCATED_SLOTS`] entries (the whole default
//! depth), so queueing does not allocate.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

use crate::guest::{GuestMemory, GuestPtr};

use super::abi::{ERR_BAD_POINTER, ERR_BUFFER_TOO_SMALL, ERR_NO_MESSAGE};

/// Mailbox slots reserved up front (a deeper mailbox grows on demand past this).
pub const PREALLOCATED_SLOTS: usize = 256;

/// One message: who sent it and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub from: u32,
    pub body: Box<[u8]>,
}

/// A bounded FIFO of messages.
#[derive(Debug)]
pub struct Mailbox {
    queue: VecDeque<Message>,
    depth: usize,
}

impl Mailbox {
    /// A mailbox holding at most `depth` messages.
    pub fn new(depth: usize) -> Self {
        Mailbox {
            queue: VecDeque::with_capacity(depth.min(PREALLOCATED_SLOTS)),
            depth,
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

    /// Queues `message`, or hands it back when the mailbox is full (backpressure).
    pub fn push(&mut self, message: Message) -> Result<(), Message> {
        if self.is_full() {
            return Err(message);
        }
        self.queue.push_back(message);
        Ok(())
    }

    pub fn front(&self) -> Option<&Message> {
        self.queue.front()
    }

    pub fn pop(&mut self) -> Option<Message> {
        self.queue.pop_front()
    }

    /// Drops every queued message (the owner died).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.queue.shrink_to_fit();
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
    mailbox.pop();
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
