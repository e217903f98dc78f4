# Hostile guests in the kernel's shell (`--dir target/fixtures::/data`): each one is contained --
# a one-line error or its own output -- and the shell answers the next line.
# Recursion without an end: a stack-overflow trap.
wasm-run --fuel 50000000 /data/hostile/recurse_forever.wasm
# Recursion 10 000 deep is no attack: it runs, as under wasmtime.
wasm-run /data/deep_recursion.wasm depth 10000
# One table.grow of 20 million elements: stopped at the table limit before allocating.
wasm-run /data/hostile/table_bomb.wasm
# Instructions of a million table elements and 4 MiB of memory each: paid for by their size.
wasm-run --fuel 2000000 /data/hostile/big_instructions.wasm
stats
# Escapes through `..` and absolute paths: each EPERM (63).
wasm-run --dir /data /data/hostile/escape.wasm
# Control characters: an agent logs an escape sequence and a forged shell line, and spawns a
# path holding one; both are shown escaped.
agent-spawn /data/agents/noisy.wasm agent:spawn
agent-run
# poll_oneoff with an unknown and a CPU-time clock: EINVAL (28); a 1000 s wait is cut at the
# time limit.
wasm-run --time-limit-ms 200 /data/hostile/poll_clocks.wasm
# A busy loop, cut at its time limit.
wasm-run --time-limit-ms 200 /data/loop.wasm
echo the kernel is still here
exit 0
