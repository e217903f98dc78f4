package kernelwasm

import "strconv"

// Error is an error code of the agent host module (docs/agents.md, "Error codes"). Every
// function of this package returns it as an ordinary error value: a missing capability, a full
// mailbox or a bad pointer is never a panic. Compare with errors.Is or ==.
type Error int32

// The host's error codes.
const (
	ErrNoSuchAgent    Error = -1  // the target does not exist or has ended
	ErrMailboxFull    Error = -2  // the target's mailbox is full: retry later
	ErrNoMessage      Error = -3  // TryReceive: the mailbox is empty
	ErrTimeout        Error = -4  // ReceiveTimeout: nothing arrived in time
	ErrBufferTooSmall Error = -5  // the message is longer than the buffer (see BufferTooSmall)
	ErrNotCapable     Error = -6  // the function's capability is not granted
	ErrBadPointer     Error = -7  // a range outside memory, misaligned, or not UTF-8
	ErrSpawnLimit     Error = -8  // the spawn tree's agent limit is used up
	ErrTooLarge       Error = -9  // message > 64 KiB, log > 4096 bytes, path/config > 4096
	ErrSpawnFailed    Error = -10 // module unreadable, invalid, refused, or without entry point
	ErrBadConfig      Error = -11 // the spawn configuration is no capability list
	ErrNotAnAgent     Error = -12 // not running as an agent (e.g. under wasm-run)
)

var errorNames = [...]string{
	"ERR_NO_SUCH_AGENT", "ERR_MAILBOX_FULL", "ERR_NO_MESSAGE", "ERR_TIMEOUT",
	"ERR_BUFFER_TOO_SMALL", "ERR_NOT_CAPABLE", "ERR_BAD_POINTER", "ERR_SPAWN_LIMIT",
	"ERR_TOO_LARGE", "ERR_SPAWN_FAILED", "ERR_BAD_CONFIG", "ERR_NOT_AN_AGENT",
}

// Name is the host's name of the code, e.g. "ERR_NOT_CAPABLE".
func (e Error) Name() string {
	if i := -int(e) - 1; i >= 0 && i < len(errorNames) {
		return errorNames[i]
	}
	return "unknown error"
}

// Error is "NAME (CODE)", e.g. "ERR_NO_SUCH_AGENT (-1)".
func (e Error) Error() string {
	return e.Name() + " (" + strconv.Itoa(int(e)) + ")"
}

// BufferTooSmall is ReceiveInto's answer to a message longer than its buffer: the message stays
// in the mailbox and Needed is its length. errors.Is(err, ErrBufferTooSmall) is true.
type BufferTooSmall struct {
	Needed uint32
}

func (e *BufferTooSmall) Error() string {
	return ErrBufferTooSmall.Error() + ": the message needs " + strconv.Itoa(int(e.Needed)) + " bytes"
}

// Is makes errors.Is(err, ErrBufferTooSmall) true.
func (e *BufferTooSmall) Is(target error) bool { return target == ErrBufferTooSmall }

// check turns a host result into (value, nil) or (0, Error).
func check(code int32) (uint32, error) {
	if code < 0 {
		return 0, Error(code)
	}
	return uint32(code), nil
}
