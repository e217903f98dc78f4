//! Running guest code in slices: the one loop that drives wasmi's resumable calls.
//!
//! A call runs for at most one *slice* of fuel at a time. Between slices the driver charges the
//! fuel used against the instance's budget, checks the wall-clock limit, and — for the agent
//! scheduler — may switch to another instance. A call ends in one of three ways (wasmi's resumable
//! states, see `wasmi::ResumableCall`):
//! - finished: the function returned (or the guest exited / trapped);
//! - out of fuel: the slice is spent; resumable after refuelling ([`Step::Preempted`]);
//! - host trap: a host function returned an error. `proc_exit` and our own limit errors end the
//!   call; the error of [`park`] parks it ([`Step::Suspended`] with the [`Suspend`] reason) until
//!   the host resumes it with the host function's results (how a blocking receive waits without
//!   threads).

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use wasmi::{ResumableCall, ResumableCallHostTrap, ResumableCallOutOfFuel, TrapCode};

use crate::context::HostContext;
use crate::error::{Error, LimitKind, Result};
use crate::instance::{CallOutcome, Instance};
use crate::values::Value;

/// Why a host function parked its caller (it returned [`park`]'s error), for the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suspend {
    /// Waiting for a message; resume with the receive function's results.
    Receive,
    /// Waiting for a message until the given monotonic deadline (ns).
    ReceiveUntil(u64),
    /// Gives up the rest of the slice (e.g. `sched_yield`); resume with the function's results.
    Yield,
    /// Asks the agent scheduler to create an agent (the request is left in the agent system's
    /// shared state); resume with the new id or an error code.
    Spawn,
    /// `llm.infer` left an inference in the instance's `LlmLink`: serve it one token step at a
    /// time (`llm::abi::serve`), then resume with its result.
    Infer,
    /// Waiting on a socket (`HostContext::blocked` says which, and for what); resume with the
    /// result of [`wasi::blocking::retry`](crate::wasi::blocking::retry) once it no longer blocks.
    Io,
}

impl fmt::Display for Suspend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suspend::Receive => f.write_str("blocked in receive"),
            Suspend::ReceiveUntil(_) => f.write_str("blocked in receive with a timeout"),
            Suspend::Yield => f.write_str("yielded"),
            Suspend::Spawn => f.write_str("spawning an agent"),
            Suspend::Infer => f.write_str("running an inference"),
            Suspend::Io => f.write_str("blocked on a socket"),
        }
    }
}

/// The host error a parking host function returns (see [`park`]). Zero-sized on purpose: boxing
/// it as a `dyn HostError` allocates nothing, and a parked receive is every wait for a message.
#[derive(Debug, Clone, Copy)]
struct Parked;

impl fmt::Display for Parked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("host function parked the call")
    }
}

impl wasmi::errors::HostError for Parked {}

/// Parks the calling guest: records `why` in its context and returns the error the host function
/// must return. [`Execution`] then ends the slice with [`Step::Suspended`]`(why)`.
pub fn park(ctx: &mut HostContext, why: Suspend) -> wasmi::Error {
    ctx.parked = Some(why);
    wasmi::Error::host(Parked)
}

/// How far one slice got.
#[derive(Debug)]
pub enum Step {
    /// The call is over.
    Finished(Result<CallOutcome>),
    /// The slice's fuel is spent; call [`Execution::resume`] again to continue.
    Preempted,
    /// A host function parked the call; resume with [`Execution::resume_with`].
    Suspended(Suspend),
}

enum State {
    NotStarted {
        func: wasmi::Func,
        params: Vec<wasmi::Val>,
    },
    OutOfFuel(ResumableCallOutOfFuel),
    HostTrap(ResumableCallHostTrap),
    Done,
}

/// One call of an export, runnable in slices.
pub struct Execution {
    name: String,
    state: State,
    results: Vec<wasmi::Val>,
    /// The least fuel the next slice must have to make progress (wasmi charges a whole block
    /// up front), from the last out-of-fuel pause.
    required: u64,
}

impl fmt::Debug for Execution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Execution")
            .field("name", &self.name)
            .finish()
    }
}

