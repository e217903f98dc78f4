# The tour of `cargo xtask demo`, booted with the fixtures under /bin, the agent fixtures under
# /agents and integration/data/files under /data, as xtask/src/demo.rs mounts them; the model is
# the project's, its package tinystories installed at boot. No `exit`: the demo leaves the user
# at the prompt afterwards.
echo == Signed packages, installed at boot after checking their signatures ==
pkg-list
echo == Agents in four languages: each ping asks the echo of another language ==
agent-spawn echo-rust
agent-spawn echo-c
agent-spawn echo-go
agent-spawn echo-assemblyscript
agent-spawn ping-rust
agent-send 5 2
agent-spawn ping-c
agent-send 6 3
agent-spawn ping-go
agent-send 7 4
agent-spawn ping-assemblyscript
agent-send 8 1
agent-run
echo == A WASI program writes a file ==
wasm-run --dir /data hello-rust -- from the tour
cat /data/hello-rust.txt
echo == An LLM completion, asked for by a Rust guest ==
wasm-run llm-ask-rust -- One day, a girl named Amy
echo == A fault, contained: a memory bomb stops at its limit, the others live on ==
agent-spawn --max-memory 16777216 /agents/mem_hog.wasm
agent-run
agent-send 1 still there?
agent-run
