import { parseArgs } from "node:util";
import { writeResult } from "./lib/report.js";
import { bigPrompt } from "./scenarios/big-prompt.js";
import { botFlood } from "./scenarios/bot-flood.js";
import { cache } from "./scenarios/cache.js";
import { fidelity } from "./scenarios/fidelity.js";
import { fuzz } from "./scenarios/fuzz.js";
import { memory } from "./scenarios/memory.js";
import { microBatching } from "./scenarios/micro-batching.js";
import { overhead } from "./scenarios/overhead.js";
import { overload } from "./scenarios/overload.js";
import { overloadLong } from "./scenarios/overload-long.js";
import { policies } from "./scenarios/policies.js";
import { proxyMemory } from "./scenarios/proxy-memory.js";
import { semanticEval } from "./scenarios/semantic-eval.js";
import { simulateSpeed } from "./scenarios/simulate-speed.js";
import { sloOverload } from "./scenarios/slo-overload.js";
import { steadyChat } from "./scenarios/steady-chat.js";
import { storeHang } from "./scenarios/store-hang.js";
import { streamingChat } from "./scenarios/streaming-chat.js";
import type { Scenario } from "./scenarios/types.js";

/**
 * `npm run bench -- <scenario> [--quick] [--solve-challenges] [--out DIR]`: runs one scenario and writes its
 * result files.
 */
const SCENARIOS: readonly Scenario[] = [
  overhead,
  steadyChat,
  streamingChat,
  overload,
  policies,
  memory,
  proxyMemory,
  semanticEval,
  cache,
  sloOverload,
  overloadLong,
  microBatching,
  botFlood,
  fidelity,
  simulateSpeed,
  storeHang,
  fuzz,
  bigPrompt,
];

const USAGE = `Usage: npm run bench -- <scenario> [--quick] [--solve-challenges] [--out DIR]

  --quick             a CI-sized run (well under 20 s)
  --solve-challenges  load clients solve the guard's proof-of-work challenges (403 challenge_required) and
                      retry with the pass, as legitimate scripts would; bot-flood adds a run where they do
  --out DIR           write <scenario>.json and .md to DIR instead of bench/results
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false },
      "solve-challenges": { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const scenario = SCENARIOS.find((s) => s.name === positionals[0]);
  if (values.help || scenario === undefined) {
    const list = SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.description}`).join("\n");
    process.stderr.write(`${USAGE}\nScenarios:\n${list}\n`);
    return values.help ? 0 : 2;
  }
  const started = Date.now();
  const output = await scenario.run({
    quick: values.quick,
    solveChallenges: values["solve-challenges"],
    log: (message) => process.stderr.write(`[${scenario.name}] ${message}\n`),
  });
  const files = writeResult({
    scenario: scenario.name,
    command: `npm run bench -- ${argv.join(" ")}`,
    quick: values.quick,
    config: output.config,
    results: output.results,
    notes: output.notes,
    ...(values.out !== undefined && { dir: values.out }),
  });
  process.stderr.write(`[${scenario.name}] done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const note of output.notes) process.stdout.write(`- ${note}\n`);
  process.stdout.write(`results: ${JSON.stringify(files)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
