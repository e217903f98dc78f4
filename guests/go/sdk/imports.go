//go:build wasip1

package kernelwasm

// The raw imports: the host functions of docs/agents.md exactly as the ABI defines them, in the
// forms both Go's wasip1 port and TinyGo accept for //go:wasmimport (32-bit integers and
// unsafe.Pointer). Everything else in this package is built on these.
//
// Memory ownership: every pointer is an offset into this module's linear memory. The host reads
// or writes the given range only during the call and keeps no reference to it; the caller owns
// every buffer before and after (Go's collector does not move objects, and the slice passed stays
// referenced for the whole call). The host never allocates in guest memory.

import "unsafe"

// Starts an agent from the VFS path module[:moduleLen] with capabilities config[:configLen]
// ("" = the caller's own). Returns the child's id or an error code. Needs agent:spawn. Reads both.
//
//go:wasmimport agent spawn
func rawSpawn(module unsafe.Pointer, moduleLen uint32, config unsafe.Pointer, configLen uint32) int32

// Copies msg[:msgLen] (at most 64 KiB) into target's mailbox (0: the host). Returns 0 or an error
// code. Needs agent:send. Reads the range.
//
//go:wasmimport agent send_message
func rawSendMessage(target uint32, msg unsafe.Pointer, msgLen uint32) int32

// Blocks until a message arrives, moves it into buf[:bufLen] and writes the sender's id to the
// uint32 at sender. Returns its length or an error code; on ERR_BUFFER_TOO_SMALL nothing is
// consumed and *sender holds the length needed. Needs agent:receive. Writes buf and *sender.
//
//go:wasmimport agent receive_message
func rawReceiveMessage(buf unsafe.Pointer, bufLen uint32, sender unsafe.Pointer) int32

// rawReceiveMessage without blocking: ERR_NO_MESSAGE at once on an empty mailbox.
//
//go:wasmimport agent try_receive_message
func rawTryReceiveMessage(buf unsafe.Pointer, bufLen uint32, sender unsafe.Pointer) int32

// rawReceiveMessage waiting at most timeoutMs milliseconds: ERR_TIMEOUT after that.
//
//go:wasmimport agent receive_message_timeout
func rawReceiveMessageTimeout(buf unsafe.Pointer, bufLen uint32, sender unsafe.Pointer, timeoutMs uint32) int32

// The caller's agent id. No capability.
//
//go:wasmimport agent get_self_id
func rawGetSelfID() int32

// Prints text[:textLen] (at most 4096 bytes) as "[agent N LEVEL] text". Reads the range.
//
//go:wasmimport agent log
func rawLog(level uint32, text unsafe.Pointer, textLen uint32) int32

// Ends the agent with code; does not return.
//
//go:wasmimport agent exit
func rawExit(code int32)

// The llm host module (docs/llm.md). Results >= 0 are success; negative ones are LlmError codes
// (the llm module's own numbering). The ownership rules above hold.

// Runs the model on the UTF-8 prompt[:promptLen] and writes its completion to out[:outMax].
// Returns its length; a length > outMax means nothing was written and that many bytes are needed
// (the host keeps the completion: the next infer with the same prompt returns it without
// generating it again). out[:outMax] must lie in memory. Needs llm:infer. Blocks.
//
//go:wasmimport llm infer
func rawLlmInfer(prompt unsafe.Pointer, promptLen uint32, out unsafe.Pointer, outMax uint32) int32

// Writes the model's description ("key=value\n" lines) to out[:outMax]; infer's buffer rules.
// Needs llm:infer.
//
//go:wasmimport llm info
func rawLlmInfo(out unsafe.Pointer, outMax uint32) int32

// Loads the LoRA adapter in the directory path[:pathLen] (seen through the caller's preopens,
// which need file:read). Returns its id (>= 1). Needs llm:adapter. Reads the range.
//
//go:wasmimport llm load_lora
func rawLlmLoadLora(path unsafe.Pointer, pathLen uint32) int32

// Removes adapter id. Returns 0. Needs llm:adapter.
//
//go:wasmimport llm unload_lora
func rawLlmUnloadLora(id uint32) int32
