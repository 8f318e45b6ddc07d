import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { observeGenerations } from "../../src/replica-server/observed-backend.js";
import {
  cacheResults,
  census,
  describeCensus,
  driveMix,
  drivePipeline,
  leftInFlight,
  type MixRequest,
} from "../helpers/leak-census.js";

/**
 * No per-request state outlives its request, with simulated replicas: 20,000 requests through the pipeline (the
 * cache with single-flight, the scheduler, routing with retries and timeouts, the fault-injection wrapper, the
 * backend server's observing wrapper, the simulated engines), then 2,000 more through the HTTP app (`app.request()`: routes, JSON and SSE responses,
 * client disconnects), on the system clock so that every deadline is a real Node timer; then a forced GC.
 * Heap, armed timers, Timeout and AbortController objects must be back where they were after warm-up.
 */

const TOTAL = 20_000;
const HTTP_TOTAL = 2_000;
const WARM_UP = 400;

/**
 * Cacheable prompts (temperature 0): a new one every 200 requests, 50 in turn. Each new one is generated once
 * while the identical requests that arrive meanwhile join it (single-flight), then served from the store.
 */
const cacheable = (i: number) => `cached ${Math.floor(i / 200) % 50}`;

function mix(i: number): MixRequest {
  const ok = { model: "m", content: `hello ${i % 7}`, stream: false, temperature: 1, maxTokens: 8 };
  // Timeouts take 100-300 ms of wall time each: one request in 100 of each kind.
  if (i % 100 === 18) return { ...ok, model: "m-hang" }; // the replica never answers: no first token in time
  if (i % 100 === 38) return { ...ok, model: "m-slow", maxTokens: 500, stream: true }; // total timeout
  switch (i % 20) {
    case 7:
    case 8:
      return { ...ok, maxTokens: 2000, stream: true, abortMidStream: true };
    case 10:
      return { ...ok, content: cacheable(i), temperature: 0 };
    case 11:
      return { ...ok, content: cacheable(i), temperature: 0, stream: true };
    default:
      return { ...ok, stream: i % 2 === 0 };
  }
}

let composed: Composed | undefined;
let armedAtStart = 0;
const armedTimers = () => process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;

beforeAll(() => {
  armedAtStart = armedTimers();
  const simulated = {
    type: "simulated",
    hardware: "H100-SXM-80GB",
    output: { lengthMedian: 1e6, lengthSigma: 0 },
  };
  const config = parseConfig({
    guard: { enabled: false },
    log: { level: "silent" },
    cache: { enabled: true, mode: "deterministic", coalesce: true },
    models: [
      { id: "m", profile: "Qwen2.5-0.5B" },
      {
        id: "m-hang",
        profile: "Qwen2.5-0.5B",
        routing: {
          timeouts: { firstTokenMs: 100, totalMs: 300 },
          retries: { maxAttempts: 1 },
          // Every one of these requests is meant to time out: the breaker must not turn them into fast 503s.
          breaker: { consecutiveFailures: 100_000, minRequests: 100_000 },
        },
      },
      { id: "m-slow", profile: "Llama-3.1-8B", routing: { timeouts: { totalMs: 300 } } },
    ],
    deployments: [
      { name: "sim", model: "m", backend: { ...simulated, latency: "zero" } },
      // One request in ten fails before its first token here, and is retried on the other replica.
      {
        name: "sim-flaky",
        model: "m",
        backend: { ...simulated, latency: "zero", faults: { errorRate: 0.1 } },
      },
      {
        name: "sim-hang",
        model: "m-hang",
        backend: { ...simulated, latency: "zero", faults: { hang: true } },
      },
      { name: "sim-slow", model: "m-slow", backend: simulated },
    ],
  });
  composed = compose({
    config,
    clock: new SystemClock(),
    logger: pino({ level: "silent" }),
    processMetrics: false,
    // As `tollgate backend` wraps its replica (for vLLM's metrics), so that wrapper is on the path too.
    wrapBackend: (backend) =>
      observeGenerations(backend, { prefillDone: () => {}, tokens: () => {}, finished: () => {} }),
  });
});

afterAll(async () => {
  await composed?.close();
});

describe("simulated: per-request state", () => {
  it("is all released after 20,000 requests through the pipeline and 2,000 over HTTP", {
    timeout: 60_000,
  }, async () => {
    const gateway = composed!;
    const viaPipeline = (total: number) =>
      drivePipeline({ composed: gateway, total, concurrency: 64, request: mix });
    const viaHttp = (total: number) => driveMix({ app: gateway.app, total, concurrency: 64, request: mix });
    await viaPipeline(WARM_UP);
    await viaHttp(WARM_UP);
    const before = await census();
    const cacheBefore = await cacheResults(gateway);

    const started = performance.now();
    const pipelined = await viaPipeline(TOTAL);
    const served = await viaHttp(HTTP_TOTAL);
    const seconds = (performance.now() - started) / 1000;
    const after = await census();
    const cacheAfter = await cacheResults(gateway);
    const cache = Object.fromEntries(
      Object.entries(cacheAfter).map(([result, n]) => [result, n - (cacheBefore[result] ?? 0)]),
    );
    const summary = `before: ${describeCensus(before)}; after ${TOTAL} + ${HTTP_TOTAL} (${seconds.toFixed(1)} s): ${describeCensus(after)}; pipeline ${JSON.stringify(pipelined)}; HTTP ${JSON.stringify(served)}; cache ${JSON.stringify(cache)}`;
    console.info(`simulated leak test: ${summary}`);

    // Every kind of ending happened.
    expect(pipelined["ok"], summary).toBeGreaterThan(TOTAL * 0.8);
    expect(pipelined["aborted"], summary).toBe(TOTAL / 10);
    expect(pipelined["timeout"], summary).toBe(TOTAL / 50);
    expect(served["200"], summary).toBeGreaterThan(HTTP_TOTAL * 0.8);
    expect(served["aborted"], summary).toBe(HTTP_TOTAL / 10);
    expect(cache["coalesced"], summary).toBeGreaterThan(0);
    expect(cache["hit"], summary).toBeGreaterThan(0);
    expect(await leftInFlight(gateway)).toEqual({});
    // Back to the warm-up level (a leak of one object per request would be +22,000).
    expect(after.armedTimeouts, summary).toBeLessThanOrEqual(before.armedTimeouts);
    expect(after.abortControllers, summary).toBeLessThanOrEqual(before.abortControllers + 16);
    expect(after.timeoutObjects, summary).toBeLessThanOrEqual(before.timeoutObjects + 64);
    expect(after.heapUsedBytes - before.heapUsedBytes, summary).toBeLessThan(4 * 2 ** 20);
  });

  it("shutdown leaves no timer armed", async () => {
    await composed!.close();
    expect(armedTimers()).toBe(armedAtStart);
  });
});
