// ping: an agent that pings echo agents and prints their replies.
//
// Its first message (usually from the shell) names the echo agents, separated by spaces: an
// agent id ("3") uses a running echo, a module path ("/agents/c/echo.wasm") spawns a new one with
// ping's own capabilities. For each, in order, ping sends "ping from go", waits for that agent's
// reply and prints: go ping: agent N replied "REPLY". Exit status 0 when every echo answered,
// 1 otherwise.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -o ping.wasm .   (or: tinygo build -target=wasip1 -o ping.wasm .)
// Run:   agent-spawn /agents/go/ping.wasm env,clock,random,agent:spawn,agent:send,agent:receive
//
//	agent-send ID 1 /agents/rust/echo.wasm
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	kw "kernelwasm"
)

const greeting = "ping from go"

// echoAgent is the echo named by target: a running agent's id, or a module to spawn.
func echoAgent(target string) (kw.AgentID, error) {
	if id, err := strconv.ParseUint(target, 10, 32); err == nil {
		return kw.AgentID(id), nil
	}
	return kw.Spawn(target, "")
}

// ping sends the greeting to echo and waits for its reply (messages from others are skipped).
func ping(echo kw.AgentID) (string, error) {
	if err := kw.SendString(echo, greeting); err != nil {
		return "", err
	}
	for {
		msg, err := kw.Receive()
		if err != nil {
			return "", err
		}
		if msg.Sender == echo {
			return string(msg.Body), nil
		}
		fmt.Fprintf(os.Stderr, "go ping: skipped a message from agent %d\n", msg.Sender)
	}
}

func main() {
	first, err := kw.Receive()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go ping: no list of echo agents: %v\n", err)
		os.Exit(1)
	}
	status := 0
	for _, target := range strings.Fields(string(first.Body)) {
		echo, err := echoAgent(target)
		var reply string
		if err == nil {
			reply, err = ping(echo)
		}
		if err != nil {
			fmt.Printf("go ping: %s: %v\n", target, err)
			status = 1
			continue
		}
		fmt.Printf("go ping: agent %d replied \"%s\"\n", echo, reply)
	}
	os.Exit(status)
}
