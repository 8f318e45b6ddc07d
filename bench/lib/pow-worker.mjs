// The worker thread of pow-solver.ts: solves proof-of-work puzzles with the gateway's own `solve`
// (src/guard/pow.ts), loaded through tsx because the bench runs from source. Plain JavaScript: a worker
// does not inherit tsx's loader under Node 20.
import { performance } from "node:perf_hooks";
import { parentPort } from "node:worker_threads";
import { tsImport } from "tsx/esm/api";

const { solve } = await tsImport("../../src/guard/pow.ts", import.meta.url);

parentPort.on("message", ({ id, seed, difficulty }) => {
  const started = performance.now();
  try {
    const nonce = solve(seed, difficulty);
    parentPort.postMessage({ id, nonce, computeMs: performance.now() - started });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
