import { describe, expect, it } from "vitest";
import type { ReplicaSnapshot } from "../../../src/backends/backend.js";
import type { SimulatedBackend } from "../../../src/backends/simulated/simulated-backend.js";
import type { VirtualClock } from "../../../src/core/clock.js";
import { SeededRandom } from "../../../src/core/random.js";
import { makeBackend, makeRequest, run, type Setup } from "./helpers.js";

/**
 * Decode runs (src/backends/simulated/decode-run.ts) must be invisible: a workload whose tokens are coalesced
 * (the engine may run several decode steps as one event) gives exactly what the same workload streamed token
 * by token (one event per step) gives: token times, texts, done events, GPU-seconds, engine counters and the
 * replica's snapshot at any moment.
 */

interface Arrival {
  atMs: number;
  promptLength: number;
  maxTokens: number;
  /** Abort the request this long after it arrives. */
  abortAfterMs?: number;
}

interface Observed {
  firstTokenMs: number | undefined;
  lastTokenMs: number | undefined;
  tokens: number;
  text: string;
  done: unknown;
  error: string | undefined;
}

function workload(seed: number, count: number, options: { gapMs: number; abortShare?: number }): Arrival[] {
  const random = new SeededRandom(seed);
  const arrivals: Arrival[] = [];
  let atMs = 0;
  for (let i = 0; i < count; i++) {
    atMs += -Math.log(1 - random.next()) * options.gapMs;
    const arrival: Arrival = {
      atMs,
      promptLength: 20 + Math.floor(random.next() * 600),
      maxTokens: 1 + Math.floor(random.next() * 120),
    };
    if (random.next() < (options.abortShare ?? 0)) arrival.abortAfterMs = random.next() * 400;
    arrivals.push(arrival);
  }
  return arrivals;
}

/** Runs `arrivals` on a fresh backend; snapshots are taken every `probeMs` of virtual time. */
async function replay(
  setup: Setup,
  arrivals: readonly Arrival[],
  coalesce: boolean,
): Promise<{ observed: Observed[]; snapshots: ReplicaSnapshot[]; stats: unknown; timers: number }> {
  const { clock, backend } = makeBackend(setup);
  const timers = countTimers(clock);
  const outcomes: Promise<Observed>[] = [];
  const snapshots: ReplicaSnapshot[] = [];
  const probeMs = 7.3;
  let nextProbe = probeMs;
  const advanceTo = async (atMs: number) => {
    while (nextProbe < atMs) {
      await clock.advance(nextProbe - clock.now());
      snapshots.push(backend.snapshot());
      nextProbe += probeMs;
    }
    await clock.advance(atMs - clock.now());
  };
  const aborts: Array<{ atMs: number; controller: AbortController }> = [];
  for (const [i, arrival] of arrivals.entries()) {
    // Aborts due before this arrival happen first, in time order.
    aborts.sort((a, b) => a.atMs - b.atMs);
    while (aborts[0] !== undefined && aborts[0].atMs <= arrival.atMs) {
      const due = aborts.shift()!;
      await advanceTo(due.atMs);
      due.controller.abort();
    }
    await advanceTo(arrival.atMs);
    const controller = new AbortController();
    if (arrival.abortAfterMs !== undefined)
      aborts.push({ atMs: arrival.atMs + arrival.abortAfterMs, controller });
    const request = makeRequest(`r${i}`, {
      promptLength: arrival.promptLength,
      maxTokens: arrival.maxTokens,
      arrivalMs: arrival.atMs,
    });
    if (coalesce) request.coalesceTokens = true;
    outcomes.push(observe(backend, request, controller.signal));
  }
  for (const due of aborts.sort((a, b) => a.atMs - b.atMs)) {
    await advanceTo(due.atMs);
    due.controller.abort();
  }
  for (;;) {
    const at = clock.nextTimerAt();
    if (at === undefined) break;
    await advanceTo(at);
  }
  return { observed: await Promise.all(outcomes), snapshots, stats: backend.stats(), timers: timers() };
}

