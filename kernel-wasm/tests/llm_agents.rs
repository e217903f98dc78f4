//! Inference under the agent scheduler: an `llm.infer` parks its agent and the scheduler runs it
//! one token step per turn, so other agents keep running; several inferences queue for the model
//! and each gets exactly its own text; Ctrl-C and a run's time limit stop the run between two
//! tokens and the next run finishes the inference unharmed.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{env, llm_direct, llm_service, Env};
use kernel_wasm::agents::{AgentState, RunLimits, StopReason, SystemConfig};
use kernel_wasm::llm::{LlmLimits, LlmService};
use kernel_wasm::{CapSet, Console, Stream};

const TELLER_CAPS: &str = "agent:send,agent:receive,llm:infer";

fn llm_env(service: &Arc<LlmService>) -> Env {
    let mut env = env(SystemConfig::default());
    env.runtime.set_llm(Some(service.clone()));
    env
}

fn teller(env: &mut Env) -> u32 {
    env.spawn_with("storyteller", CapSet::parse(TELLER_CAPS).unwrap())
}

#[test]
fn an_echo_agent_keeps_answering_while_another_agent_runs_a_long_inference() {
    let service = llm_service(LlmLimits {
        max_tokens: 120,
        ..LlmLimits::default()
    });
    let mut env = llm_env(&service);
    let pong = env.spawn("pong");
    let teller = teller(&mut env);
    env.system.send(teller, b"Once upon a time").unwrap();
    // Let both reach their first wait: pong blocks in receive, the teller parks in infer.
    env.run(4);
    assert_eq!(env.state(pong), AgentState::Blocked);
    assert_eq!(env.state(teller), AgentState::Inferring);
    for round in 0..10 {
        env.system
            .send(pong, format!("ping {round}").as_bytes())
            .unwrap();
        env.run(3);
        // The answer is there after a few turns, while the inference is still going on.
        let last = env.host_texts().last().cloned();
        assert_eq!(last, Some(format!("[agent {pong}] pong {round}")));
        assert_eq!(env.state(teller), AgentState::Inferring, "round {round}");
    }
    let report = env.run(100_000);
    assert_eq!(report.stop, StopReason::Idle);
    let story = env
        .host_messages()
        .last()
        .map(|m| (m.from, m.body.to_vec()));
    let expected = llm_direct(&service, "Once upon a time");
    assert_eq!(story, Some((teller, expected.into_bytes())));
    // The inference took a turn per token: far more turns than the 30 the pings took.
    assert_eq!(env.state(teller), AgentState::Blocked);
    assert_eq!(service.sessions(), (0, 0));
}

#[test]
fn inferences_of_several_agents_queue_for_the_model_and_each_gets_its_own_text() {
    let service = llm_service(LlmLimits {
        max_tokens: 40,
        max_sessions: 1,
        ..LlmLimits::default()
    });
    let prompts = ["Once upon a time", "Lily went to", "The little dog"];
    let mut env = llm_env(&service);
    let ids: Vec<u32> = prompts.iter().map(|_| teller(&mut env)).collect();
    for (id, prompt) in ids.iter().zip(prompts) {
        env.system.send(*id, prompt.as_bytes()).unwrap();
    }
    env.run(10);
    // One computes, the others wait for the model.
    assert_eq!(service.sessions(), (1, 2));
    let report = env.run(100_000);
    assert_eq!(report.stop, StopReason::Idle);
    for (id, prompt) in ids.iter().zip(prompts) {
        let got: Vec<String> = env
            .host_messages()
            .iter()
            .filter(|m| m.from == *id)
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        assert_eq!(got, vec![llm_direct(&service, prompt)], "agent {id}");
    }
    // First come, first served: the answers arrive in the order the questions were asked.
    let order: Vec<u32> = env.host_messages().iter().map(|m| m.from).collect();
    assert_eq!(order, ids);
}

