# Signed packages (`--dir target/e2e/packages::/wap`). The kernel installed the packages of its
# initrd at boot (the `[boot] pkg:` lines); the shell lists them, uninstalls one, refuses a
# tampered copy (/wap/tampered.wap: hello.wap with one byte of its module flipped, written by the
# test) with the reason, installs the good one from /boot/packages, and runs it by name.
pkg-list
pkg-info hello
pkg-uninstall hello
pkg-list
pkg-install /wap/tampered.wap
pkg-list
pkg-install /boot/packages/hello.wap
pkg-list
wasm-run hello
exit 0
