// echo: an agent that replies to every message with the same bytes prefixed by "go: ".
//
// Build: GOOS=wasip1 GOARCH=wasm go build -o echo.wasm .   (or: tinygo build -target=wasip1 -o echo.wasm .)
// Run:   agent-spawn /agents/go/echo.wasm env,clock,random,agent:send,agent:receive
//
// (Go's runtime needs env, clock and random before main.)
package main

import (
	"errors"
	"fmt"
	"os"

	kw "kernelwasm"
)

const prefix = "go: "

func main() {
	var mailbox kw.Mailbox // grows to the longest message: nothing is cut
	reply := make([]byte, 0, 512)
	for {
		msg, err := mailbox.Receive()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go echo: receive failed: %v\n", err)
			os.Exit(1)
		}
		reply = append(append(reply[:0], prefix...), msg.Body...)
		if len(reply) > kw.MaxMessageBytes {
			reply = reply[:kw.MaxMessageBytes]
		}
		err = kw.Send(msg.Sender, reply)
		switch {
		case err == nil:
		// A sender that ended or is flooded is its own problem: keep serving the others.
		case errors.Is(err, kw.ErrNoSuchAgent), errors.Is(err, kw.ErrMailboxFull):
			fmt.Fprintf(os.Stderr, "go echo: reply to agent %d dropped: %v\n", msg.Sender, err)
		default:
			fmt.Fprintf(os.Stderr, "go echo: send failed: %v\n", err)
			os.Exit(1)
		}
	}
}