#[test]
fn inferences_compute_side_by_side_up_to_the_session_limit() {
    let service = llm_service(LlmLimits {
        max_tokens: 30,
        max_sessions: 2,
        ..LlmLimits::default()
    });
    let prompts = ["Once upon a time", "Lily went to", "The little dog"];
    let mut env = llm_env(&service);
    let ids: Vec<u32> = prompts.iter().map(|_| teller(&mut env)).collect();
    for (id, prompt) in ids.iter().zip(prompts) {
        env.system.send(*id, prompt.as_bytes()).unwrap();
    }
    env.run(10);
    // Two compute (each with its own KV cache), interleaved token by token; one waits.
    assert_eq!(service.sessions(), (2, 1));
    env.run(100_000);
    for (id, prompt) in ids.iter().zip(prompts) {
        let got: Vec<Vec<u8>> = env
            .host_messages()
            .iter()
            .filter(|m| m.from == *id)
            .map(|m| m.body.to_vec())
            .collect();
        assert_eq!(
            got,
            vec![llm_direct(&service, prompt).into_bytes()],
            "agent {id}"
        );
    }
    assert_eq!(service.sessions(), (0, 0));
}

#[test]
fn killing_an_agent_mid_inference_frees_the_model() {
    let service = llm_service(LlmLimits {
        max_sessions: 1,
        ..LlmLimits::default()
    });
    let mut env = llm_env(&service);
    let first = teller(&mut env);
    let second = teller(&mut env);
    env.system.send(first, b"Once upon a time").unwrap();
    env.system.send(second, b"Lily went").unwrap();
    env.run(10);
    assert_eq!(service.sessions(), (1, 1));
    env.system.kill(first).unwrap();
    assert_eq!(service.sessions(), (0, 1));
    env.run(100_000);
    let texts = env.host_messages();
    assert_eq!(texts.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&texts[0].body),
        llm_direct(&service, "Lily went")
    );
}

#[test]
fn without_a_model_an_agent_gets_no_model() {
    let mut env = env(SystemConfig::default());
    let id = teller(&mut env);
    env.system.send(id, b"Once upon a time").unwrap();
    env.run(100);
    assert_eq!(
        env.state(id),
        AgentState::Exited(kernel_wasm::llm::abi::ERR_NO_MODEL)
    );
}

/// A console whose user presses Ctrl-C at the `after`-th time the host looks.
struct CtrlCAfter {
    looks: AtomicU64,
    after: u64,
    out: Mutex<Vec<u8>>,
}

impl Console for CtrlCAfter {
    fn write(&self, _stream: Stream, bytes: &[u8]) {
        self.out.lock().unwrap().extend_from_slice(bytes);
    }
    fn read(&self, _buf: &mut [u8]) -> usize {
        0
    }
    fn take_interrupt(&self) -> bool {
        self.looks.fetch_add(1, Ordering::SeqCst) + 1 == self.after
    }
}

#[test]
fn ctrl_c_and_a_time_limit_stop_a_run_between_tokens_and_the_next_run_finishes_the_text() {
    let service = llm_service(LlmLimits {
        max_tokens: 80,
        ..LlmLimits::default()
    });
    let mut env = llm_env(&service);
    let console = Arc::new(CtrlCAfter {
        looks: AtomicU64::new(0),
        after: 25,
        out: Mutex::new(Vec::new()),
    });
    // The agents' system looks for Ctrl-C on its platform's console.
    let mut platform = env.platform.clone();
    platform.console = console.clone();
    env.system = kernel_wasm::agents::System::new(platform, SystemConfig::default());
    let id = teller(&mut env);
    env.system.send(id, b"Once upon a time").unwrap();
    let report = env.run(100_000);
    assert_eq!(report.stop, StopReason::Interrupted);
    assert_eq!(env.state(id), AgentState::Inferring);
    assert!(env.host_messages().is_empty());

    // A run whose deadline has passed stops before the next token.
    let events = &mut env.events;
    let limits = RunLimits {
        max_slices: 100_000,
        deadline_ns: Some(0),
    };
    let report = env
        .system
        .run_with(&env.runtime, limits, &mut |e| events.push(e));
    assert_eq!(report.stop, StopReason::TimeLimit);
    assert_eq!(env.state(id), AgentState::Inferring);

    // Paused twice between tokens; the text is the same as in one go.
    let report = env.run(100_000);
    assert_eq!(report.stop, StopReason::Idle);
    let got = env.host_messages().last().map(|m| m.body.to_vec());
    assert_eq!(
        got,
        Some(llm_direct(&service, "Once upon a time").into_bytes())
    );
}
