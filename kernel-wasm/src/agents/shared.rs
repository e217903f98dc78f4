//! The state the `agent` host functions share with the scheduler: every agent's mailbox, whether
//! it is alive, and the request it left when it parked (a receive's buffer, a spawn's module).
//!
//! It sits behind one lock that is never contended: the scheduler runs one agent at a time and
//! never holds the lock while guest code runs.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use super::mailbox::{Mailbox, Refusal};
use super::HOST_ID;
use crate::limits::Budget;

/// What a parked agent asked for; the scheduler serves it before resuming the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// A blocking receive: where the message goes once one arrives.
    Receive {
        buf_ptr: u32,
        buf_len: u32,
        sender_ptr: u32,
    },
    /// A spawn: the module path and the configuration text.
    Spawn { path: String, config: String },
}

/// Per-agent shared state.
#[derive(Debug)]
pub(crate) struct Slot {
    pub mailbox: Mailbox,
    pub alive: bool,
    pub request: Option<Request>,
}

/// Why a send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    NoSuchAgent,
    /// The target's mailbox holds its depth.
    Full,
    /// The system's pool of queued message bytes is used up.
    NoBytes,
}

/// Per-agent records by agent id. Ids are handed out 1, 2, 3 … and never reused, so the record of
/// agent `id` is element `id - 1`: a lookup (every send, receive and scheduling decision makes one)
/// is an index, not a search.
#[derive(Debug)]
pub(crate) struct IdMap<T> {
    items: Vec<T>,
}

impl<T> Default for IdMap<T> {
    fn default() -> Self {
        IdMap { items: Vec::new() }
    }
}

impl<T> IdMap<T> {
    #[inline]
    pub fn get(&self, id: u32) -> Option<&T> {
        self.items.get((id as usize).wrapping_sub(1))
    }

    #[inline]
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.items.get_mut((id as usize).wrapping_sub(1))
    }

    /// Adds the record of agent `id`, which must be the next id (one past the last).
    pub fn insert(&mut self, id: u32, item: T) {
        assert_eq!(
            id as usize,
            self.items.len() + 1,
            "agent ids are handed out in order"
        );
        self.items.push(item);
    }

    /// The highest id with a record (0: none).
    #[inline]
    pub fn last_id(&self) -> u32 {
        self.items.len() as u32
    }

    pub fn ids(&self) -> impl Iterator<Item = u32> {
        1..=self.last_id()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub slots: IdMap<Slot>,
    /// Messages to the host (agent 0), drained by the scheduler after every slice.
    pub host_inbox: Mailbox,
    /// The bytes every mailbox (the host inbox included) draws its messages' bodies from.
    pub pool: Arc<Budget>,
}

impl Shared {
    /// Queues a message from `from` to `to`.
    pub fn send(&mut self, from: u32, to: u32, body: &[u8]) -> Result<(), SendError> {
        let mailbox = if to == HOST_ID {
            &mut self.host_inbox
        } else {
            match self.slots.get_mut(to) {
                Some(slot) if slot.alive => &mut slot.mailbox,
                _ => return Err(SendError::NoSuchAgent),
            }
        };
        mailbox
            .push_copy(from, body)
            .map_err(|refusal| match refusal {
                Refusal::Full => SendError::Full,
                Refusal::NoBytes => SendError::NoBytes,
            })
    }
}

/// An instance's handle on the agent system it belongs to (kept in its
/// [`HostContext`](crate::HostContext)). Cloning shares the state.
#[derive(Clone)]
pub struct AgentLink {
    pub(crate) shared: Arc<Mutex<Shared>>,
}

impl core::fmt::Debug for AgentLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AgentLink { .. }")
    }
}
