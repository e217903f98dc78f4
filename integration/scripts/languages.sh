# Agents across languages, by package name: the echo and ping templates of the guest SDKs in Rust,
# C, Go and AssemblyScript (installed at boot). Agents 1-4 are the echoes; each ping is told the
# ids of all four and prints every reply: the 4 x 4 matrix, each language on both sides. (No
# agent-list: the fuel Go's runtime uses depends on the clock and differs from run to run.)
agent-spawn echo-rust
agent-spawn echo-c
agent-spawn echo-go
agent-spawn echo-assemblyscript
agent-spawn ping-rust
agent-send 5 1 2 3 4
agent-spawn ping-c
agent-send 6 1 2 3 4
agent-spawn ping-go
agent-send 7 1 2 3 4
agent-spawn ping-assemblyscript
agent-send 8 1 2 3 4
agent-run
exit 0
