//go:build wasip1

package kernelwasm

import "strconv"

// LlmError is an error code of the llm host module (docs/llm.md), which numbers its errors on
// its own (-1 is ErrLlmNotCapable there).
type LlmError int32

// The llm module's error codes.
const (
	ErrLlmNotCapable    LlmError = -1  // no llm:infer / llm:adapter
	ErrLlmBadPointer    LlmError = -2  // a range outside memory, or not UTF-8
	ErrLlmNoModel       LlmError = -3  // the host has no model loaded
	ErrLlmTooLarge      LlmError = -4  // prompt too long (bytes or tokens), path > 4096 bytes
	ErrLlmBusy          LlmError = -5  // outside the scheduler, another inference holds the model
	ErrLlmFailed        LlmError = -6  // the engine failed
	ErrLlmNotFound      LlmError = -7  // LoadLora: no readable directory there
	ErrLlmBadAdapter    LlmError = -8  // LoadLora: missing, malformed or mismatched adapter
	ErrLlmAdapterLimit  LlmError = -9  // LoadLora: no room for another adapter
	ErrLlmNoSuchAdapter LlmError = -10 // UnloadLora: no adapter has this id
)

var llmErrorNames = [...]string{
	"ERR_NOT_CAPABLE", "ERR_BAD_POINTER", "ERR_NO_MODEL", "ERR_TOO_LARGE", "ERR_BUSY",
	"ERR_FAILED", "ERR_NOT_FOUND", "ERR_BAD_ADAPTER", "ERR_ADAPTER_LIMIT", "ERR_NO_SUCH_ADAPTER",
}

// Name is the llm module's name of the code, e.g. "ERR_NO_MODEL".
func (e LlmError) Name() string {
	if i := -int(e) - 1; i >= 0 && i < len(llmErrorNames) {
		return llmErrorNames[i]
	}
	return "unknown error"
}

func (e LlmError) Error() string { return e.Name() + " (" + strconv.Itoa(int(e)) + ")" }

// OutputTooSmall is InferInto's (and InfoInto's) answer to a buffer shorter than the output:
// nothing was written, Needed bytes are needed (the host kept the completion for the next
// InferInto with the same prompt).
type OutputTooSmall struct {
	Needed uint32
}

func (e *OutputTooSmall) Error() string {
	return "the output needs " + strconv.Itoa(int(e.Needed)) + " bytes"
}

func llmLength(code int32, max int) (int, error) {
	if code < 0 {
		return 0, LlmError(code)
	}
	if int(code) > max {
		return 0, &OutputTooSmall{Needed: uint32(code)}
	}
	return int(code), nil
}

// InferInto runs the model on prompt and writes the completion into out: its length, or an
// *OutputTooSmall with the length needed. Blocks while the model generates. Needs llm:infer.
func InferInto(prompt string, out []byte) (int, error) {
	p := []byte(prompt)
	return llmLength(rawLlmInfer(bytesPtr(p), uint32(len(p)), bytesPtr(out), uint32(len(out))), len(out))
}

// InfoInto writes the model's description into out; InferInto's buffer rules.
func InfoInto(out []byte) (int, error) {
	return llmLength(rawLlmInfo(bytesPtr(out), uint32(len(out))), len(out))
}

// growing calls call with a buffer of first bytes, then once more of the size it reports needed.
func growing(first int, call func([]byte) (int, error)) (string, error) {
	buf := make([]byte, first)
	n, err := call(buf)
	if short, ok := err.(*OutputTooSmall); ok {
		buf = make([]byte, short.Needed)
		n, err = call(buf)
	}
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// Infer runs the model on prompt and returns its completion (the text after the prompt), of any
// length: a completion longer than the first buffer is fetched again at its size, which the host
// serves from the completion it kept. Blocks while the model generates. Needs llm:infer.
func Infer(prompt string) (string, error) {
	// A small first buffer on purpose: a longer completion costs one more call, not a second
	// generation (the host keeps it for the retry).
	return growing(256, func(out []byte) (int, error) { return InferInto(prompt, out) })
}

// Info is the model's description: "key=value" lines (model, dim, ..., max_tokens, adapters).
func Info() (string, error) { return growing(512, InfoInto) }

// AdapterID is a LoRA adapter loaded with LoadLora.
type AdapterID uint32

// LoadLora loads the LoRA adapter in directory path (seen through the caller's preopens) for
// every inference from the next token on. Needs llm:adapter and file:read there.
func LoadLora(path string) (AdapterID, error) {
	p := []byte(path)
	id := rawLlmLoadLora(bytesPtr(p), uint32(len(p)))
	if id < 0 {
		return 0, LlmError(id)
	}
	return AdapterID(id), nil
}

// UnloadLora removes an adapter: inferences go back to the base model from the next token on.
func UnloadLora(id AdapterID) error {
	if code := rawLlmUnloadLora(uint32(id)); code < 0 {
		return LlmError(code)
	}
	return nil
}
