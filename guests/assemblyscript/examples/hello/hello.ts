// hello: a WASI command. Prints its arguments and the GREETING environment variable, then
// writes a file in its preopened directory /data and reads it back.
//
// Build: npx asc hello.ts -o hello.wasm   (after `npm ci` in guests/assemblyscript)
// Run:   kwasm run --manifest manifest.toml --dir /tmp::/data hello.wasm -- one two
//
// The wasi-shim gives AssemblyScript arguments, the environment and printing; files are the
// WASI calls themselves (bindings/wasi_snapshot_preview1, part of the shim).

import {
  errno, errnoToString, fd, fd_close, fd_prestat_dir_name, fd_prestat_get, fd_read, fd_write,
  iovec, oflags, path_open, prestat, rights,
} from "bindings/wasi_snapshot_preview1";

const DIR = "/data";
const NAME = "hello-assemblyscript.txt";
const CONTENTS = "written by assemblyscript\n";

const scratch = memory.data(16, 8);

/** The descriptor of the preopened directory mounted at `path`, or -1. */
function preopen(path: string): i32 {
  // Preopens are numbered from 3 up; the first descriptor that is none ends the list.
  let dir: fd = 3;
  while (fd_prestat_get(dir, changetype<prestat>(scratch)) == errno.SUCCESS) {
    const len = load<u32>(scratch, 4);
    const name = new ArrayBuffer(len);
    if (fd_prestat_dir_name(dir, changetype<usize>(name), len) == errno.SUCCESS
        && String.UTF8.decode(name) == path) {
      return <i32>dir;
    }
    dir++;
  }
  return -1;
}

/** Opens `name` in `dir` (creating and truncating it when `create`); the fd or an errno. */
function open(dir: fd, name: string, create: bool): Result {
  const path = String.UTF8.encode(name);
  const flags: oflags = create ? oflags.CREAT | oflags.TRUNC : 0;
  const rw: rights = rights.FD_READ | rights.FD_WRITE | rights.FD_SEEK;
  const err = path_open(dir, 0, changetype<usize>(path), path.byteLength, flags, rw, rw, 0, scratch);
  return new Result(load<u32>(scratch), err);
}

class Result {
  constructor(public value: u32, public err: errno) {}
}

function transfer(file: fd, data: ArrayBuffer, write: bool): Result {
  store<usize>(scratch, changetype<usize>(data), offsetof<iovec>("buf"));
  store<usize>(scratch, <usize>data.byteLength, offsetof<iovec>("buf_len"));
  const err = write ? fd_write(file, scratch, 1, scratch + 8) : fd_read(file, scratch, 1, scratch + 8);
  return new Result(load<u32>(scratch, 8), err);
}

function fail(what: string, err: errno): void {
  process.stderr.write("hello: cannot " + what + " " + DIR + "/" + NAME + ": " + errnoToString(err) + "\n");
  process.exit(1);
}

console.log("hello from assemblyscript");
const argv = process.argv;
for (let i = 1; i < argv.length; i++) console.log("arg " + i.toString() + ": " + argv[i]);
const env = process.env;
if (env.has("GREETING")) console.log("GREETING=" + env.get("GREETING"));
else console.log("GREETING is not set");

// Without file:create (or without a preopen at /data) this is an error value, not a trap.
const dir = preopen(DIR);
if (dir < 0) fail("write", errno.NOENT);
let opened = open(dir, NAME, true);
if (opened.err != errno.SUCCESS) fail("write", opened.err);
const data = String.UTF8.encode(CONTENTS);
const written = transfer(opened.value, data, true);
if (written.err != errno.SUCCESS) fail("write", written.err);
fd_close(opened.value);
console.log("wrote " + DIR + "/" + NAME + " (" + written.value.toString() + " bytes)");
opened = open(dir, NAME, false);
if (opened.err != errno.SUCCESS) fail("read", opened.err);
const back = new ArrayBuffer(64);
const got = transfer(opened.value, back, false);
if (got.err != errno.SUCCESS) fail("read", got.err);
fd_close(opened.value);
process.stdout.write("read back: " + String.UTF8.decode(back.slice(0, got.value)));
