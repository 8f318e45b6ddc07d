import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/core/random.js";
import { kvAware, prefixAffinity } from "../../src/routing/policies/index.js";
import type { ReplicaView } from "../../src/routing/types.js";
import { context, pool, replica, request, tokens } from "./replicas.js";

describe("prefix-affinity", () => {
  const random = new SeededRandom("prefix");

  it("sends every request with the same prefix to the same replica when there is no load", () => {
    const policy = prefixAffinity();
    const replicas = pool(5);
    for (let p = 0; p < 20; p++) {
      const prefix = tokens(256, random);
      const homes = new Set<number>();
      for (let sequence = 0; sequence < 25; sequence++) {
        homes.add(policy(request(prefix, { suffixLength: 40, random }), replicas, context(sequence)));
      }
      expect(homes.size).toBe(1);
    }
  });

  it("keys on whole KV blocks: prompts that differ only past the last full block of the prefix share a home", () => {
    const policy = prefixAffinity({ prefixTokens: 256, blockSize: 16 });
    const replicas = pool(8);
    for (let p = 0; p < 20; p++) {
      const shared = tokens(240, random); // 15 full blocks
      const homes = new Set(
        [0, 1, 2].map((k) => policy(request([...shared, ...tokens(10, random)]), replicas, context(k))),
      );
      expect(homes.size).toBe(1);
    }
  });

  it("spreads different prefixes roughly evenly", () => {
    const policy = prefixAffinity();
    const replicas = pool(4);
    const counts = [0, 0, 0, 0];
    const n = 8000;
    for (let k = 0; k < n; k++) {
      const i = policy(request(tokens(64, random)), replicas, context(k));
      counts[i] = (counts[i] ?? 0) + 1;
    }
    for (const c of counts) expect(Math.abs(c - n / 4) / (n / 4)).toBeLessThan(0.08);
  });

  it("remaps only the removed replica's keys (consistent hashing)", () => {
    const policy = prefixAffinity();
    const full = pool(5);
    const without = full.filter((r) => r.id !== "r2");
    let moved = 0;
    for (let k = 0; k < 2000; k++) {
      const req = request(tokens(128, random));
      const before = full[policy(req, full, context(k))]!.id;
      const after = without[policy(req, without, context(k))]!.id;
      if (before === "r2") moved++;
      else expect(after).toBe(before);
    }
    expect(moved).toBeGreaterThan(2000 / 5 / 2); // r2 did own a share of the keys, and those moved
  });

  it("keeps an unavailable replica's keys elsewhere and gives them back when it returns", () => {
    const policy = prefixAffinity();
    const replicas = pool(4);
    const req = request(tokens(256, random));
    const home = policy(req, replicas, context());
    const down = replicas.map((r, i) => (i === home ? { ...r, available: false } : r));
    expect(policy(req, down, context())).not.toBe(home);
    expect(policy(req, replicas, context())).toBe(home);
  });

  /** Routes `count` requests of one prefix, none finishing; returns the outstanding per replica after each. */
  function hotPrefix(
    loadFactor: number,
    count: number,
  ): { loads: number[]; bound: (total: number) => number }[] {
    const policy = prefixAffinity({ loadFactor });
    const replicas: ReplicaView[] = pool(5);
    const prefix = tokens(256, random);
    const history: { loads: number[]; bound: (total: number) => number }[] = [];
    for (let k = 0; k < count; k++) {
      const i = policy(request(prefix, { suffixLength: 20, random }), replicas, context(k));
      replicas[i] = { ...replicas[i]!, outstanding: replicas[i]!.outstanding + 1 };
      history.push({
        loads: replicas.map((r) => r.outstanding),
        bound: (total) => Math.ceil((loadFactor * total) / replicas.length),
      });
    }
    return history;
  }

  it("with a hot prefix and the load bound on, no replica exceeds ceil(loadFactor x total / replicas)", () => {
    const history = hotPrefix(1.25, 200);
    for (const { loads, bound } of history) {
      const total = loads.reduce((a, b) => a + b, 0);
      expect(Math.max(...loads)).toBeLessThanOrEqual(bound(total));
    }
    // The hot prefix spills to its next choices, as few as the bound allows: 1/loadFactor of the pool (4 of 5).
    expect(history.at(-1)!.loads.filter((l) => l > 0).length).toBe(4);
  });

  it("without the bound (loadFactor = Infinity), a hot prefix lands entirely on one replica", () => {
    const last = hotPrefix(Number.POSITIVE_INFINITY, 200).at(-1)!.loads;
    expect(Math.max(...last)).toBe(200);
  });
});

describe("kv-aware", () => {
  const random = new SeededRandom("kv");
  const noPrefix = kvAware({ weights: { prefix: 0 } });

  it("prefers the replica with the emptiest KV cache when queues are equal", () => {
    const replicas = [0.9, 0.2, 0.5].map((kvCacheUsage, i) =>
      replica(`r${i}`, { kvCacheUsage, outstanding: 2 }),
    );
    expect(noPrefix(request(tokens(64, random)), replicas, context())).toBe(1);
  });

  it("prefers the shortest queue (waiting + outstanding) when KV usage is equal", () => {
    const replicas = [
      replica("r0", { outstanding: 3, waiting: 2, kvCacheUsage: 0.4 }),
      replica("r1", { outstanding: 1, waiting: 0, kvCacheUsage: 0.4 }),
      replica("r2", { outstanding: 0, waiting: 3, kvCacheUsage: 0.4 }),
    ];
    expect(noPrefix(request(tokens(64, random)), replicas, context())).toBe(1);
  });

  it("prefers the prefix-local replica (the prefix-affinity home) when loads are equal", () => {
    const policy = kvAware();
    const homeOf = prefixAffinity();
    const replicas = pool(6, { outstanding: 3, waiting: 1, kvCacheUsage: 0.5 });
    for (let k = 0; k < 30; k++) {
      const req = request(tokens(256, random), { suffixLength: 10, random });
      expect(policy(req, replicas, context(k))).toBe(homeOf(req, pool(6), context(k)));
    }
  });

  it("moves off the prefix home once it has both the longest queue and a much fuller KV cache", () => {
    const policy = kvAware();
    const req = request(tokens(256, random));
    const home = prefixAffinity()(req, pool(4), context());
    const load = (i: number, kvCacheUsage: number) =>
      replica(`r${i}`, { kvCacheUsage, outstanding: i === home ? 8 : 2 });
    // Longest queue, KV only 0.3 above the rest: a saved prefill is still worth it (2 + 0.6 < 3).
    expect(
      policy(
        req,
        [0, 1, 2, 3].map((i) => load(i, i === home ? 0.6 : 0.3)),
        context(),
      ),
    ).toBe(home);
    // Longest queue and KV 0.6 above the rest: 2 + 1.2 > 3, go elsewhere.
    expect(
      policy(
        req,
        [0, 1, 2, 3].map((i) => load(i, i === home ? 0.9 : 0.3)),
        context(),
      ),
    ).not.toBe(home);
  });
});
