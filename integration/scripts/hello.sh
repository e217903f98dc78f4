# WASI I/O in each language (`--dir integration/data/files::/data`): the hello template of the
# guest SDKs, by package name, in the kernel's directory /data preopened by `wasm-run --dir`. Each
# prints its arguments and GREETING (set by its manifest), writes /data/hello-LANG.txt and reads
# it back; then the shell lists /data and prints the files.
wasm-run --dir /data hello-rust -- one two
wasm-run --dir /data hello-c -- one two
wasm-run --dir /data hello-go -- one two
wasm-run --dir /data hello-assemblyscript -- one two
ls /data
cat /data/hello-rust.txt
cat /data/hello-c.txt
cat /data/hello-go.txt
cat /data/hello-assemblyscript.txt
exit 0
