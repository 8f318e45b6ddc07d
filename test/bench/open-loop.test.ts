import { describe, expect, it } from "vitest";
import { type OpenLoopOptions, runOpenLoop } from "../../bench/lib/open-loop.js";
import type { Sender } from "../../bench/lib/sender.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadRequest } from "../../bench/lib/workload.js";
import { sleep, VirtualClock } from "../../src/core/clock.js";
import { fakeRequest } from "../helpers/loopback.js";

/** A tiny fixed request: the open loop never looks inside it. */
const REQUEST: WorkloadRequest = fakeRequest();

/** Runs an open loop on a virtual clock to completion. */
async function run(clock: VirtualClock, options: Partial<OpenLoopOptions> & { send: Sender }) {
  const result = runOpenLoop({
    baseUrl: "http://unused.invalid",
    rate: 10,
    durationMs: 1000,
    arrivals: "uniform",
    seed: 1,
    next: () => REQUEST,
    clock,
    ...options,
  });
  await clock.runUntilIdle();
  return result;
}

/** A sender that answers after `firstMs` (first token) and `totalMs` (end of body) of virtual time. */
function timedSender(clock: VirtualClock, firstMs: number, totalMs: number, status = 200): Sender {
  return async (req, onFirstByte) => {
    await sleep(clock, firstMs);
    onFirstByte();
    await sleep(clock, totalMs - firstMs);
    return { status, completionTokens: req.maxTokens };
  };
}

