//! The slice driver (`kernel_wasm::Execution`) through the public API: every trap a guest can
//! hit is reported with its own message; a call runs slice by slice and ends exactly once; a host
//! function of the embedder (`Runtime::registry_mut`) may park its caller with
//! `kernel_wasm::park` and is resumed with its results, however many; a reason to park that only
//! the agent scheduler can serve ends a plain call with an error that says so; and an error of
//! the embedder's own reaches the caller as one line.

// The platform is single-threaded; `Arc` only hands the console to the instance.
#![allow(clippy::arc_with_non_send_sync)]

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{
    park, CallOutcome, Error, HostContext, Instance, InstanceConfig, Runtime, Step, Suspend, Value,
};
use wasmi::Caller;

/// A guest for each trap code, and a loop to drive slice by slice.
const TRAPS: &str = r#"(module
  (type $void (func))
  (type $int (func (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $int_fn)
  (func $int_fn (result i32) (i32.const 1))
  (func (export "unreachable") unreachable)
  (func (export "div_by_zero") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "oob_load") (result i32) (i32.load (i32.const 65535)))
  (func (export "nan_to_int") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "null_entry") (call_indirect (type $void) (i32.const 1)))
  (func (export "past_table") (call_indirect (type $void) (i32.const 7)))
  (func (export "wrong_type") (call_indirect (type $void) (i32.const 0)))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (local.get $i)))"#;

fn instance_of(runtime: &Runtime, wat: &str) -> Instance {
    let module = runtime
        .load(&wat::parse_str(wat).unwrap(), Some("guest"))
        .unwrap();
    let config = InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    runtime.instantiate(&module, config).unwrap()
}

#[test]
fn every_trap_has_its_own_message() {
    let runtime = Runtime::default();
    let mut inst = instance_of(&runtime, TRAPS);
    for (func, message) in [
        ("unreachable", "unreachable instruction executed"),
        ("div_by_zero", "integer division by zero"),
        ("overflow", "integer overflow"),
        ("oob_load", "out-of-bounds memory access"),
        ("nan_to_int", "invalid conversion to integer"),
        ("null_entry", "indirect call to a null table entry"),
        ("past_table", "out-of-bounds table access"),
        ("wrong_type", "indirect call type mismatch"),
    ] {
        assert_eq!(
            inst.call(func, &[]),
            Err(Error::Trap {
                func: func.into(),
                message: message.into()
            }),
            "{func}"
        );
    }
    // Each trap ended its own call only: the instance still answers.
    assert_eq!(
        inst.call("count", &[Value::I32(3)]),
        Ok(CallOutcome::Returned(vec![Value::I32(3)]))
    );
}

#[test]
fn a_start_function_that_runs_out_of_fuel_is_refused_at_instantiation() {
    let runtime = Runtime::default();
    let module = runtime
        .load(
            &wat::parse_str("(module (func $s (loop (br 0))) (start $s))").unwrap(),
            Some("spin"),
        )
        .unwrap();
    let mut config =
        InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    config.fuel = Some(50_000);
    match runtime.instantiate(&module, config) {
        Err(Error::OutOfFuel { func, limit }) => {
            assert_eq!((func.as_str(), limit), ("start", 50_000))
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("an endless start function was instantiated"),
    }
}

#[test]
fn a_call_runs_slice_by_slice_and_ends_once() {
    let runtime = Runtime::default();
    let mut inst = instance_of(&runtime, TRAPS);
    let mut call = inst.start("count", &[Value::I32(100_000)]).unwrap();
    assert_eq!(call.name(), "count");
    assert!(format!("{call:?}").contains("count"), "{call:?}");
    let mut slices = 0;
    let result = loop {
        slices += 1;
        assert!(slices < 10_000, "the call never finished");
        match call.resume(&mut inst, 10_000) {
            Step::Preempted => {}
            Step::Finished(result) => break result,
            Step::Suspended(why) => panic!("suspended: {why}"),
        }
    };
    assert_eq!(result, Ok(CallOutcome::Returned(vec![Value::I32(100_000)])));
    assert!(
        slices > 10,
        "a long loop in slices of 10 000 fuel took {slices}"
    );
    // Resuming a finished call is an error, not a second run.
    match call.resume(&mut inst, 10_000) {
        Step::Finished(Err(Error::State { message })) => {
            assert_eq!(message, "call of count already ended")
        }
        other => panic!("{other:?}"),
    }
}

/// A host module of the embedder's: `host.wait` parks with the reason the guest passes (0 yield,
/// 1 receive, 2 spawn) and resumes with whatever results its driver gives, five of them;
/// `host.fail` fails with an error of the embedder's own, on two lines.
fn runtime_with_host_module() -> Runtime {
    let mut runtime = Runtime::default();
    runtime.registry_mut().func(
        "host",
        "wait",
        None,
        |mut caller: Caller<'_, HostContext>,
         why: i32|
         -> Result<(i32, i32, i32, i32, i32), wasmi::Error> {
            let why = match why {
                0 => Suspend::Yield,
                1 => Suspend::Receive,
                2 => Suspend::Spawn,
                3 => Suspend::ReceiveUntil(7),
                _ => Suspend::Infer,
            };
            Err(park(caller.data_mut(), why))
        },
    );
    runtime.registry_mut().func(
        "host",
        "fail",
        None,
        |_: Caller<'_, HostContext>| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::new("the device\n  stopped answering"))
        },
    );
    runtime
}

