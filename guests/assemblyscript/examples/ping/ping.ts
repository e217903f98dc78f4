// ping: an agent that pings echo agents and prints their replies.
//
// Its first message (usually from the shell) names the echo agents, separated by spaces: an
// agent id ("3") uses a running echo, a module path ("/agents/c/echo.wasm") spawns a new one with
// ping's own capabilities. For each, in order, ping sends "ping from assemblyscript", waits for
// that agent's reply and prints: assemblyscript ping: agent N replied "REPLY". Exit status 0
// when every echo answered, 1 otherwise.
//
// Build: npx asc ping.ts -o ping.wasm   (after `npm ci` in guests/assemblyscript)
// Run:   agent-spawn /agents/assemblyscript/ping.wasm   then   agent-send ID 1 /agents/go/echo.wasm

import * as agent from "../../sdk";

const GREETING = "ping from assemblyscript";

function isNumber(text: string): bool {
  if (text.length == 0 || text.length > 9) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The echo named by target: a running agent's id, or a module to spawn. */
function echoAgent(target: string): agent.Result<u32> {
  if (isNumber(target)) return new agent.Result<u32>(<u32>I32.parseInt(target), agent.AgentError.Ok);
  return agent.spawn(target, "");
}

/** Sends the greeting to echo and waits for its reply (messages from others are skipped). */
function ping(echo: u32): agent.Result<string> {
  const error = agent.sendString(echo, GREETING);
  if (error != agent.AgentError.Ok) return new agent.Result<string>("", error);
  let received = agent.receive();
  while (received.ok && received.value!.sender != echo) {
    process.stderr.write("assemblyscript ping: skipped a message from agent " + received.value!.sender.toString() + "\n");
    received = agent.receive();
  }
  if (!received.ok) return new agent.Result<string>("", received.error);
  return new agent.Result<string>(received.value!.text(), agent.AgentError.Ok);
}

function main(): i32 {
  const first = agent.receive();
  const request = first.value;
  if (!first.ok || request == null) {
    process.stderr.write("assemblyscript ping: no list of echo agents: " + agent.describe(first.error) + "\n");
    return 1;
  }
  let status = 0;
  const words = request.text().replaceAll("\n", " ").replaceAll("\t", " ").split(" ");
  for (let i = 0; i < words.length; i++) {
    const target = words[i];
    if (target.length == 0) continue;
    const echo = echoAgent(target);
    let result = new agent.Result<string>("", echo.error);
    if (echo.ok) result = ping(echo.value);
    if (!result.ok) {
      console.log("assemblyscript ping: " + target + ": " + agent.describe(result.error));
      status = 1;
      continue;
    }
    console.log("assemblyscript ping: agent " + echo.value.toString() + " replied \"" + result.value + "\"");
  }
  return status;
}

process.exit(main());
