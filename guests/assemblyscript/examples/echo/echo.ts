// echo: an agent that replies to every message with the same bytes prefixed by "assemblyscript: ".
//
// Build: npx asc echo.ts -o echo.wasm   (after `npm ci` in guests/assemblyscript)
// Run:   agent-spawn /agents/assemblyscript/echo.wasm agent:send,agent:receive

import * as agent from "../../sdk";

const prefix = Uint8Array.wrap(String.UTF8.encode("assemblyscript: "));

for (;;) {
  const received = agent.receive();
  const msg = received.value;
  if (!received.ok || msg == null) {
    process.stderr.write("assemblyscript echo: receive failed: " + agent.describe(received.error) + "\n");
    process.exit(1);
    break;
  }
  let len = prefix.length + msg.body.length;
  if (len > agent.MAX_MESSAGE_BYTES) len = agent.MAX_MESSAGE_BYTES;
  const reply = new Uint8Array(len);
  reply.set(prefix);
  reply.set(msg.body.subarray(0, len - prefix.length), prefix.length);
  const error = agent.send(msg.sender, reply);
  // A sender that ended or is flooded is its own problem: keep serving the others.
  if (error == agent.AgentError.NoSuchAgent || error == agent.AgentError.MailboxFull) {
    process.stderr.write("assemblyscript echo: reply to agent " + msg.sender.toString() + " dropped: " + agent.describe(error) + "\n");
  } else if (error != agent.AgentError.Ok) {
    process.stderr.write("assemblyscript echo: send failed: " + agent.describe(error) + "\n");
    process.exit(1);
  }
}
