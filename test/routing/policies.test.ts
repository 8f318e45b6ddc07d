import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/core/random.js";
import {
  createPolicy,
  kvAware,
  leastOutstanding,
  lowestCost,
  lowestLatency,
  POLICIES,
  POLICY_NAMES,
  prefixAffinity,
  roundRobin,
  weightedRandom,
} from "../../src/routing/policies/index.js";
import type { ReplicaView } from "../../src/routing/types.js";
import { context, pool, replica, request, tokens } from "./replicas.js";

/** A pool with varied load and observations, so every policy has something to choose on. */
function variedPool(available: readonly boolean[]): ReplicaView[] {
  return available.map((isAvailable, i) =>
    replica(`r${i}`, {
      available: isAvailable,
      weight: i + 1,
      outstanding: (i * 3) % 4,
      waiting: i % 2,
      running: i,
      kvCacheUsage: (i % 3) / 3,
      pricePerHourUsd: 2 + i,
      ttftEwmaMs: i % 2 === 0 ? 100 + 10 * i : undefined,
      tpotEwmaMs: i % 3 === 0 ? undefined : 20 - i,
    }),
  );
}

describe.each(POLICY_NAMES)("%s", (name) => {
  it("never picks an unavailable replica", () => {
    const random = new SeededRandom(name);
    const policy = createPolicy(name);
    const replicas = variedPool([false, true, false, true, true, false]);
    for (let sequence = 0; sequence < 500; sequence++) {
      const req = request(tokens(32, random), {
        maxTokens: 1 + (sequence % 300),
        ...(sequence % 3 === 0 && { slo: { ttftMs: 150 } }),
      });
      const index = policy(req, replicas, context(sequence, random));
      expect(replicas[index]?.available).toBe(true);
    }
  });

  it.each([
    { case: "none available", replicas: variedPool([false, false, false]) },
    { case: "empty pool", replicas: [] },
  ])("returns -1 when $case", ({ replicas }) => {
    const policy = createPolicy(name);
    for (let sequence = 0; sequence < 5; sequence++) {
      expect(policy(request([1, 2, 3]), replicas, context(sequence))).toBe(-1);
    }
  });

  it("picks the only available replica", () => {
    const policy = createPolicy(name);
    const replicas = variedPool([false, false, true, false]);
    expect(policy(request([1, 2, 3], { slo: { e2eMs: 1 } }), replicas, context(3))).toBe(2);
  });
});

describe("registry", () => {
  it("has one factory per name", () => {
    expect(Object.keys(POLICIES).sort()).toEqual([...POLICY_NAMES].sort());
  });

  it.each([
    { name: "lowestLatency queueScale", make: () => lowestLatency({ queueScale: 0 }), error: /queueScale/ },
    { name: "lowestCost priorTtftMs", make: () => lowestCost({ priorTtftMs: -5 }), error: /priorTtftMs/ },
    {
      name: "prefixAffinity loadFactor",
      make: () => prefixAffinity({ loadFactor: 0.9 }),
      error: /loadFactor/,
    },
    { name: "prefixAffinity blockSize", make: () => prefixAffinity({ blockSize: 1.5 }), error: /blockSize/ },
    { name: "kvAware weights", make: () => kvAware({ weights: { queue: -1 } }), error: /weights\.queue/ },
  ])("rejects a bad option at construction: $name", ({ make, error }) => {
    expect(make).toThrow(RangeError);
    expect(make).toThrow(error);
  });
});

describe("round-robin", () => {
  it("rotates exactly through the available replicas", () => {
    const picks = (replicas: ReplicaView[]) =>
      Array.from({ length: 7 }, (_, sequence) => roundRobin(request(), replicas, context(sequence)));
    expect(picks(pool(3))).toEqual([0, 1, 2, 0, 1, 2, 0]);
    const withGap = pool(4);
    withGap[1] = replica("r1", { available: false });
    // The unavailable replica's turns are spread over all the others, not given to its neighbour.
    expect(picks(withGap)).toEqual([0, 2, 3, 0, 2, 3, 0]);
  });
});

describe("weighted-random", () => {
  it("draws each replica in proportion to its weight (10k draws, within 1.5 points)", () => {
    const replicas = [1, 2, 5, 0].map((weight, i) => replica(`r${i}`, { weight }));
    replicas.push(replica("down", { weight: 10, available: false }));
    const random = new SeededRandom(42);
    const counts = [0, 0, 0, 0, 0];
    const draws = 10_000;
    for (let sequence = 0; sequence < draws; sequence++) {
      const i = weightedRandom(request(), replicas, context(sequence, random));
      counts[i] = (counts[i] ?? 0) + 1;
    }
    const shares = counts.map((c) => c / draws);
    [1 / 8, 2 / 8, 5 / 8].forEach((want, i) => {
      expect(Math.abs(shares[i]! - want)).toBeLessThan(0.015);
    });
    expect(counts[3]).toBe(0); // weight 0: standby
    expect(counts[4]).toBe(0); // unavailable
  });

  it("falls back to the standbys (weight 0) when no weighted replica is available", () => {
    const replicas = [replica("a", { weight: 3, available: false }), replica("b", { weight: 0 })];
    replicas.push(replica("c", { weight: 0 }));
    const random = new SeededRandom(3);
    const seen = new Set<number>();
    for (let sequence = 0; sequence < 50; sequence++) {
      seen.add(weightedRandom(request(), replicas, context(sequence, random)));
    }
    expect([...seen].sort()).toEqual([1, 2]);
  });
});

describe("least-outstanding", () => {
  it("picks the replica with the fewest requests in flight", () => {
    const replicas = [4, 2, 7, 3].map((outstanding, i) => replica(`r${i}`, { outstanding }));
    for (let sequence = 0; sequence < 8; sequence++) {
      expect(leastOutstanding(request(), replicas, context(sequence))).toBe(1);
    }
  });

  it("takes tied replicas in turn as the sequence advances", () => {
    const replicas = [1, 5, 1, 1].map((outstanding, i) => replica(`r${i}`, { outstanding }));
    const picks = Array.from({ length: 8 }, (_, sequence) =>
      leastOutstanding(request(), replicas, context(sequence)),
    );
    expect(picks).toEqual([0, 2, 2, 3, 0, 2, 2, 3]);
  });
});
