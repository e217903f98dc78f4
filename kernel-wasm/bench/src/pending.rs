//! Group `llm`: a subsystem that does not exist yet, so there is nothing to measure.
//!
//! This file exists to keep that fact visible in every report (no placeholder numbers) and to be the
//! place where the measurements go once it lands: tokens/s and time-to-first-token of the `llm` host
//! interface. When adding them, replace the note with a module of its own (as `agents.rs` did) and
//! call it from `main`.

use crate::{Opts, Results};

pub fn run(_opts: &Opts, results: &mut Results) {
    results.note(
        "llm",
        "not measured: the `llm` host interface does not exist in kernel-wasm yet",
    );
}
