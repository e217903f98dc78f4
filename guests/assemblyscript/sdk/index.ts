// The AssemblyScript SDK of kernel-wasm agents: messages, spawning and logging through the
// `agent` host module (docs/agents.md). Import it with `import * as agent from "../../sdk"`;
// the `llm` host module is in llm.ts (`import * as llm from "../../sdk/llm"`).
//
// An agent is a WASI command: its top-level statements run as `_start` (the wasi-shim config
// exports the start function under that name, so nothing runs before the agent is registered).
// Errors are values (AgentError codes, or a Result carrying one), never an abort.

import * as raw from "./raw";

/** The host's error codes (docs/agents.md, "Error codes"); Ok (0) is success. */
export enum AgentError {
  Ok = 0,
  NoSuchAgent = -1,     // the target does not exist or has ended
  MailboxFull = -2,     // the target's mailbox is full: retry later
  NoMessage = -3,       // tryReceive: the mailbox is empty
  Timeout = -4,         // receiveTimeout: nothing arrived in time
  BufferTooSmall = -5,  // the message is longer than the buffer (receiveInto; receive retries)
  NotCapable = -6,      // the function's capability is not granted
  BadPointer = -7,      // a range outside memory, misaligned, or not UTF-8
  SpawnLimit = -8,      // the spawn tree's agent limit is used up
  TooLarge = -9,        // message > 64 KiB, log > 4096 bytes, path/config > 4096
  SpawnFailed = -10,    // module unreadable, invalid, refused, or without entry point
  BadConfig = -11,      // the spawn configuration is no capability list
  NotAnAgent = -12,     // not running as an agent (e.g. under wasm-run)
}

/** The host's name of a code, e.g. "ERR_NOT_CAPABLE". */
export function errorName(code: i32): string {
  switch (code) {
    case AgentError.NoSuchAgent: return "ERR_NO_SUCH_AGENT";
    case AgentError.MailboxFull: return "ERR_MAILBOX_FULL";
    case AgentError.NoMessage: return "ERR_NO_MESSAGE";
    case AgentError.Timeout: return "ERR_TIMEOUT";
    case AgentError.BufferTooSmall: return "ERR_BUFFER_TOO_SMALL";
    case AgentError.NotCapable: return "ERR_NOT_CAPABLE";
    case AgentError.BadPointer: return "ERR_BAD_POINTER";
    case AgentError.SpawnLimit: return "ERR_SPAWN_LIMIT";
    case AgentError.TooLarge: return "ERR_TOO_LARGE";
    case AgentError.SpawnFailed: return "ERR_SPAWN_FAILED";
    case AgentError.BadConfig: return "ERR_BAD_CONFIG";
    case AgentError.NotAnAgent: return "ERR_NOT_AN_AGENT";
    default: return code >= 0 ? "OK" : "unknown error";
  }
}

/** "NAME (CODE)", e.g. "ERR_NO_SUCH_AGENT (-1)". */
export function describe(code: i32): string {
  return errorName(code) + " (" + code.toString() + ")";
}

/** The host's id: a message sent to it is printed by the shell as "[agent N] text". */
export const HOST: u32 = 0;
/** The largest message send accepts (64 KiB). */
export const MAX_MESSAGE_BYTES: i32 = 64 * 1024;

/** A value or the error that stopped it: check `ok` (or `error`) before using `value`. `error`
 *  is an AgentError code (an LlmError code for the functions of llm.ts); 0 is success. */
export class Result<T> {
  constructor(public value: T, public error: i32) {}
  get ok(): bool { return this.error == 0; }
}

/** A received message: its sender and a copy of its bytes. */
export class Message {
  constructor(public sender: u32, public body: Uint8Array) {}
  /** The body decoded as UTF-8. */
  text(): string {
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length);
  }
}

/** The caller's own id. */
export function selfId(): u32 {
  return <u32>raw.get_self_id();
}

/** Sends `body` (at most MAX_MESSAGE_BYTES) to agent `to`. Needs agent:send. */
export function send(to: u32, body: Uint8Array): AgentError {
  if (body.length > MAX_MESSAGE_BYTES) return AgentError.TooLarge;
  return <AgentError>raw.send_message(to, body.dataStart, <usize>body.length);
}

