// WASI test program (Go's own wasip1 port, TinyGo-compatible source, stdlib only) that needs no
// preopened directory, so the kernel's shell can run it too: arguments, the monotonic clock, a
// sleep, random bytes, goroutines and a channel (Go's scheduler on poll_oneoff), exit status 0.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"time"
)

func main() {
	fmt.Printf("hello from Go: %d args\n", len(os.Args))
	start := time.Now()
	time.Sleep(5 * time.Millisecond)
	fmt.Printf("clock advances: %v\n", time.Since(start) >= 5*time.Millisecond)
	b := make([]byte, 32)
	_, err := rand.Read(b)
	fmt.Printf("random: %v\n", err == nil)
	results := make(chan int)
	for i := 1; i <= 3; i++ {
		go func(n int) { results <- n * n }(i)
	}
	sum := 0
	for i := 0; i < 3; i++ {
		sum += <-results
	}
	fmt.Printf("goroutines: %d\n", sum)
}
