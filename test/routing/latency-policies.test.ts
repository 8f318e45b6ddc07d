import { describe, expect, it } from "vitest";
import { Ewma } from "../../src/routing/ewma.js";
import { lowestCost, lowestLatency } from "../../src/routing/policies/index.js";
import type { RouteRequest } from "../../src/routing/types.js";
import { context, replica, request } from "./replicas.js";

describe("lowest-latency", () => {
  it("avoids a replica within a few observations of its TTFT jumping 100 -> 400 ms, and returns after it recovers", () => {
    const policy = lowestLatency();
    const ttft = { a: new Ewma({ halfLifeMs: 1000 }), b: new Ewma({ halfLifeMs: 1000 }) };
    ttft.a.observe(100, 0);
    ttft.b.observe(100, 0);
    // b carries a little more load, so a is preferred while both are equally fast.
    const view = () => [
      replica("a", { ttftEwmaMs: ttft.a.value(), tpotEwmaMs: 10 }),
      replica("b", { ttftEwmaMs: ttft.b.value(), tpotEwmaMs: 10, outstanding: 2 }),
    ];
    const pick = (sequence: number) => policy(request([], { maxTokens: 16 }), view(), context(sequence));
    expect(pick(0)).toBe(0);

    // Samples every 500 ms, i.e. two per half-life.
    let t = 0;
    const avoidedAfter: number[] = [];
    for (let n = 1; n <= 10; n++) {
      t += 500;
      ttft.a.observe(400, t);
      ttft.b.observe(100, t);
      if (pick(n) === 1) avoidedAfter.push(n);
    }
    expect(avoidedAfter[0]).toBeLessThanOrEqual(2);
    expect(avoidedAfter).toEqual(
      Array.from({ length: 11 - avoidedAfter[0]! }, (_, k) => avoidedAfter[0]! + k),
    );

    let backAfter: number | undefined;
    for (let n = 1; n <= 30 && backAfter === undefined; n++) {
      t += 500;
      ttft.a.observe(100, t);
      ttft.b.observe(100, t);
      if (pick(100 + n) === 0) backAfter = n;
    }
    expect(backAfter).toBeDefined();
    expect(backAfter).toBeLessThanOrEqual(12);
  });

  it("weighs the backlog: a fast replica with a long queue loses to a slower idle one", () => {
    const policy = lowestLatency({ queueScale: 4 });
    const replicas = [
      replica("fast-busy", { ttftEwmaMs: 100, tpotEwmaMs: 10, outstanding: 6, waiting: 6 }), // 100 x 4 = 400
      replica("slow-idle", { ttftEwmaMs: 250, tpotEwmaMs: 10 }), // 250
    ];
    expect(policy(request([], { maxTokens: 10 }), replicas, context())).toBe(1);
  });

  it("weighs TPOT by the requested output length", () => {
    const policy = lowestLatency();
    const replicas = [
      replica("quick-start", { ttftEwmaMs: 100, tpotEwmaMs: 40 }),
      replica("quick-decode", { ttftEwmaMs: 300, tpotEwmaMs: 10 }),
    ];
    expect(policy(request([], { maxTokens: 2 }), replicas, context())).toBe(0); // 180 vs 320
    expect(policy(request([], { maxTokens: 500 }), replicas, context())).toBe(1); // 20100 vs 5300
  });

  it("gives a replica without observations the pool's mean, so it is tried rather than starved", () => {
    const policy = lowestLatency();
    const replicas = [
      replica("known-fast", { ttftEwmaMs: 100, tpotEwmaMs: 10, outstanding: 1 }),
      replica("known-slow", { ttftEwmaMs: 300, tpotEwmaMs: 30 }),
      replica("new"),
    ];
    // new gets the mean prior (200 ms, 20 ms): 200 + 16 x 20 = 520, behind known-fast's 100 x 1.25 + 160 = 285.
    expect(policy(request([], { maxTokens: 16 }), replicas, context())).toBe(0);
    replicas[0] = replica("known-fast", { ttftEwmaMs: 100, tpotEwmaMs: 10, outstanding: 12 }); // now 100 x 4 + 160 = 560
    expect(policy(request([], { maxTokens: 16 }), replicas, context())).toBe(2);
  });

  it("with no observations anywhere, ranks by queue depth and takes ties in turn", () => {
    const policy = lowestLatency();
    const replicas = [replica("a", { waiting: 3 }), replica("b"), replica("c")];
    const picks = [0, 1, 2, 3].map((sequence) => policy(request(), replicas, context(sequence)));
    expect(picks).toEqual([1, 1, 2, 1]);
  });
});

describe("lowest-cost", () => {
  // cheap: e2e 400 + 100 x 40 = 4400 ms at $2/h -> $0.00244; fast: 100 + 100 x 10 = 1100 ms at $10/h -> $0.00306.
  const cheap = replica("cheap", { pricePerHourUsd: 2, ttftEwmaMs: 400, tpotEwmaMs: 40 });
  const fast = replica("fast", { pricePerHourUsd: 10, ttftEwmaMs: 100, tpotEwmaMs: 10 });
  const policy = lowestCost();
  const ask = (slo?: RouteRequest["slo"]) =>
    policy(request([], { maxTokens: 100, ...(slo && { slo }) }), [fast, cheap], context());

  it.each([
    { case: "no SLO: the cheapest", slo: undefined, want: 1 },
    { case: "cheap meets the e2e target", slo: { e2eMs: 5000 }, want: 1 },
    { case: "cheap meets every target", slo: { ttftMs: 500, tpotMs: 50, e2eMs: 5000 }, want: 1 },
    { case: "cheap misses the TTFT target", slo: { ttftMs: 200 }, want: 0 },
    { case: "cheap misses the TPOT target", slo: { tpotMs: 20 }, want: 0 },
    { case: "cheap misses the e2e target", slo: { e2eMs: 2000 }, want: 0 },
    { case: "nobody meets it: the lowest latency", slo: { e2eMs: 500 }, want: 0 },
  ])("$case", ({ slo, want }) => {
    expect(ask(slo)).toBe(want);
  });

  it("shares the replica-hour with the batch: a busy replica is cheaper per request", () => {
    const replicas = [
      replica("idle", { pricePerHourUsd: 4, ttftEwmaMs: 100, tpotEwmaMs: 10 }),
      replica("batched", { pricePerHourUsd: 4, ttftEwmaMs: 100, tpotEwmaMs: 10, running: 7 }),
    ];
    expect(policy(request([], { maxTokens: 100 }), replicas, context())).toBe(1);
  });
});

describe("lowestCost without a request SLO", () => {
  it("holds requests to the default SLO, so a saturated cheap replica stops getting traffic", () => {
    const cheapIdle = replica("cheap", { pricePerHourUsd: 0.8, ttftEwmaMs: 300, tpotEwmaMs: 25 });
    const cheapSaturated = { ...cheapIdle, outstanding: 40, waiting: 30, running: 64, ttftEwmaMs: 3000 };
    const fast = replica("fast", { pricePerHourUsd: 3, ttftEwmaMs: 80, tpotEwmaMs: 9 });
    const policy = lowestCost();
    expect(policy(request([], { maxTokens: 100 }), [cheapIdle, fast], context())).toBe(0);
    expect(policy(request([], { maxTokens: 100 }), [cheapSaturated, fast], context())).toBe(1);
    // An explicit, looser SLO lets the cheap replica take it (its hour is shared by a 64-sequence batch).
    const loose = request([], { maxTokens: 100, slo: { ttftMs: 60_000 } });
    expect(lowestCost()(loose, [cheapSaturated, fast], context())).toBe(0);
  });
});