describe("runOpenLoop", () => {
  it("sends uniform arrivals at exactly their intended times", async () => {
    const clock = new VirtualClock();
    const sendTimes: number[] = [];
    const result = await run(clock, {
      rate: 4,
      durationMs: 2000,
      send: async () => {
        sendTimes.push(clock.now());
        return { status: 200, completionTokens: 1 };
      },
    });
    expect(sendTimes).toEqual([0, 250, 500, 750, 1000, 1250, 1500, 1750]);
    expect(result.offered).toBe(8);
    expect(result.achievedRate).toBeCloseTo(4, 9);
    expect(result.maxSendLagMs).toBe(0);
  });

  it("keeps pace at 2,000/s with several sends per tick", async () => {
    const clock = new VirtualClock();
    const sendTimes: number[] = [];
    const result = await run(clock, {
      rate: 2000,
      durationMs: 1000,
      send: async () => {
        sendTimes.push(clock.now());
        return { status: 200, completionTokens: 1 };
      },
    });
    expect(result.sent).toBe(2000);
    const worstError = Math.max(...sendTimes.map((t, i) => Math.abs(t - i * 0.5)));
    expect(worstError).toBeLessThan(1e-6);
  });

  it("offers Poisson arrivals with mean gap 1000/rate", async () => {
    const clock = new VirtualClock();
    const sendTimes: number[] = [];
    const result = await run(clock, {
      rate: 500,
      durationMs: 20_000,
      arrivals: "poisson",
      seed: 42,
      send: async () => {
        sendTimes.push(clock.now());
        return { status: 200, completionTokens: 1 };
      },
    });
    expect(Math.abs(result.sent / 10_000 - 1)).toBeLessThan(0.03);
    const gaps = sendTimes.slice(1).map((t, i) => t - sendTimes[i]!);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(Math.abs(mean / 2 - 1)).toBeLessThan(0.03);
    expect(Math.abs(result.achievedRate / 500 - 1)).toBeLessThan(0.03);
  });

  it("measures TTFT and end-to-end latency and throughput of successful responses", async () => {
    const clock = new VirtualClock();
    const result = await run(clock, { rate: 10, durationMs: 1000, send: timedSender(clock, 20, 100) });
    expect(result).toMatchObject({ offered: 10, sent: 10, completed: 10, ok: 10, errors: 0, unfinished: 0 });
    expect(result.statusCounts).toEqual({ "200": 10 });
    // HdrHistogram reports a bucket's highest equivalent value: within 0.1% at 3 significant digits.
    expect(result.ttft.count).toBe(10);
    expect(result.ttft.p50 / 20).toBeCloseTo(1, 2);
    expect(result.e2e.count).toBe(10);
    expect(result.e2e.p99 / 100).toBeCloseTo(1, 2);
    // Last arrival at 900 ms ends at 1,000 ms: 10 responses and 80 tokens in one second.
    expect(result.durationMs).toBe(1000);
    expect(result.requestsPerSecond).toBeCloseTo(10, 9);
    expect(result.completionTokensPerSecond).toBeCloseTo(80, 9);
  });

  it("charges a stalled sender's delay to latency (no coordinated omission)", async () => {
    const clock = new VirtualClock();
    // A single-file server: each request waits for the previous one, 150 ms of service each, arrivals 100 ms apart.
    let freeAt = 0;
    const send: Sender = async (_req, onFirstByte) => {
      const startAt = Math.max(clock.now(), freeAt);
      freeAt = startAt + 150;
      await sleep(clock, freeAt - clock.now());
      onFirstByte();
      return { status: 200, completionTokens: 1 };
    };
    const result = await run(clock, { rate: 10, durationMs: 1000, send });
    // The i-th request finishes at 150 (i + 1) and was intended at 100 i: latency 150 + 50 i.
    expect(result.e2e.max / (150 + 50 * 9)).toBeCloseTo(1, 2);
    expect(result.e2e.p50).toBeGreaterThan(250);
  });

  it("drops arrivals beyond maxInFlight and aborts what is left at the drain deadline", async () => {
    const clock = new VirtualClock();
    let aborted = 0;
    const send: Sender = (_req, _onFirstByte, signal) =>
      new Promise((_resolve, reject) => {
        signal?.addEventListener("abort", () => {
          aborted++;
          reject(new Error("aborted"));
        });
      });
    const result = await run(clock, {
      rate: 100,
      durationMs: 1000,
      maxInFlight: 10,
      drainTimeoutMs: 500,
      send,
    });
    expect(result).toMatchObject({ offered: 100, sent: 10, dropped: 90, completed: 0, unfinished: 10 });
    expect(result.durationMs).toBe(1500);
    expect(aborted).toBe(10);
    expect(result.e2e.count).toBe(0);
  });

  it("counts statuses, errors and rejections so that the totals add up", async () => {
    const clock = new VirtualClock();
    let n = 0;
    const send: Sender = async (req) => {
      const i = n++;
      await sleep(clock, 10);
      if (i % 5 === 1) return { status: 429, completionTokens: 0 };
      if (i % 5 === 2) return { status: 0, completionTokens: 0, error: "ECONNRESET" };
      if (i % 5 === 3) throw new Error("boom");
      if (i % 5 === 4) await sleep(clock, 10_000); // outlives the drain
      return { status: 200, completionTokens: req.maxTokens };
    };
    const result = await run(clock, {
      rate: 50,
      durationMs: 1000,
      maxInFlight: 5,
      drainTimeoutMs: 1000,
      send,
    });
    expect(result.offered).toBe(result.sent + result.dropped);
    expect(result.sent).toBe(result.completed + result.errors + result.unfinished);
    const statusTotal = Object.values(result.statusCounts).reduce((a, b) => a + b, 0);
    expect(statusTotal).toBe(result.completed);
    expect(result.ok).toBe(result.statusCounts["200"]);
    expect(result.errorCounts).toEqual({ ECONNRESET: expect.any(Number), boom: expect.any(Number) });
    expect(result.errors).toBe(result.errorCounts["ECONNRESET"]! + result.errorCounts["boom"]!);
    expect(result.statusCounts["429"]).toBeGreaterThan(0);
    expect(result.dropped).toBeGreaterThan(0);
    expect(result.unfinished).toBeGreaterThan(0);
    expect(result.e2e.count).toBe(result.ok);
  });

  it("sends the workload's requests in order", async () => {
    const clock = new VirtualClock();
    const workload = createWorkload({
      ...CHAT_WORKLOAD,
      promptTokens: { median: 8, sigma: 0, min: 8, max: 8 },
    });
    const expected = createWorkload({
      ...CHAT_WORKLOAD,
      promptTokens: { median: 8, sigma: 0, min: 8, max: 8 },
    });
    const bodies: string[] = [];
    await run(clock, {
      next: () => workload.next(),
      send: async (req) => {
        bodies.push(req.bodyText);
        return { status: 200, completionTokens: 1 };
      },
    });
    expect(bodies).toEqual(Array.from({ length: 10 }, () => expected.next().bodyText));
  });

  it("finishes at once with nothing to send", async () => {
    const clock = new VirtualClock();
    const result = await run(clock, { durationMs: 0, send: timedSender(clock, 1, 2) });
    expect(result).toMatchObject({
      offered: 0,
      sent: 0,
      durationMs: 0,
      achievedRate: 0,
      requestsPerSecond: 0,
    });
  });

  it("validates its options", async () => {
    const send: Sender = async () => ({ status: 200, completionTokens: 0 });
    const base = { baseUrl: "http://x.invalid", durationMs: 10, arrivals: "uniform", seed: 1, send } as const;
    await expect(runOpenLoop({ ...base, rate: -1, next: () => REQUEST })).rejects.toThrow(/rate must be/);
    await expect(runOpenLoop({ ...base, rate: 1, maxInFlight: 0, next: () => REQUEST })).rejects.toThrow(
      /maxInFlight must be an integer >= 1, got 0/,
    );
  });
});
