//! Groups `agents` and `llm`: subsystems that do not exist yet, so there is nothing to measure.
//!
//! This file exists to keep that fact visible in every report (no placeholder numbers) and to be the
//! place where the measurements go once the subsystems land:
//! * `agents`: case `round_trip` (runtime `kernel-wasm`, unit `us`): one agent message sent and its
//!   reply received, host side, target ≤ 1 µs; case `idle_agent_memory` (unit `KiB`): resident bytes
//!   per idle agent (measure N agents' total over the empty runtime), target ≤ 80 KiB.
//! * `llm`: tokens/s and time-to-first-token of the `llm` host interface once it exists.
//!
//! When adding them, replace the note with a module of its own and call it from `main`.

use crate::{Opts, Results};

pub fn run(_opts: &Opts, results: &mut Results) {
    results.note(
        "agents",
        "not measured: the agent subsystem (scheduler, `agent` host interface) does not exist in kernel-wasm yet",
    );
    results.note(
        "llm",
        "not measured: the `llm` host interface does not exist in kernel-wasm yet",
    );
}
