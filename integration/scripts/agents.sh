# Agent ping-pong (`--dir target/fixtures/agents::/agents`): ping spawns pong, they play five
# rounds, ping forwards each reply to the shell (agent 0) and both exit.
agent-list
agent-spawn --fuel 200000 /agents/ping.wasm
agent-list
agent-run 100
agent-list
agent-send 9 hello
exit 0
