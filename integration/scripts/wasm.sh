# The acceptance session of issue 13, booted with `--dir target/fixtures::/data`: a WASI hello,
# a trap, an infinite loop stopped by fuel, an unknown command, then echo and exit 3. Every
# failure is one `error:` line and the shell keeps going.
wasm-run /data/hello.wasm
wasm-run /data/trap.wasm
wasm-run --fuel 100000 /data/loop.wasm
stats
frobnicate --now
echo the shell is still here
exit 3
