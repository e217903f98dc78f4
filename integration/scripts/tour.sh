# The tour of `cargo xtask demo` (fixtures under /bin, agents under /agents). No `exit`: the
# demo leaves the user at the prompt afterwards.
echo Welcome to the SIS kernel: WebAssembly modules run by the kernel-wasm shell.
ls /bin
wasm-run /bin/hello.wasm
wasm-run /bin/arith.wasm divmod 7 2
wasm-run /bin/trap.wasm
wasm-run --fuel 100000 /bin/loop.wasm
stats
agent-spawn /agents/ping.wasm
agent-run
agent-list
