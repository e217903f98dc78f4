// The raw imports: the host functions of docs/agents.md exactly as the ABI defines them.
// Everything else in this SDK (index.ts) is built on these.
//
// Memory ownership: every pointer is an offset into this module's linear memory. The host reads
// or writes the given range only during the call and keeps no reference to it; the caller owns
// every buffer before and after. The host never allocates in guest memory, and AssemblyScript's
// collector cannot run during an import call, so a buffer passed stays where it is.

/** Starts an agent from the VFS path module[..moduleLen] with capabilities config[..configLen]
 *  ("" = the caller's own). The child's id, or an error code. Needs agent:spawn. Reads both. */
@external("agent", "spawn")
export declare function spawn(module: usize, moduleLen: usize, config: usize, configLen: usize): i32;

/** Copies msg[..msgLen] (at most 64 KiB) into target's mailbox (0: the host). 0 or an error
 *  code. Needs agent:send. Reads the range. */
@external("agent", "send_message")
export declare function send_message(target: u32, msg: usize, msgLen: usize): i32;

/** Blocks until a message arrives, moves it into buf[..bufLen], writes the sender's id to the
 *  u32 at sender (4-byte aligned). Its length, or an error code; on ERR_BUFFER_TOO_SMALL nothing
 *  is consumed and the u32 at sender holds the length needed. Needs agent:receive. */
@external("agent", "receive_message")
export declare function receive_message(buf: usize, bufLen: usize, sender: usize): i32;

/** receive_message without blocking: ERR_NO_MESSAGE at once on an empty mailbox. */
@external("agent", "try_receive_message")
export declare function try_receive_message(buf: usize, bufLen: usize, sender: usize): i32;

/** receive_message waiting at most timeoutMs milliseconds: ERR_TIMEOUT after that. */
@external("agent", "receive_message_timeout")
export declare function receive_message_timeout(buf: usize, bufLen: usize, sender: usize, timeoutMs: u32): i32;

/** The caller's agent id. No capability. */
@external("agent", "get_self_id")
export declare function get_self_id(): i32;

/** Prints text[..len] (at most 4096 bytes) as "[agent N LEVEL] text". Reads the range. */
@external("agent", "log")
export declare function log(level: u32, text: usize, len: usize): i32;

/** Ends the agent with code; does not return. */
@external("agent", "exit")
export declare function exit(code: i32): void;

// The llm host module (docs/llm.md). Results >= 0 are success; negative ones are LlmError codes
// (the llm module's own numbering). The ownership rules above hold.

/** Runs the model on the UTF-8 prompt[..promptLen], writes the completion to out[..outMax].
 *  Its length; a length > outMax means nothing was written and that many bytes are needed (the
 *  host keeps the completion: the next infer with the same prompt returns it without generating
 *  it again). out[..outMax] must lie in memory. Needs llm:infer. Blocks. */
@external("llm", "infer")
export declare function llm_infer(prompt: usize, promptLen: usize, out: usize, outMax: usize): i32;

/** Writes the model's description ("key=value\n" lines) to out[..outMax]; infer's buffer rules.
 *  Needs llm:infer. */
@external("llm", "info")
export declare function llm_info(out: usize, outMax: usize): i32;

/** Loads the LoRA adapter in the directory path[..pathLen] (seen through the caller's preopens,
 *  which need file:read). Its id (>= 1). Needs llm:adapter. Reads the range. */
@external("llm", "load_lora")
export declare function llm_load_lora(path: usize, pathLen: usize): i32;

/** Removes adapter id. 0. Needs llm:adapter. */
@external("llm", "unload_lora")
export declare function llm_unload_lora(id: u32): i32;
