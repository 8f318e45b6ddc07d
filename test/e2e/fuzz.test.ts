import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUZZ_CONFIG_TARGET, fuzzCases } from "../../bench/lib/fuzz-cases.js";
import { runFuzz } from "../../bench/lib/fuzz-run.js";
import { type Composed, compose } from "../../src/compose.js";
import { loadConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { type RunningServer, startServer } from "../../src/http/server.js";

/**
 * 2,000 hostile requests from a seed (bench/lib/fuzz-cases.ts: invalid JSON and UTF-8, wrong types, odd
 * numbers, 10,000-level nesting, 10,000 messages, odd methods, paths and headers, over every route) against the
 * real server with the fuzz bench's config (zero-latency replica, guard on): no 5xx, no hang, every error an
 * OpenAI error body, and the server still serves a normal request afterwards. `npm run bench -- fuzz` runs
 * 20,000 of them.
 */
const CONFIG = fileURLToPath(new URL("../../bench/configs/fuzz.yaml", import.meta.url));

let composed: Composed;
let server: RunningServer;

beforeAll(async () => {
  const config = loadConfig({ file: CONFIG, overrides: { port: 0 } });
  composed = compose({
    config,
    clock: new SystemClock(),
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
  server = await startServer(composed.app, { port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  await server.close(1000);
  await composed.close();
});

describe("fuzzing the HTTP API", () => {
  it("answers 2,000 hostile requests with no 5xx and OpenAI error bodies, then still serves", async () => {
    const tally = await runFuzz({
      port: server.port,
      cases: fuzzCases({
        seed: 20_240_601,
        count: 2000,
        target: FUZZ_CONFIG_TARGET,
      }),
      concurrency: 8,
      timeoutMs: 10_000,
    });
    expect(tally.violations).toEqual([]);
    // Over-limit bodies whose 413 a reset may swallow (see FuzzTally.resetsWhileSending): rare, never more.
    expect(tally.resetsWhileSending.length).toBeLessThan(20);
    expect(tally.cases).toBe(2000);
    // The cases reach the app's checks, not only the guard or the parser.
    expect(tally.byStatus["200"]).toBeGreaterThan(100);
    expect(tally.byStatus["400"]).toBeGreaterThan(500);
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${FUZZ_CONFIG_TARGET.apiKey}` },
      body: JSON.stringify({
        model: "bench-model",
        max_tokens: 3,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    expect(res.status).toBe(200);
  }, 30_000);
});
