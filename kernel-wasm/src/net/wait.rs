//! Waiting for sockets on a guest's behalf: one bounded step at a time, so whoever waits (the
//! scheduler, `Execution::run_to_end`) checks for an interrupt and its deadlines between steps.

use crate::platform::{Platform, INTERRUPT_POLL_NS};

use super::Interest;

/// How one [`wait_step`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// Something may be ready (or the step's time passed): look at the sockets again.
    Maybe,
    /// The deadline came.
    Deadline,
    /// The user interrupted (Ctrl-C on the kernel's console).
    Interrupted,
}

/// Waits for one of `interests` at most until `deadline_ns` and at most [`INTERRUPT_POLL_NS`].
/// Without a network it just sleeps.
pub fn wait_step(platform: &Platform, interests: &[Interest], deadline_ns: Option<u64>) -> Woke {
    if platform.console.take_interrupt() {
        return Woke::Interrupted;
    }
    let now = platform.clock.monotonic_ns();
    let step = match deadline_ns {
        Some(d) if now >= d => return Woke::Deadline,
        Some(d) => (d - now).min(INTERRUPT_POLL_NS),
        None => INTERRUPT_POLL_NS,
    };
    match &platform.net {
        Some(net) => net.wait(interests, step),
        None => platform.clock.sleep_until_ns(now.saturating_add(step)),
    }
    Woke::Maybe
}
