// hello: a WASI command. Prints its arguments and the GREETING environment variable, then
// writes a file in its preopened directory /data and reads it back.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -o hello.wasm .   (or: tinygo build -target=wasip1 -o hello.wasm .)
// Run:   kwasm run --manifest manifest.toml --dir /tmp::/data hello.wasm -- one two
package main

import (
	"fmt"
	"os"
)

const (
	file     = "/data/hello-go.txt"
	contents = "written by go\n"
)

func main() {
	fmt.Println("hello from go")
	for i, arg := range os.Args[1:] {
		fmt.Printf("arg %d: %s\n", i+1, arg)
	}
	if greeting, ok := os.LookupEnv("GREETING"); ok {
		fmt.Printf("GREETING=%s\n", greeting)
	} else {
		fmt.Println("GREETING is not set")
	}
	// Without file:create (or without a preopen at /data) this is an error value, not a trap.
	if err := os.WriteFile(file, []byte(contents), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "hello: cannot write %s: %v\n", file, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d bytes)\n", file, len(contents))
	back, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hello: cannot read %s: %v\n", file, err)
		os.Exit(1)
	}
	fmt.Printf("read back: %s", back)
}
