//! Shared set-up of the agent tests: a hosted platform with a capture console and the WAT fixtures
//! of `tests/fixtures/agents` compiled into the in-memory root FS under `/agents`.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use kernel_wasm::agents::{
    AgentState, Event, Message, RunReport, SpawnOptions, System, SystemConfig,
};
use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{CapSet, Platform, Runtime};

pub struct Env {
    pub platform: Platform,
    pub runtime: Runtime,
    pub system: System,
    pub console: Arc<CaptureConsole>,
    /// Everything the scheduler reported, in order.
    pub events: Vec<Event>,
}

/// Writes every fixture of `tests/fixtures/agents` to `/agents/NAME.wasm` in `platform`'s VFS.
pub fn install_fixtures(platform: &Platform) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents");
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = entry.expect("fixture entry").path();
        if path.extension().is_some_and(|e| e == "wat") {
            let wasm = wat::parse_file(&path).expect("fixture compiles");
            let name = path.file_stem().and_then(|s| s.to_str()).expect("name");
            kernel_wasm::vfs::write_file(&*platform.vfs, &format!("/agents/{name}.wasm"), &wasm)
                .expect("fixture written");
        }
    }
}

pub fn env(config: SystemConfig) -> Env {
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    install_fixtures(&platform);
    Env {
        runtime: Runtime::default(),
        system: System::new(platform.clone(), config),
        platform,
        console,
        events: Vec::new(),
    }
}

/// The capabilities of a plain messaging agent.
pub fn agent_caps() -> CapSet {
    CapSet::parse("agent:spawn,agent:send,agent:receive").expect("caps")
}

impl Env {
    pub fn spawn(&mut self, name: &str) -> u32 {
        self.spawn_with(name, agent_caps())
    }

    pub fn spawn_with(&mut self, name: &str, caps: CapSet) -> u32 {
        self.system
            .spawn(
                &self.runtime,
                &format!("/agents/{name}.wasm"),
                SpawnOptions::new(caps),
            )
            .expect("spawn")
    }

    pub fn run(&mut self, max_slices: u64) -> RunReport {
        let events = &mut self.events;
        self.system
            .run(&self.runtime, max_slices, &mut |e| events.push(e))
    }

    pub fn state(&self, id: u32) -> AgentState {
        self.system.info(id).expect("agent exists").state
    }

    /// Messages the agents sent to the host, in order.
    pub fn host_messages(&self) -> Vec<&Message> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    pub fn host_texts(&self) -> Vec<String> {
        self.host_messages()
            .iter()
            .map(|m| format!("[agent {}] {}", m.from, String::from_utf8_lossy(&m.body)))
            .collect()
    }
}

/// The reference checkpoint's files (`../shared/llm/` of the repository root); the tests fail,
/// not skip, when they are missing.
pub fn llm_file(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/llm/");
    std::fs::read(format!("{path}{name}")).unwrap_or_else(|e| panic!("{path}{name}: {e}"))
}

/// stories260K + tok512 as a service with `limits`.
pub fn llm_service(limits: kernel_wasm::llm::LlmLimits) -> Arc<kernel_wasm::llm::LlmService> {
    Arc::new(
        kernel_wasm::llm::LlmService::from_bytes(
            "stories260K",
            &llm_file("stories260K.bin"),
            &llm_file("tok512.bin"),
            limits,
        )
        .expect("the reference model loads"),
    )
}

/// The greedy completion of `prompt` computed directly with a session (no guest involved).
pub fn llm_direct(service: &Arc<kernel_wasm::llm::LlmService>, prompt: &str) -> String {
    use kernel_wasm::llm::session::{Progress, Sampling};
    let max = service.limits().max_tokens;
    let mut session = service
        .begin(prompt, max, Sampling::default())
        .expect("begins");
    loop {
        match session.step().expect("steps") {
            Progress::Finished(_) => return session.text(),
            Progress::Stepped => {}
            Progress::Queued => panic!("the model is busy"),
        }
    }
}
