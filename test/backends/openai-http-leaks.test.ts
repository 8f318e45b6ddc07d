import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import {
  cacheResults,
  census,
  describeCensus,
  drivePipeline,
  leftInFlight,
  type MixRequest,
} from "../helpers/leak-census.js";

/**
 * No per-request state outlives its request, in proxy mode: 20,000 requests through the whole pipeline (cache
 * with single-flight, scheduler, routing with retries and timeouts, the fault-injection wrapper, the
 * openai-http backend over real sockets to an upstream in its own process), then a forced GC. Heap, armed timers, Timeout and AbortController objects
 * must be back where they were after warm-up. Before the fix every finished request left its 600 s total timer
 * armed, holding an AbortController: +20,000 of each here, and ~2.4 KB of heap per request.
 */

const TOTAL = 20_000;
const WARM_UP = 400;

/** The mix, by request index (deterministic): what the client asks for and how it behaves. */
/**
 * Cacheable prompts (temperature 0): a new one every 200 requests, 50 in turn. Each new one is generated once
 * while the identical requests that arrive meanwhile join it (single-flight), then served from the store.
 */
const cacheable = (i: number) => `cached ${Math.floor(i / 200) % 50}`;

function mix(i: number): MixRequest {
  const ok = { model: "m", content: "ok", stream: false, temperature: 1, maxTokens: 16 };
  // Timeouts are slow on the wall clock (50-150 ms each): one request in 100 of each kind.
  if (i % 100 === 18) return { ...ok, model: "m-short", content: "hang" }; // no first token in time
  if (i % 100 === 38) return { ...ok, model: "m-short", content: "trickle", stream: true }; // total timeout
  switch (i % 20) {
    case 7:
    case 8:
      return { ...ok, content: "slow", stream: true, abortMidStream: true };
    case 9:
      return { ...ok, content: "flaky" }; // a 503 on the first attempt, retried on the other replica
    case 10:
      return { ...ok, content: cacheable(i), temperature: 0 };
    case 11:
      return { ...ok, content: cacheable(i), temperature: 0, stream: true };
    default:
      return { ...ok, stream: i % 2 === 0 };
  }
}

let upstream: ChildProcess | undefined;
let composed: Composed | undefined;
/** Timers armed before the gateway existed (the test runner's own). */
let armedAtStart = 0;
const armedTimers = () => process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;

beforeAll(async () => {
  armedAtStart = armedTimers();
  const child = spawn(process.execPath, ["test/helpers/scripted-upstream.mjs"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  upstream = child;
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", (line) => {
      resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`upstream exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const config = parseConfig({
    guard: { enabled: false },
    log: { level: "silent" },
    cache: { enabled: true, mode: "deterministic", coalesce: true },
    models: [
      { id: "m", profile: "Llama-3.1-8B" },
      {
        id: "m-short",
        profile: "Llama-3.1-8B",
        routing: {
          timeouts: { firstTokenMs: 50, totalMs: 150 },
          retries: { maxAttempts: 2 },
          // Every one of these requests is meant to time out: the breaker must not turn them into fast 503s.
          breaker: { consecutiveFailures: 100_000, minRequests: 100_000 },
        },
      },
    ],
    deployments: [
      { name: "up", model: "m", replicas: 2, backend: { type: "openai-http", url, connections: 32 } },
      {
        name: "up-short",
        model: "m-short",
        replicas: 2,
        backend: { type: "openai-http", url, connections: 8 },
      },
    ],
  });
  composed = compose({
    config,
    clock: new SystemClock(),
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
});

afterAll(async () => {
  await composed?.close();
  upstream?.kill("SIGTERM");
});

describe("openai-http: per-request state", () => {
  // About 0.5-1 ms of CPU per request here, plus the upstream's: 10-20 s, more on a busy machine.
  it("is all released after 20,000 requests (complete, client aborts, retries, timeouts)", {
    timeout: 90_000,
  }, async () => {
    const gateway = composed!;
    const drive = (total: number) =>
      drivePipeline({ composed: gateway, total, concurrency: 64, request: mix });
    await drive(WARM_UP);
    const before = await census();
    const cacheBefore = await cacheResults(gateway);

    const started = performance.now();
    const outcomes = await drive(TOTAL);
    const seconds = (performance.now() - started) / 1000;
    const after = await census();
    const cacheAfter = await cacheResults(gateway);
    const cache = Object.fromEntries(
      Object.entries(cacheAfter).map(([result, n]) => [result, n - (cacheBefore[result] ?? 0)]),
    );
    const summary = `before: ${describeCensus(before)}; after ${TOTAL} (${seconds.toFixed(1)} s): ${describeCensus(after)}; outcomes ${JSON.stringify(outcomes)}; cache ${JSON.stringify(cache)}`;
    console.info(`openai-http leak test: ${summary}`);

    // Every kind of ending happened.
    expect(outcomes["ok"], summary).toBeGreaterThan(TOTAL * 0.8);
    expect(outcomes["aborted"], summary).toBe(TOTAL / 10);
    expect(outcomes["timeout"], summary).toBe(TOTAL / 50);
    expect(outcomes["backend_error"], summary).toBeGreaterThan(0);
    expect(cache["coalesced"], summary).toBeGreaterThan(0);
    expect(cache["hit"], summary).toBeGreaterThan(0);
    expect(await leftInFlight(gateway)).toEqual({});
    // Back to the warm-up level: nothing grows with the number of requests (a leak of one object per request
    // would be +20,000; the slack covers connections the pools opened or closed meanwhile).
    expect(after.armedTimeouts, summary).toBeLessThanOrEqual(before.armedTimeouts + 4);
    expect(after.abortControllers, summary).toBeLessThanOrEqual(before.abortControllers + 16);
    expect(after.timeoutObjects, summary).toBeLessThanOrEqual(before.timeoutObjects + 64);
    expect(after.heapUsedBytes - before.heapUsedBytes, summary).toBeLessThan(4 * 2 ** 20);
  });

  it("shutdown leaves no timer armed: upstream pools closed, health checks stopped", async () => {
    await composed!.close();
    expect(armedTimers()).toBe(armedAtStart);
  });
});
