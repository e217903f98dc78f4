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

/// A PEFT adapter for stories260K (`adapter_config.json`, `adapter_model.safetensors`): rank 2 on
/// `o_proj` of every layer, pseudo-random values of magnitude `scale` from `seed` (`scale` 0: a
/// zero adapter, which changes nothing).
pub fn lora_files(seed: u64, scale: f32) -> (Vec<u8>, Vec<u8>) {
    use safetensors::tensor::{Dtype, TensorView};
    let (dim, layers, rank) = (64usize, 5usize, 2usize);
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state % 20001) as f32 / 10000.0 - 1.0) * scale
    };
    let mut buffers = Vec::new();
    for layer in 0..layers {
        let module = format!("base_model.model.model.layers.{layer}.self_attn.o_proj");
        let a: Vec<u8> = (0..rank * dim).flat_map(|_| next().to_le_bytes()).collect();
        let b: Vec<u8> = (0..dim * rank).flat_map(|_| next().to_le_bytes()).collect();
        buffers.push((format!("{module}.lora_A.weight"), vec![rank, dim], a));
        buffers.push((format!("{module}.lora_B.weight"), vec![dim, rank], b));
    }
    let views: Vec<(String, TensorView<'_>)> = buffers
        .iter()
        .map(|(name, shape, data)| {
            (
                name.clone(),
                TensorView::new(Dtype::F32, shape.clone(), data).expect("tensor"),
            )
        })
        .collect();
    let weights = safetensors::serialize(views, None).expect("serializes");
    let config = br#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["o_proj"]}"#;
    (config.to_vec(), weights)
}

/// A ustar archive of `files` (what `tar cf` makes), for adapters packed in one file.
pub fn ustar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[148..156].copy_from_slice(b"        ");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}
