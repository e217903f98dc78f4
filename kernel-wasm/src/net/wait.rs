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

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::hosted::{platform_with_console, CaptureConsole};
    use crate::platform::{Console, Stream};
    use alloc::sync::Arc;
    use std::time::{Duration, Instant};

    /// Ctrl-C pressed before the wait.
    struct Pressed;

    impl Console for Pressed {
        fn write(&self, _: Stream, _: &[u8]) {}
        fn read(&self, _: &mut [u8]) -> usize {
            0
        }
        fn take_interrupt(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_step_ends_at_an_interrupt_a_deadline_or_the_poll_interval() {
        // The platform is single-threaded; `Arc` is what it holds.
        #[allow(clippy::arc_with_non_send_sync)]
        let interrupted = platform_with_console(Arc::new(Pressed));
        assert_eq!(wait_step(&interrupted, &[], None), Woke::Interrupted);
        #[allow(clippy::arc_with_non_send_sync)]
        let mut platform = platform_with_console(Arc::new(CaptureConsole::default()));
        let now = platform.clock.monotonic_ns();
        assert_eq!(wait_step(&platform, &[], Some(now)), Woke::Deadline);
        // Without a network it sleeps: until a near deadline, or one poll interval at most.
        platform.net = None;
        for deadline in [Some(now + 60_000_000_000), None] {
            let started = Instant::now();
            assert_eq!(wait_step(&platform, &[], deadline), Woke::Maybe);
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_nanos(INTERRUPT_POLL_NS),
                "{waited:?}"
            );
            assert!(waited < Duration::from_secs(5), "{waited:?}");
        }
        let near = platform.clock.monotonic_ns() + 2_000_000;
        assert_eq!(wait_step(&platform, &[], Some(near)), Woke::Maybe);
        assert!(platform.clock.monotonic_ns() >= near);
    }
}