const WAITER: &str = r#"(module
  (import "host" "wait" (func $wait (param i32) (result i32 i32 i32 i32 i32)))
  (import "host" "fail" (func $fail))
  ;; The five results of host.wait, weighted so each position counts: a + 10b + 100c + ...
  (func (export "wait") (param i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $e i32)
    (call $wait (local.get 0))
    (local.set $e) (local.set $d) (local.set $c) (local.set $b) (local.set $a)
    (i32.add (local.get $a)
      (i32.add (i32.mul (local.get $b) (i32.const 10))
        (i32.add (i32.mul (local.get $c) (i32.const 100))
          (i32.add (i32.mul (local.get $d) (i32.const 1000))
            (i32.mul (local.get $e) (i32.const 10000)))))))
  (func (export "fail") (call $fail)))"#;

fn wrong_result_count() -> Error {
    Error::Trap {
        func: "wait".into(),
        message: "encountered an incorrect number of results".into(),
    }
}

#[test]
fn a_parked_call_resumes_with_the_host_functions_results() {
    let runtime = runtime_with_host_module();
    let mut inst = instance_of(&runtime, WAITER);
    let mut call = inst.start("wait", &[Value::I32(0)]).unwrap();
    match call.resume(&mut inst, 10_000) {
        Step::Suspended(why) => {
            assert_eq!(why, Suspend::Yield);
            assert_eq!(why.to_string(), "yielded");
        }
        other => panic!("{other:?}"),
    }
    // More results than fit the driver's fixed buffer (four) still go back in order.
    let returns = [1, 2, 3, 4, 5].map(Value::I32);
    match call.resume_with(&mut inst, &returns, 10_000) {
        Step::Finished(result) => {
            assert_eq!(result, Ok(CallOutcome::Returned(vec![Value::I32(54_321)])))
        }
        other => panic!("{other:?}"),
    }
    // A driver that resumes with the wrong results gets an error, never a guest running on
    // garbage.
    let mut call = inst.start("wait", &[Value::I32(0)]).unwrap();
    assert!(matches!(
        call.resume(&mut inst, 10_000),
        Step::Suspended(Suspend::Yield)
    ));
    match call.resume_with(&mut inst, &[Value::I32(1)], 10_000) {
        Step::Finished(result) => assert_eq!(result, Err(wrong_result_count())),
        other => panic!("resumed with one of five results: {other:?}"),
    }
}

#[test]
fn reasons_only_the_agent_scheduler_serves_end_a_plain_call() {
    let runtime = runtime_with_host_module();
    let mut inst = instance_of(&runtime, WAITER);
    for (why, text) in [
        (1, "blocked in receive"),
        (2, "spawning an agent"),
        (3, "blocked in receive with a timeout"),
    ] {
        assert_eq!(
            inst.call("wait", &[Value::I32(why)]),
            Err(Error::State {
                message: format!(
                    "wait {text}, but nothing can wake it outside the agent scheduler"
                )
            })
        );
    }
    // A yield is served at once, and an inference parked without one pending fails: `call`
    // resumes either with a single value, which is not what this host function returns, and
    // says so rather than running on.
    assert_eq!(
        inst.call("wait", &[Value::I32(0)]),
        Err(wrong_result_count())
    );
    assert_eq!(
        inst.call("wait", &[Value::I32(4)]),
        Err(wrong_result_count())
    );
    // Text of the remaining reasons (the scheduler's status lines use them).
    assert_eq!(Suspend::Infer.to_string(), "running an inference");
    assert_eq!(Suspend::Io.to_string(), "blocked on a socket");
}

#[test]
fn an_embedders_host_error_is_a_one_line_trap() {
    let runtime = runtime_with_host_module();
    let mut inst = instance_of(&runtime, WAITER);
    assert_eq!(
        inst.call("fail", &[]),
        Err(Error::Trap {
            func: "fail".into(),
            message: "the device stopped answering".into()
        })
    );
}

/// A console whose user has pressed Ctrl-C.
struct Pressed;

impl kernel_wasm::Console for Pressed {
    fn write(&self, _: kernel_wasm::Stream, _: &[u8]) {}
    fn read(&self, _: &mut [u8]) -> usize {
        0
    }
    fn take_interrupt(&self) -> bool {
        true
    }
}

#[test]
fn ctrl_c_ends_a_wait_on_a_socket() {
    use kernel_wasm::net::Network;
    let runtime = Runtime::default();
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "accept") (result i32) (call $accept (i32.const 3) (i32.const 0) (i32.const 0))))"#;
    let module = runtime
        .load(&wat::parse_str(wat).unwrap(), Some("server"))
        .unwrap();
    // Nobody connects: the blocking accept parks until the interrupt.
    let listener = kernel_wasm::hosted::net::StdNetwork::default()
        .listen("127.0.0.1:0".parse().unwrap(), 1)
        .unwrap();
    let mut config = InstanceConfig::new(platform_with_console(Arc::new(Pressed)));
    config.sockets = vec![kernel_wasm::wasi::SocketPreopen::new(Arc::from(listener))];
    let mut inst = runtime.instantiate(&module, config).unwrap();
    assert_eq!(
        inst.call("accept", &[]),
        Err(Error::Interrupted {
            func: "accept (waiting on a socket)".into()
        })
    );
}
