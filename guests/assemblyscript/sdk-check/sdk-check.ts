// sdk-check: the SDK's error paths, run as an agent by kernel-wasm/kwasm/tests/guests.rs.
// Prints one line per case; the other languages' sdk-check print the same lines.
//
// Build: npx asc sdk-check.ts -o sdk-check.wasm
//
// Its first message names a module whose agent needs agent:send (an echo): spawning it with only
// agent:receive must fail as a value (the child is refused for the missing capability).

import * as agent from "../sdk";

function show(what: string, error: agent.AgentError): void {
  if (error == agent.AgentError.Ok) console.log(what + ": ok");
  else console.log(what + ": " + agent.describe(error));
}

function main(): i32 {
  const first = agent.receive();
  if (!first.ok) {
    console.log("no module to spawn: " + agent.describe(first.error));
    return 1;
  }
  const echo = first.value!.text();
  const me = agent.selfId();
  console.log("assemblyscript sdk-check: agent " + me.toString());

  // A message longer than the buffer: kept, its length reported, then received whole.
  const long = new Uint8Array(1000);
  for (let i = 0; i < long.length; i++) long[i] = <u8>(i % 251);
  show("send to self", agent.send(me, long));
  const small = new Uint8Array(16);
  const n = agent.receiveInto(small);
  if (n == agent.AgentError.BufferTooSmall) {
    console.log("too small: ERR_BUFFER_TOO_SMALL (-5), needs " + agent.lastNeeded().toString());
  } else {
    console.log("too small: unexpected " + n.toString());
  }
  const retry = agent.receive();
  if (!retry.ok) {
    console.log("retry: " + agent.describe(retry.error));
  } else {
    const msg = retry.value!;
    let intact = msg.body.length == long.length;
    for (let i = 0; intact && i < long.length; i++) intact = msg.body[i] == long[i];
    console.log("retry: " + msg.body.length.toString() + " bytes from agent " + msg.sender.toString()
      + ", intact: " + (intact ? "true" : "false"));
  }

  show("empty mailbox", agent.tryReceive().error);
  show("timeout", agent.receiveTimeout(0).error);
  show("no such agent", agent.sendString(999999, "hello?"));
  show("too large", agent.send(me, new Uint8Array(70000)));
  show("bad config", agent.spawn(echo, "bogus").error);
  show("missing capability", agent.spawn(echo, "agent:receive").error);
  show("log", agent.log(agent.Level.Info, "sdk-check logs through the host"));
  return 0;
}

process.exit(main());
