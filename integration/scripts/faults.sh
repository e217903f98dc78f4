# Faults, each contained (`--dir target/fixtures/agents::/agents`): a healthy agent (the `pong`
# package) lives through all of them. After each faulty agent ends, the shell answers the next
# line. (A trapping and a runaway `wasm-run` are in wasm.sh; these are agents, scheduled together.)
agent-spawn pong
agent-send 1 ping 1
agent-run
# A guest that traps: an out-of-bounds load.
agent-spawn /agents/crash.wasm
agent-run
# A runaway guest: an endless loop, stopped when its fuel is used up.
agent-spawn --fuel 100000 /agents/busy.wasm
agent-run
# A memory bomb: grows its memory to 100 MiB past the explicit 16 MiB limit.
agent-spawn --max-memory 16777216 /agents/mem_hog.wasm
agent-run
# A message flood: sends to itself until its mailbox is full (its depth is its exit status).
agent-spawn /agents/flood.wasm
agent-run
# A spawn bomb: copies of itself until its tree's spawn limit (64) is used up.
agent-spawn /agents/bomb.wasm
agent-run
agent-send 1 ping 2
agent-run
echo the kernel is still here
exit 0
