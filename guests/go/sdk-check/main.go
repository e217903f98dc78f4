// sdk-check: the SDK's error paths, run as an agent by kernel-wasm/kwasm/tests/guests.rs.
// Prints one line per case; the other languages' sdk-check print the same lines.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -o sdk-check.wasm .
//
// Its first message names a module whose agent needs agent:send (an echo): spawning it with only
// agent:receive must fail as a value (the child is refused for the missing capability).
package main

import (
	"bytes"
	"errors"
	"fmt"

	kw "kernelwasm"
)

func show(what string, err error) {
	var code kw.Error
	switch {
	case err == nil:
		fmt.Printf("%s: ok\n", what)
	case errors.As(err, &code):
		fmt.Printf("%s: %v\n", what, code)
	default:
		fmt.Printf("%s: %v\n", what, err)
	}
}

func main() {
	first, err := kw.Receive()
	if err != nil {
		fmt.Printf("no module to spawn: %v\n", err)
		return
	}
	echo := string(first.Body)
	me := kw.SelfID()
	fmt.Printf("go sdk-check: agent %d\n", me)

	// A message longer than the buffer: kept, its length reported, then received whole.
	long := make([]byte, 1000)
	for i := range long {
		long[i] = byte(i % 251)
	}
	show("send to self", kw.Send(me, long))
	small := make([]byte, 16)
	var tooSmall *kw.BufferTooSmall
	if _, err := kw.ReceiveInto(small, kw.Forever); errors.As(err, &tooSmall) {
		fmt.Printf("too small: ERR_BUFFER_TOO_SMALL (-5), needs %d\n", tooSmall.Needed)
	} else {
		fmt.Printf("too small: unexpected %v\n", err)
	}
	mailbox := kw.Mailbox{}
	if msg, err := mailbox.Receive(); err != nil {
		fmt.Printf("retry: %v\n", err)
	} else {
		fmt.Printf("retry: %d bytes from agent %d, intact: %t\n", len(msg.Body), msg.Sender, bytes.Equal(msg.Body, long))
	}

	_, err = kw.TryReceive()
	show("empty mailbox", err)
	_, err = kw.ReceiveTimeout(0)
	show("timeout", err)
	show("no such agent", kw.SendString(999999, "hello?"))
	show("too large", kw.Send(me, make([]byte, 70000)))
	_, err = kw.Spawn(echo, "bogus")
	show("bad config", err)
	_, err = kw.Spawn(echo, "agent:receive")
	show("missing capability", err)
	show("log", kw.Log(kw.LevelInfo, "sdk-check logs through the host"))
}
