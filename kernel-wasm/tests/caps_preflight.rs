//! The capability pre-flight: a module importing a host function of a non-WASI module (`agent`,
//! `llm`, `net`) whose capability is not granted is refused at instantiation, naming what is
//! missing; WASI imports never refuse a module.
//!
//! These tests register small doubles through `Runtime::registry_mut` (in modules of their own,
//! beside the real `agent` and `llm` modules), each guarded by a capability and checking it again when
//! called (the double answers -1 when denied). The real `agent` functions' pre-flight is tested
//! in `agents_messaging.rs`, the real `llm` functions' in `llm_host.rs`.

use std::sync::Arc;

use kernel_wasm::host::{CapCheck, HostCall};
use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{CallOutcome, CapSet, Capability, Error, InstanceConfig, Runtime, Value};
use wasmi::Caller;

/// (module, function, capability) of every double.
const GUARDED: [(&str, &str, Capability); 8] = [
    ("agent-double", "spawn", Capability::AgentSpawn),
    ("agent-double", "send", Capability::AgentSend),
    ("agent-double", "receive", Capability::AgentReceive),
    ("llm-double", "infer", Capability::LlmInfer),
    ("llm-double", "adapter", Capability::LlmAdapter),
    ("net-double", "connect", Capability::NetConnect),
    ("net-double", "send", Capability::NetSend),
    ("net-double", "recv", Capability::NetRecv),
];

fn runtime() -> Runtime {
    let mut rt = Runtime::default();
    for (module, name, cap) in GUARDED {
        rt.registry_mut().func(
            module,
            name,
            Some(cap),
            move |mut caller: Caller<'_, kernel_wasm::HostContext>| -> i32 {
                caller.count();
                if caller.data().caps.has(cap) {
                    7
                } else {
                    -1
                }
            },
        );
    }
    rt
}

fn config(caps: CapSet) -> InstanceConfig {
    let mut cfg = InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    cfg.caps = caps;
    cfg
}

fn importer(module: &str, name: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
             (import "{module}" "{name}" (func $f (result i32)))
             (func (export "call") (result i32) (call $f)))"#
    ))
    .expect("generated WAT compiles")
}

#[test]
fn each_guarded_import_is_refused_without_its_capability_and_runs_with_it() {
    let rt = runtime();
    for (module, name, cap) in GUARDED {
        let loaded = rt
            .load(&importer(module, name), Some("importer"))
            .expect("loads: the import exists");
        // Missing: refused before anything runs, naming the capability and the import.
        match rt.instantiate(&loaded, config(CapSet::all().without(cap))) {
            Err(Error::MissingCapabilities { module: m, missing }) => {
                assert_eq!(m, "importer");
                assert_eq!(missing.len(), 1, "{missing:?}");
                assert!(
                    missing[0].starts_with(cap.name())
                        && missing[0].contains(&format!("{module}::{name}")),
                    "{missing:?}"
                );
            }
            Err(other) => panic!("{module}::{name}: wrong error {other}"),
            Ok(_) => panic!("{module}::{name} instantiated without {cap}"),
        }
        // Granted (only it): runs, and the function's own check passes.
        let mut granted = CapSet::none();
        granted.grant(kernel_wasm::caps::parse_grant(cap.name()).expect("valid name"));
        let mut inst = rt
            .instantiate(&loaded, config(granted))
            .unwrap_or_else(|e| panic!("{module}::{name} with {cap}: {e}"));
        assert_eq!(
            inst.call("call", &[]).expect("runs"),
            CallOutcome::Returned(vec![Value::I32(7)])
        );
    }
}

#[test]
fn every_missing_capability_is_listed_and_wasi_imports_never_refuse() {
    let rt = runtime();
    let bytes = wat::parse_file(format!(
        "{}/tests/fixtures/agent_llm_imports.wat",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture compiles");
    let module = rt.load(&bytes, Some("both")).expect("loads");
    let err = rt
        .instantiate(&module, config(CapSet::none()))
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("agent:spawn (imported by agent::spawn)")
            && text.contains("llm:infer (imported by llm::infer)"),
        "{text}"
    );
    // random_get is WASI: checked per call, never a reason to refuse.
    assert!(!text.contains("random"), "{text}");
    assert!(rt
        .check_capabilities(&module, &CapSet::parse("agent:spawn,llm:infer").unwrap())
        .is_ok());

    let needs = rt.capability_needs(&module);
    let summary: Vec<(Capability, CapCheck)> =
        needs.iter().map(|n| (n.capability, n.check)).collect();
    assert_eq!(
        summary,
        vec![
            (Capability::Random, CapCheck::AtCall),
            (Capability::AgentSpawn, CapCheck::AtInstantiation),
            (Capability::LlmInfer, CapCheck::AtInstantiation),
        ]
    );

    // A module importing only WASI functions instantiates with no capability at all.
    let hello = rt
        .load(
            &wat::parse_file(format!(
                "{}/tests/fixtures/wasi_env_clock_random.wat",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("fixture compiles"),
            None,
        )
        .expect("loads");
    assert!(rt.instantiate(&hello, config(CapSet::none())).is_ok());
}

#[test]
fn a_child_gets_at_most_its_parents_capabilities() {
    let rt = runtime();
    let module = rt
        .load(&importer("agent-double", "spawn"), Some("child"))
        .expect("loads");
    // The child asks for agent:spawn; the parent does not have it: refused.
    let parent = CapSet::parse("agent:send,clock").unwrap();
    let asked = CapSet::parse("agent:spawn,agent:send").unwrap();
    let child = parent.intersect(&asked);
    assert!(!child.has(Capability::AgentSpawn));
    assert!(matches!(
        rt.instantiate(&module, config(child)),
        Err(Error::MissingCapabilities { .. })
    ));
    // A parent with it passes it on.
    let parent = CapSet::parse("agent:spawn").unwrap();
    assert!(rt
        .instantiate(&module, config(parent.intersect(&asked)))
        .is_ok());
}
