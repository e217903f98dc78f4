// llm-ask: a WASI command that runs the host's language model on its arguments (joined by spaces)
// and prints the completion.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -o llm-ask.wasm .   (or: tinygo build -target=wasip1 -o llm-ask.wasm .)
// Run:   kwasm run --manifest manifest.toml llm-ask.wasm -- Once upon a time
// (with a model loaded: docs/llm.md)
package main

import (
	"fmt"
	"os"
	"strings"

	kw "kernelwasm"
)

func main() {
	// A completion of any length: the SDK retries a short buffer at the size the host reports.
	completion, err := kw.Infer(strings.Join(os.Args[1:], " "))
	if err != nil {
		fmt.Fprintf(os.Stderr, "llm-ask: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(completion)
}