/** Sends `text` as UTF-8. */
export function sendString(to: u32, text: string): AgentError {
  return send(to, Uint8Array.wrap(String.UTF8.encode(text)));
}

/** Starts an agent from the module at VFS path `module` with capabilities `caps` ("" = the
 *  caller's own; never more than the caller's). Needs agent:spawn. A module importing a
 *  function whose capability the child would not have is refused: AgentError.SpawnFailed. */
export function spawn(module: string, caps: string = ""): Result<u32> {
  const m = String.UTF8.encode(module);
  const c = String.UTF8.encode(caps);
  const id = raw.spawn(changetype<usize>(m), <usize>m.byteLength, changetype<usize>(c), <usize>c.byteLength);
  return id < 0 ? new Result<u32>(0, <AgentError>id) : new Result<u32>(<u32>id, AgentError.Ok);
}

/** Log levels of log(). */
export enum Level { Error = 0, Warn = 1, Info = 2, Debug = 3, Trace = 4 }

/** Prints `text` (at most 4096 bytes) through the host as "[agent N LEVEL] text". */
export function log(level: Level, text: string): AgentError {
  const t = String.UTF8.encode(text);
  return <AgentError>raw.log(<u32>level, changetype<usize>(t), <usize>t.byteLength);
}

/** Ends the agent with `code` at once. */
export function exit(code: i32): void {
  raw.exit(code);
}

/** How long a receive waits: FOREVER, NO_WAIT (NoMessage at once on an empty mailbox), or a
 *  number of milliseconds >= 0 (Timeout after them; at once for 0). */
export const FOREVER: i64 = -1;
export const NO_WAIT: i64 = -2;

// The sender word of every receive: the sender's id, or the length needed.
const word = memory.data(4, 4);

function receiveRaw(buf: Uint8Array, waitMs: i64): i32 {
  const p = buf.dataStart, n = <usize>buf.length;
  if (waitMs == NO_WAIT) return raw.try_receive_message(p, n, word);
  if (waitMs < 0) return raw.receive_message(p, n, word);
  return raw.receive_message_timeout(p, n, word, waitMs > <i64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>waitMs);
}

/** Receives the next message into `buf` without retrying: the message's length (the sender in
 *  `lastSender()`), or an error; on AgentError.BufferTooSmall the message stays in the mailbox
 *  and `lastNeeded()` is its length. */
export function receiveInto(buf: Uint8Array, waitMs: i64 = FOREVER): i32 {
  return receiveRaw(buf, waitMs);
}
/** The sender of the message the last successful receiveInto received. */
export function lastSender(): u32 { return load<u32>(word); }
/** The length the last receiveInto answered with BufferTooSmall needed. */
export function lastNeeded(): u32 { return load<u32>(word); }

// The buffer receive() uses; it grows to the longest message seen.
let buffer = new Uint8Array(512);

function receiveGrowing(waitMs: i64): Result<Message | null> {
  let n = receiveRaw(buffer, waitMs);
  if (n == AgentError.BufferTooSmall) {
    // Longer than the buffer: the message stays first in the mailbox, so a buffer of the
    // length the host reported takes it at once.
    buffer = new Uint8Array(<i32>load<u32>(word));
    n = receiveRaw(buffer, NO_WAIT);
  }
  if (n < 0) return new Result<Message | null>(null, <AgentError>n);
  return new Result<Message | null>(new Message(load<u32>(word), buffer.slice(0, n)), AgentError.Ok);
}

/** Waits for the next message, of any length (a longer message than the buffer is received
 *  again into a larger one: nothing is cut or lost). Needs agent:receive. */
export function receive(): Result<Message | null> { return receiveGrowing(FOREVER); }
/** receive() without waiting: AgentError.NoMessage on an empty mailbox. */
export function tryReceive(): Result<Message | null> { return receiveGrowing(NO_WAIT); }
/** receive() waiting at most `ms` milliseconds: AgentError.Timeout after that. */
export function receiveTimeout(ms: u32): Result<Message | null> { return receiveGrowing(<i64>ms); }
