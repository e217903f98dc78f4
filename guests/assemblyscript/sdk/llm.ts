// The `llm` host module of kernel-wasm (docs/llm.md): inference on the model the host has loaded,
// and LoRA adapters. Import it with `import * as llm from "../../sdk/llm"`. A module using it
// needs llm:infer (llm:adapter for the adapters). Errors are values (LlmError in a Result).

import * as raw from "./raw";
import { Result } from "./index";

/** The llm module's error codes (its own numbering: -1 is NotCapable there); Ok (0) is success. */
export enum LlmError {
  Ok = 0,
  NotCapable = -1,      // no llm:infer / llm:adapter
  BadPointer = -2,      // a range outside memory, or not UTF-8
  NoModel = -3,         // the host has no model loaded
  TooLarge = -4,        // prompt too long (bytes or tokens), path > 4096 bytes
  Busy = -5,            // outside the scheduler, another inference holds the model
  Failed = -6,          // the engine failed
  NotFound = -7,        // loadLora: no readable directory there
  BadAdapter = -8,      // loadLora: missing, malformed or mismatched adapter
  AdapterLimit = -9,    // loadLora: no room for another adapter
  NoSuchAdapter = -10,  // unloadLora: no adapter has this id
}

/** The llm module's name of a code, e.g. "ERR_NO_MODEL". */
export function errorName(code: i32): string {
  switch (code) {
    case LlmError.NotCapable: return "ERR_NOT_CAPABLE";
    case LlmError.BadPointer: return "ERR_BAD_POINTER";
    case LlmError.NoModel: return "ERR_NO_MODEL";
    case LlmError.TooLarge: return "ERR_TOO_LARGE";
    case LlmError.Busy: return "ERR_BUSY";
    case LlmError.Failed: return "ERR_FAILED";
    case LlmError.NotFound: return "ERR_NOT_FOUND";
    case LlmError.BadAdapter: return "ERR_BAD_ADAPTER";
    case LlmError.AdapterLimit: return "ERR_ADAPTER_LIMIT";
    case LlmError.NoSuchAdapter: return "ERR_NO_SUCH_ADAPTER";
    default: return code >= 0 ? "OK" : "unknown error";
  }
}

/** "NAME (CODE)", e.g. "ERR_NO_MODEL (-3)". */
export function describe(code: i32): string {
  return errorName(code) + " (" + code.toString() + ")";
}

/** Runs the model on `prompt` and writes the completion into `out` without growing it: the
 *  completion's length (<= out.length), a negative LlmError, or a length > out.length: nothing
 *  was written and that many bytes are needed (call again with the same prompt; the host kept
 *  the completion). */
export function inferInto(prompt: string, out: Uint8Array): i32 {
  const p = String.UTF8.encode(prompt);
  return raw.llm_infer(changetype<usize>(p), <usize>p.byteLength, out.dataStart, <usize>out.length);
}

/** The model's description into `out`; inferInto's buffer rules. */
export function infoInto(out: Uint8Array): i32 {
  return raw.llm_info(out.dataStart, <usize>out.length);
}

function text(buf: Uint8Array, n: i32): string {
  return String.UTF8.decodeUnsafe(buf.dataStart, <usize>n);
}

/** Runs the model on `prompt` and returns its completion (the text after the prompt), of any
 *  length: a completion longer than the first buffer is fetched again at its size, which the host
 *  serves from the completion it kept. Blocks while the model generates. */
export function infer(prompt: string): Result<string> {
  // A small first buffer on purpose: a longer completion costs one more call, not a second
  // generation (the host keeps it for the retry).
  let buf = new Uint8Array(256);
  let n = inferInto(prompt, buf);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = inferInto(prompt, buf);
  }
  if (n < 0) return new Result<string>("", <i32>n);
  if (n > buf.length) return new Result<string>("", LlmError.Failed);
  return new Result<string>(text(buf, n), 0);
}

/** The model's description: "key=value" lines (model, dim, ..., max_tokens, adapters). */
export function info(): Result<string> {
  let buf = new Uint8Array(512);
  let n = infoInto(buf);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = infoInto(buf);
  }
  if (n < 0) return new Result<string>("", <i32>n);
  if (n > buf.length) return new Result<string>("", LlmError.Failed);
  return new Result<string>(text(buf, n), 0);
}

/** Loads the LoRA adapter in directory `path` (seen through the caller's preopens): its id. */
export function loadLora(path: string): Result<u32> {
  const p = String.UTF8.encode(path);
  const id = raw.llm_load_lora(changetype<usize>(p), <usize>p.byteLength);
  return id < 0 ? new Result<u32>(0, id) : new Result<u32>(<u32>id, 0);
}

/** Removes an adapter: inferences go back to the base model from the next token on. */
export function unloadLora(id: u32): LlmError {
  return <LlmError>raw.llm_unload_lora(id);
}
