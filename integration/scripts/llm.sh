# The model in the kernel: the default model found at boot in /llm (`--dir <model dir>::/llm`,
# see kernel_wasm::llm::boot), used from the shell, from a guest (`wasm-run --caps llm:infer`,
# target/fixtures/llm under /bin) and from an agent (target/fixtures/agents under /agents).
llm-info
llm-infer --max-tokens 30 Once upon a time
wasm-run /bin/complete.wasm -- Lily went
wasm-run --caps llm:infer /bin/complete.wasm -- Lily went
agent-spawn /agents/storyteller.wasm agent:send,agent:receive,llm:infer
agent-send 1 One day, a girl
agent-run
agent-list
exit 0
