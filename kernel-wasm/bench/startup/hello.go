package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("hello from Go, %d args\n", len(os.Args))
}