impl Execution {
    pub(crate) fn new(
        name: &str,
        func: wasmi::Func,
        params: Vec<wasmi::Val>,
        results: usize,
    ) -> Self {
        Execution {
            name: name.to_string(),
            state: State::NotStarted { func, params },
            results: vec![wasmi::Val::I32(0); results],
            required: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs (or continues after preemption) for at most `slice` fuel.
    pub fn resume(&mut self, inst: &mut Instance, slice: u64) -> Step {
        self.run(inst, slice, &[])
    }

    /// Continues a suspended call; `returns` are the results of the host function that suspended.
    pub fn resume_with(&mut self, inst: &mut Instance, returns: &[Value], slice: u64) -> Step {
        // A host function returns at most a few values: no allocation for them (this is every
        // wake-up of a blocked agent).
        let mut buf: [wasmi::Val; 4] = core::array::from_fn(|_| wasmi::Val::I32(0));
        if returns.len() <= buf.len() {
            for (slot, value) in buf.iter_mut().zip(returns) {
                *slot = value.to_wasmi();
            }
            self.run(inst, slice, &buf[..returns.len()])
        } else {
            let vals: Vec<wasmi::Val> = returns.iter().map(|v| v.to_wasmi()).collect();
            self.run(inst, slice, &vals)
        }
    }

    /// Runs to completion in slices of `slice` fuel, checking the time limit and for an
    /// interrupt ([`Console::take_interrupt`](crate::Console::take_interrupt)) between slices.
    /// A yield resumes at once; a guest waiting on a socket ([`Suspend::Io`]) is served here (the
    /// host waits for the socket, bounded by the time limit and an interrupt) and resumed; an
    /// `llm.infer` ([`Suspend::Infer`]) is served here one token step at a time, with the same
    /// checks between tokens. Other suspensions need the agent scheduler: they end the call with
    /// an error.
    pub fn run_to_end(&mut self, inst: &mut Instance, slice: u64) -> Result<CallOutcome> {
        let mut step = self.resume(inst, slice);
        loop {
            step = match step {
                Step::Finished(result) => return result,
                Step::Preempted if inst.take_interrupt() => {
                    self.state = State::Done;
                    return Err(Error::Interrupted {
                        func: self.name.clone(),
                    });
                }
                Step::Preempted => self.resume(inst, slice),
                Step::Suspended(Suspend::Yield) => self.resume_with(inst, &[Value::I32(0)], slice),
                Step::Suspended(Suspend::Infer) => {
                    let result = self.serve_inference(inst)?;
                    self.resume_with(inst, &[Value::I32(result)], slice)
                }
                Step::Suspended(Suspend::Io) => match self.wait_io(inst) {
                    Ok(value) => self.resume_with(inst, &[Value::I32(value)], slice),
                    Err(e) => {
                        self.state = State::Done;
                        return Err(e);
                    }
                },
                Step::Suspended(why) => return Err(self.unserved(why)),
            };
        }
    }

    /// Serves a parked `llm.infer` to its end, token step by token step, stopping between two
    /// steps on an interrupt or the instance's time limit (the call then ends with that error).
    fn serve_inference(&mut self, inst: &mut Instance) -> Result<i32> {
        use crate::llm::abi::{cancel, serve, Served};
        loop {
            let stop = if inst.take_interrupt() {
                Some(self.interrupted())
            } else {
                inst.check_time().err()
            };
            let stop = match stop {
                Some(error) => error,
                None => match serve(inst, false) {
                    Served::Pending => continue,
                    Served::Done(result) => return Ok(result),
                    Served::Failed(error) => error,
                },
            };
            // The call ends here: the session gives its slot back now, not when the instance goes.
            cancel(inst);
            self.state = State::Done;
            return Err(stop);
        }
    }

    fn interrupted(&mut self) -> Error {
        self.state = State::Done;
        Error::Interrupted {
            func: self.name.clone(),
        }
    }

    /// Waits until the socket operation `inst` is parked in can finish; its result.
    fn wait_io(&mut self, inst: &mut Instance) -> Result<i32> {
        use crate::net::wait::{wait_step, Woke};
        use crate::wasi::blocking::{retry, Retry};
        loop {
            let deadline = {
                let ctx = inst.context();
                match (ctx.blocked.deadline_ns, ctx.time_limit) {
                    (Some(d), Some((limit, _))) => Some(d.min(limit)),
                    (d, limit) => d.or(limit.map(|(l, _)| l)),
                }
            };
            let woke = {
                let ctx = inst.context();
                wait_step(&ctx.platform, &ctx.blocked.interests, deadline)
            };
            if woke == Woke::Interrupted {
                return Err(Error::Interrupted {
                    func: alloc::format!("{} (waiting on a socket)", self.name),
                });
            }
            match retry(inst) {
                Retry::Done(value) => return Ok(value),
                Retry::Stop(error) => return Err(error),
                Retry::Blocked => {}
            }
            if let Some((limit, ms)) = inst.context().time_limit {
                if inst.now() >= limit {
                    return Err(Error::LimitExceeded {
                        kind: LimitKind::Time,
                        limit: ms,
                        detail: alloc::format!(
                            "{} waited on a socket past its {ms} ms of wall time",
                            inst.module().name()
                        ),
                    });
                }
            }
        }
    }

    fn unserved(&mut self, why: Suspend) -> Error {
        self.state = State::Done;
        Error::State {
            message: alloc::format!(
                "{} {why}, but nothing can wake it outside the agent scheduler",
                self.name
            ),
        }
    }

    fn run(&mut self, inst: &mut Instance, slice: u64, returns: &[wasmi::Val]) -> Step {
        if let Err(e) = inst.check_time() {
            self.state = State::Done;
            return Step::Finished(Err(e));
        }
        let granted = match inst.begin_slice(slice.max(self.required)) {
            Ok(granted) => granted,
            Err(e) => {
                self.state = State::Done;
                return Step::Finished(Err(e));
            }
        };
        let state = core::mem::replace(&mut self.state, State::Done);
        let store = inst.store_mut();
        let outcome = match state {
            State::NotStarted { func, params } => {
                func.call_resumable(store, &params, &mut self.results)
            }
            State::OutOfFuel(call) => call.resume(store, &mut self.results),
            State::HostTrap(call) => call.resume(store, returns, &mut self.results),
            State::Done => {
                return Step::Finished(Err(Error::State {
                    message: alloc::format!("call of {} already ended", self.name),
                }))
            }
        };
        inst.end_slice(granted);
        match outcome {
            Ok(ResumableCall::Finished) => {
                let values = self.results.iter().filter_map(Value::from_wasmi).collect();
                Step::Finished(Ok(CallOutcome::Returned(values)))
            }
            Ok(ResumableCall::OutOfFuel(call)) => {
                // What is left (fuel, credits) cannot pay for the next block: stop rather than
                // resume forever without progress.
                self.required = call.required_fuel();
                if !inst.can_supply(self.required) {
                    return Step::Finished(Err(inst.out_of_fuel(&self.name)));
                }
                self.state = State::OutOfFuel(call);
                Step::Preempted
            }
            Ok(ResumableCall::HostTrap(call)) => {
                let parked = inst.context_mut().parked.take();
                match parked {
                    Some(why) if call.host_error().downcast_ref::<Parked>().is_some() => {
                        self.state = State::HostTrap(call);
                        Step::Suspended(why)
                    }
                    _ => Step::Finished(inst.map_error(&self.name, call.into_host_error())),
                }
            }
            Err(err) => Step::Finished(inst.map_error(&self.name, err)),
        }
    }
}

/// Maps an engine error that ended a call to its outcome.
pub(crate) fn classify(func: &str, err: wasmi::Error, fuel_limit: u64) -> Result<CallOutcome> {
    if let Some(code) = err.i32_exit_status() {
        return Ok(CallOutcome::Exited(code));
    }
    if let Some(ours) = err.downcast_ref::<Error>() {
        return Err(ours.clone());
    }
    let message = match err.as_trap_code() {
        Some(TrapCode::OutOfFuel) => {
            return Err(Error::OutOfFuel {
                func: func.to_string(),
                limit: fuel_limit,
            })
        }
        Some(TrapCode::GrowthOperationLimited) => {
            return Err(Error::LimitExceeded {
                kind: LimitKind::Memory,
                limit: 0,
                detail: String::from("a memory or table growth limit was reached"),
            })
        }
        Some(code) => trap_message(code).to_string(),
        // An active element segment that does not fit its table is, by the spec, the
        // instantiation trapping on an out-of-bounds table access (wasmtime reports it so);
        // wasmi reports it as an instantiation error whose text is a debug dump of the table.
        None if matches!(
            err.kind(),
            wasmi::errors::ErrorKind::Instantiation(
                wasmi::errors::InstantiationError::ElementSegmentDoesNotFit { .. }
            )
        ) =>
        {
            trap_message(TrapCode::TableOutOfBounds).to_string()
        }
        None => crate::runtime::one_line(&err.to_string()),
    };
    Err(Error::Trap {
        func: func.to_string(),
        message,
    })
}

/// The user-facing text of a trap code.
fn trap_message(code: TrapCode) -> &'static str {
    match code {
        TrapCode::UnreachableCodeReached => "unreachable instruction executed",
        TrapCode::MemoryOutOfBounds => "out-of-bounds memory access",
        TrapCode::TableOutOfBounds => "out-of-bounds table access",
        TrapCode::IndirectCallToNull => "indirect call to a null table entry",
        TrapCode::IntegerDivisionByZero => "integer division by zero",
        TrapCode::IntegerOverflow => "integer overflow",
        TrapCode::BadConversionToInteger => "invalid conversion to integer",
        TrapCode::StackOverflow => "call stack exhausted (infinite recursion?)",
        TrapCode::BadSignature => "indirect call type mismatch",
        TrapCode::OutOfFuel => "out of fuel",
        TrapCode::GrowthOperationLimited => "a memory or table growth limit was reached",
        _ => "trap",
    }
}
