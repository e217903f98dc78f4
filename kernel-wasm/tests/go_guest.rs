//! A real Go guest (Go's wasip1 port: `kernel-wasm/tests/wasi-programs/go/hello.go`, built by
//! `cargo xtask wasi-programs`) run in fuel slices of every size, as an instance and as an agent.
//! Go's runtime makes many host calls, translates hundreds of functions lazily and needs a clock
//! that advances: a slice may end anywhere, in the middle of translating a function included,
//! and the program must still run to its end.
//!
//! When the program is not built the tests say so and pass, but under `cargo xtask ci`
//! (`KWASM_REQUIRE_WASI_PROGRAMS`) they fail.

use std::sync::Arc;

use kernel_wasm::agents::{AgentState, SpawnOptions, System, SystemConfig};
use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::vfs::write_file;
use kernel_wasm::{CallOutcome, CapSet, InstanceConfig, Runtime};

const EXPECTED: &str =
    "hello from Go: 1 args\nclock advances: true\nrandom: true\ngoroutines: 14\n";

fn go_hello() -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasi-programs/go/hello.wasm");
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) if std::env::var_os("KWASM_REQUIRE_WASI_PROGRAMS").is_some() => {
            panic!(
                "{} is not built (cargo xtask wasi-programs)",
                path.display()
            )
        }
        Err(_) => {
            println!(
                "SKIPPED: {} is not built; run `cargo xtask wasi-programs`",
                path.display()
            );
            None
        }
    }
}

#[test]
fn go_runs_to_its_end_in_slices_of_any_size() {
    let Some(bytes) = go_hello() else {
        return;
    };
    let rt = Runtime::default();
    let module = rt.load(&bytes, Some("hello.wasm")).unwrap();
    for slice in [997, 10_000, 1_000_000] {
        let console = Arc::new(CaptureConsole::default());
        let mut config = InstanceConfig::new(platform_with_console(console.clone()));
        config.args = vec!["hello.wasm".into()];
        config.slice_fuel = slice;
        config.fuel = Some(10_000_000_000);
        let mut instance = rt.instantiate(&module, config).unwrap();
        assert_eq!(
            instance.run_start().unwrap(),
            CallOutcome::Exited(0),
            "slice {slice}: {}",
            console.text()
        );
        assert_eq!(console.text(), EXPECTED, "slice {slice}");
    }
}

#[test]
fn go_runs_as_an_agent() {
    let Some(bytes) = go_hello() else {
        return;
    };
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    write_file(&*platform.vfs, "/agents/hello.wasm", &bytes).unwrap();
    let rt = Runtime::default();
    let mut system = System::new(platform, SystemConfig::default());
    // Go's runtime reads its environment and the clock before main: without `env` it stops with
    // "environ_sizes_get failed" (WASI answers ENOTCAPABLE), without `clock` it cannot start.
    let mut options = SpawnOptions::new(CapSet::parse("env,clock,random").unwrap());
    options.fuel = Some(10_000_000_000);
    let id = system.spawn(&rt, "/agents/hello.wasm", options).unwrap();
    system.run(&rt, u64::MAX, &mut |_| {});
    assert_eq!(
        system.info(id).unwrap().state,
        AgentState::Exited(0),
        "{}",
        console.text()
    );
    assert_eq!(console.text(), EXPECTED);
}
