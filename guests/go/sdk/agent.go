//go:build wasip1

// Package kernelwasm is the Go SDK of kernel-wasm agents: messages, spawning and logging through
// the `agent` host module (docs/agents.md), and inference through the `llm` host module (Infer,
// Info, LoadLora, UnloadLora; docs/llm.md). It uses only the standard library and
// //go:wasmimport, so it builds with Go's wasip1 port and with TinyGo.
//
// An agent is an ordinary WASI command (func main). Go's runtime reads the environment and the
// clock before main, and its maps use random seeds: a Go agent needs the env, clock and random
// capabilities besides the agent ones it uses.
package kernelwasm

import "unsafe"

// AgentID is an agent's id; the host (the shell) is Host.
type AgentID uint32

// Host is the host's id: a message sent to it is printed by the shell as "[agent N] text".
const Host AgentID = 0

// MaxMessageBytes is the largest message Send accepts (64 KiB).
const MaxMessageBytes = 64 * 1024

// Message is a received message.
type Message struct {
	Sender AgentID
	Body   []byte
}

// SelfID is the caller's own id.
func SelfID() AgentID { return AgentID(rawGetSelfID()) }

// bytesPtr is the address of b's first byte (nil for an empty slice: the host reads nothing).
func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// Send copies body (at most MaxMessageBytes) into the mailbox of agent to. Needs agent:send.
// ErrMailboxFull means: retry later.
func Send(to AgentID, body []byte) error {
	if len(body) > MaxMessageBytes {
		return ErrTooLarge
	}
	_, err := check(rawSendMessage(uint32(to), bytesPtr(body), uint32(len(body))))
	return err
}

// SendString sends the bytes of text.
func SendString(to AgentID, text string) error { return Send(to, []byte(text)) }

// Spawn starts an agent from the module at VFS path module (e.g. "/agents/echo.wasm") with the
// capabilities caps (e.g. "agent:send,agent:receive"; "": the caller's own; never more than the
// caller's). Needs agent:spawn. A module importing a function whose capability the child would
// not have is refused with ErrSpawnFailed.
func Spawn(module, caps string) (AgentID, error) {
	m, c := []byte(module), []byte(caps)
	id, err := check(rawSpawn(bytesPtr(m), uint32(len(m)), bytesPtr(c), uint32(len(c))))
	return AgentID(id), err
}

// Level is a log level of Log.
type Level uint32

// Log levels.
const (
	LevelError Level = 0
	LevelWarn  Level = 1
	LevelInfo  Level = 2
	LevelDebug Level = 3
	LevelTrace Level = 4
)

// Log prints text (at most 4096 bytes) through the host as "[agent N LEVEL] text".
func Log(level Level, text string) error {
	b := []byte(text)
	_, err := check(rawLog(uint32(level), bytesPtr(b), uint32(len(b))))
	return err
}

// Exit ends the agent with code at once.
func Exit(code int32) { rawExit(code) }

// How a receive waits on an empty mailbox: Forever, NoWait (ErrNoMessage at once), or a
// number of milliseconds >= 0 (ErrTimeout after them; at once for 0).
const (
	Forever int64 = -1
	NoWait  int64 = -2
)

// receiveRaw calls the receive import that waits as waitMs says.
func receiveRaw(buf []byte, waitMs int64, word *uint32) int32 {
	p, n, w := bytesPtr(buf), uint32(len(buf)), unsafe.Pointer(word)
	switch {
	case waitMs == NoWait:
		return rawTryReceiveMessage(p, n, w)
	case waitMs < 0:
		return rawReceiveMessage(p, n, w)
	case waitMs > 0xffffffff:
		return rawReceiveMessageTimeout(p, n, w, 0xffffffff)
	default:
		return rawReceiveMessageTimeout(p, n, w, uint32(waitMs))
	}
}

// ReceiveInto receives the next message into buf, waiting Forever, not at all (NoWait:
// ErrNoMessage on an empty mailbox) or waitMs milliseconds (ErrTimeout). The Message's Body
// is buf[:n]. A message longer than buf stays in the mailbox: the error is a *BufferTooSmall
// with its length. Needs agent:receive.
func ReceiveInto(buf []byte, waitMs int64) (Message, error) {
	var word uint32 // the sender, or the length needed
	n := receiveRaw(buf, waitMs, &word)
	if Error(n) == ErrBufferTooSmall {
		return Message{}, &BufferTooSmall{Needed: word}
	}
	if _, err := check(n); err != nil {
		return Message{}, err
	}
	return Message{Sender: AgentID(word), Body: buf[:n]}, nil
}

// Mailbox receives messages of any length into a buffer it grows as needed: a message longer
// than the buffer is received again into a larger one, never cut or lost. The zero value is
// ready; a Message it returns is valid until its next receive.
type Mailbox struct {
	buf []byte
}

func (m *Mailbox) receive(waitMs int64) (Message, error) {
	if m.buf == nil {
		m.buf = make([]byte, 512)
	}
	for {
		msg, err := ReceiveInto(m.buf, waitMs)
		tooSmall, ok := err.(*BufferTooSmall)
		if !ok {
			return msg, err
		}
		m.buf = make([]byte, tooSmall.Needed)
		waitMs = NoWait // the same message is still first: take it without waiting
	}
}

// Receive waits for the next message.
func (m *Mailbox) Receive() (Message, error) { return m.receive(Forever) }

// TryReceive returns ErrNoMessage at once when the mailbox is empty.
func (m *Mailbox) TryReceive() (Message, error) { return m.receive(NoWait) }

// ReceiveTimeout returns ErrTimeout after ms milliseconds without a message.
func (m *Mailbox) ReceiveTimeout(ms uint32) (Message, error) { return m.receive(int64(ms)) }

var defaultMailbox Mailbox

// Receive waits for the next message, of any length (a package-level Mailbox: the Message is
// valid until the next Receive, TryReceive or ReceiveTimeout).
func Receive() (Message, error) { return defaultMailbox.Receive() }

// TryReceive is Receive without waiting: ErrNoMessage on an empty mailbox.
func TryReceive() (Message, error) { return defaultMailbox.TryReceive() }

// ReceiveTimeout is Receive waiting at most ms milliseconds: ErrTimeout after that.
func ReceiveTimeout(ms uint32) (Message, error) { return defaultMailbox.ReceiveTimeout(ms) }