async function observe(
  backend: SimulatedBackend,
  request: ReturnType<typeof makeRequest>,
  signal: AbortSignal,
): Promise<Observed> {
  const outcome = await run(backend, request, signal);
  const tokens = outcome.tokens.reduce((sum, t) => sum + t.tokens, 0);
  if (outcome.done === undefined) {
    // Aborted: a coalescing sink drops what it gathered after the first token (nobody reads it), so only
    // the first token and the ending are comparable; the engine's side shows in snapshots and stats.
    return {
      firstTokenMs: outcome.tokens[0]?.atMs,
      lastTokenMs: undefined,
      tokens: Math.min(tokens, 1),
      text: "",
      done: undefined,
      error: outcome.error === undefined ? undefined : String(outcome.error),
    };
  }
  return {
    firstTokenMs: outcome.tokens[0]?.atMs,
    lastTokenMs: outcome.tokens.at(-1)?.atMs,
    tokens,
    text: outcome.text,
    done: outcome.done,
    error: outcome.error === undefined ? undefined : String(outcome.error),
  };
}

function countTimers(clock: VirtualClock): () => number {
  let count = 0;
  const setTimer = clock.setTimer.bind(clock);
  clock.setTimer = (delayMs, fn) => {
    count++;
    return setTimer(delayMs, fn);
  };
  return () => count;
}

async function expectSame(setup: Setup, arrivals: readonly Arrival[]) {
  const streamed = await replay(setup, arrivals, false);
  const coalesced = await replay(setup, arrivals, true);
  expect(coalesced.observed).toEqual(streamed.observed);
  expect(coalesced.snapshots).toEqual(streamed.snapshots);
  expect(coalesced.stats).toEqual(streamed.stats);
  return { streamed, coalesced };
}

describe("decode runs", () => {
  it("give exactly the step-by-step results under light load, with far fewer timers", async () => {
    const arrivals = workload(1, 60, { gapMs: 120 });
    const { streamed, coalesced } = await expectSame({}, arrivals);
    expect(streamed.observed.every((o) => o.done !== undefined)).toBe(true);
    // One timer per step streamed; a run replaces a stretch of steps with one.
    expect(coalesced.timers).toBeLessThan(streamed.timers / 3);
  });

  it("give exactly the step-by-step results when requests queue behind a full batch", async () => {
    const arrivals = workload(2, 80, { gapMs: 5 });
    const { streamed, coalesced } = await expectSame({ engine: { maxNumSeqs: 8 } }, arrivals);
    expect((streamed.stats as { steps: number }).steps).toBeGreaterThan(400);
    expect(coalesced.timers).toBeLessThan(streamed.timers / 3);
  });

  it("give exactly the step-by-step results in a KV pool tight enough to preempt", async () => {
    const arrivals = workload(3, 60, { gapMs: 10 });
    const { streamed } = await expectSame({ kvBlocks: 120 }, arrivals);
    expect((streamed.stats as { preemptions: number }).preemptions).toBeGreaterThan(0);
  });

  it("give exactly the step-by-step results when clients abort mid-generation", async () => {
    const arrivals = workload(4, 60, { gapMs: 40, abortShare: 0.4 });
    const { streamed } = await expectSame({}, arrivals);
    const aborted = streamed.observed.filter((o) => o.done === undefined);
    expect(aborted.length).toBeGreaterThan(5);
  });

  it("count a shutdown mid-run as the step-by-step engine does", async () => {
    const stats = async (coalesce: boolean) => {
      const { clock, backend } = makeBackend();
      const outcomes = [0, 1, 2].map((i) => {
        const request = makeRequest(`c${i}`, { promptLength: 200 + 50 * i, maxTokens: 100 });
        if (coalesce) request.coalesceTokens = true;
        return run(backend, request);
      });
      await clock.advance(250.5);
      await backend.close();
      const errors = (await Promise.all(outcomes)).map((o) => String(o.error));
      return { stats: backend.stats(), errors };
    };
    const coalesced = await stats(true);
    expect(coalesced).toEqual(await stats(false));
    expect(coalesced.stats.busyMs).toBeCloseTo(250.5, 9);
  });

  it("leave a request with stop strings to single steps (its end depends on the text)", async () => {
    const { clock, backend } = makeBackend();
    const timers = countTimers(clock);
    const request = makeRequest("s", { promptLength: 50, maxTokens: 40, stop: ["zzz-never"] });
    request.coalesceTokens = true;
    const outcome = run(backend, request);
    await clock.runUntilIdle();
    expect((await outcome).done?.usage.completionTokens).toBe(40);
    // The first step comes from pump's zero-delay timer and its own; each further step likewise.
    expect(timers()).toBe(80);
  });
});
