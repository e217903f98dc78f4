// llm-ask: a WASI command that runs the host's language model on its arguments (joined by
// spaces) and prints the completion.
//
// Build: npx asc llm-ask.ts -o llm-ask.wasm   (after `npm ci` in guests/assemblyscript)
// Run:   kwasm run --manifest manifest.toml llm-ask.wasm -- Once upon a time   (with a model
//        loaded, see docs/llm.md), or wasm-run --caps llm:infer /bin/llm-ask.wasm -- ...

import * as llm from "../../sdk/llm";

const prompt = process.argv.slice(1).join(" ");
// A completion of any length: the SDK retries a short buffer at the size the host reports.
const completion = llm.infer(prompt);
if (!completion.ok) {
  process.stderr.write("llm-ask: " + llm.describe(completion.error) + "\n");
  process.exit(1);
}
console.log(completion.value);
