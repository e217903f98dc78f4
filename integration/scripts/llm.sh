# The LLM in the kernel (issue 22, scenario 4). The default model is the project's, from the
# signed model package tinystories installed at boot (no /llm mount). It is asked from the shell,
# by guests run by package name (llm-ask in Rust and C), changed by the package's LoRA adapter
# and restored; a guest without llm:infer is refused; an agent (target/fixtures/agents under
# /agents) infers among the others.
llm-info
llm-infer --max-tokens 20 Once upon a time
wasm-run llm-ask-rust -- Once upon a time
wasm-run --caps env,clock,random llm-ask-go -- Once upon a time
llm-load-lora /pkg/tinystories/1/assets/rainy
llm-info
wasm-run llm-ask-c -- Once upon a time
llm-unload-lora 1
llm-infer --max-tokens 20 Once upon a time
agent-spawn /agents/storyteller.wasm agent:send,agent:receive,llm:infer
agent-send 1 Tom and Mia went to the beach
agent-run
exit 0
