import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";

export interface StoreHarness {
  store: Store;
  /** Moves the store's time forward: a virtual clock for memory, a real wait for Redis. */
  advance(ms: number): Promise<void>;
  /** A TTL long enough to outlast a few calls and short enough to wait out (Redis time is real). */
  ttlMs: number;
  cleanup?(): Promise<void>;
}

/** Every Store implementation passes this suite; a new one gets it for a few lines. */
export function runStoreContract(
  name: string,
  makeStore: () => Promise<StoreHarness>,
  /** A store bounded by bytes says so here (its maxBytes), and the eviction case is registered for it. */
  capabilities: {
    maxBytes?: number;
    /** Serving through an outage (fallback store): health reports disconnected, the data path still works. */
    degraded?: boolean;
  } = {},
): void {
  const { maxBytes, degraded = false } = capabilities;
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;

    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup?.();
      await store.close();
    });

    it("round-trips binary values and overwrites", async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      expect(await store.get("missing")).toBeUndefined();
      await store.set("bin", bytes, { ttlMs: 60_000 });
      expect((await store.get("bin"))?.equals(bytes)).toBe(true);
      await store.set("bin", Buffer.from("second"), { ttlMs: 60_000 });
      expect((await store.get("bin"))?.toString()).toBe("second");
      await store.set("empty", Buffer.alloc(0), { ttlMs: 60_000 });
      expect((await store.get("empty"))?.length).toBe(0);
    });

    it("expires values after their TTL", async () => {
      await store.set("short", Buffer.from("v"), { ttlMs: h.ttlMs });
      await store.set("long", Buffer.from("v"), { ttlMs: 60_000 });
      expect(await store.get("short")).toBeDefined();
      await h.advance(h.ttlMs * 1.5);
      expect(await store.get("short")).toBeUndefined();
      expect(await store.get("long")).toBeDefined();
    });

    it("deletes, and deleting a missing key is fine", async () => {
      await store.set("k", Buffer.from("v"), { ttlMs: 60_000 });
      await store.delete("k");
      await store.delete("never-set");
      expect(await store.get("k")).toBeUndefined();
    });

    it("setIfAbsent sets once, until deleted or expired", async () => {
      expect(await store.setIfAbsent("lease", Buffer.from("a"), { ttlMs: h.ttlMs })).toBe(true);
      expect(await store.setIfAbsent("lease", Buffer.from("b"), { ttlMs: h.ttlMs })).toBe(false);
      expect((await store.get("lease"))?.toString()).toBe("a");
      await h.advance(h.ttlMs * 1.5);
      expect(await store.setIfAbsent("lease", Buffer.from("c"), { ttlMs: 60_000 })).toBe(true);
      await store.delete("lease");
      expect(await store.setIfAbsent("lease", Buffer.from("d"), { ttlMs: 60_000 })).toBe(true);
      expect((await store.get("lease"))?.toString()).toBe("d");
    });

    it("concurrent setIfAbsent calls: exactly one wins", async () => {
      const wins = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.setIfAbsent("race", Buffer.from(String(i)), { ttlMs: 60_000 }),
        ),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it("increments atomically, per key", async () => {
      expect(await store.increment("c", 1, { ttlMs: 60_000 })).toBe(1);
      expect(await store.increment("c", 2, { ttlMs: 60_000 })).toBe(3);
      expect(await store.increment("c", -1, { ttlMs: 60_000 })).toBe(2);
      expect(await store.increment("other", 5, { ttlMs: 60_000 })).toBe(5);
      const all = await Promise.all(
        Array.from({ length: 20 }, () => store.increment("p", 1, { ttlMs: 60_000 })),
      );
      expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it("a counter expires ttlMs after creation; later increments do not extend it", async () => {
      await store.increment("w", 1, { ttlMs: h.ttlMs });
      await h.advance(h.ttlMs * 0.6);
      expect(await store.increment("w", 1, { ttlMs: h.ttlMs })).toBe(2);
      await h.advance(h.ttlMs * 0.6);
      expect(await store.increment("w", 1, { ttlMs: h.ttlMs })).toBe(1);
    });

    it("hold counts a holder; its release takes it off once", async () => {
      const ttl = { ttlMs: 60_000 };
      const a = await store.hold("slots", ttl);
      const b = await store.hold("slots", ttl);
      expect([a.count, b.count]).toEqual([1, 2]);
      await a.release();
      await a.release();
      expect((await store.hold("slots", ttl)).count).toBe(2);
      await b.release();
      expect(await store.increment("slots", 0, ttl)).toBe(1);
      await expect(store.hold("slots", { ttlMs: 0 })).rejects.toThrow(RangeError);
    });

    it("token bucket: allows up to capacity, denies with retryAfter, refills at the rate", async () => {
      const req = { capacity: 3, ratePerSec: 2, cost: 1 };
      const take = (nowMs: number, cost = 1) => store.takeTokens("b", { ...req, cost, nowMs });
      expect(await take(10_000)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      expect(await take(10_000)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
      expect(await take(10_000)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
      expect(await take(10_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 500 });
      expect(await take(10_250)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 250 });
      expect(await take(10_500)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
      expect(await take(10_500, 3)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1500 });
      // Refill stops at capacity however long the bucket sat idle.
      expect(await take(11_000 + 60_000, 0)).toEqual({ allowed: true, remaining: 3, retryAfterMs: 0 });
      // Buckets are per key.
      expect(await store.takeTokens("b2", { ...req, cost: 3, nowMs: 10_000 })).toMatchObject({
        allowed: true,
      });
    });

    it("token bucket: a forced debit goes below zero (bounded) and later takes wait for the debt", async () => {
      const req = { capacity: 10, ratePerSec: 10 };
      expect(await store.takeTokens("d", { ...req, cost: 4, nowMs: 1_000 })).toMatchObject({
        allowed: true,
        remaining: 6,
      });
      // Usage known afterwards: 8 more, though only 6 are left.
      expect(await store.takeTokens("d", { ...req, cost: 8, nowMs: 1_000, force: true })).toEqual({
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
      // Balance -2: one token needs 300 ms of refill.
      expect(await store.takeTokens("d", { ...req, cost: 1, nowMs: 1_000 })).toEqual({
        allowed: false,
        remaining: 0,
        retryAfterMs: 300,
      });
      // The debt never exceeds one bucket.
      await store.takeTokens("d", { ...req, cost: 10, nowMs: 1_000, force: true });
      await store.takeTokens("d", { ...req, cost: 10, nowMs: 1_000, force: true });
      expect(await store.takeTokens("d", { ...req, cost: 1, nowMs: 1_000 })).toMatchObject({
        retryAfterMs: 1_100,
      });
    });

    it("token bucket: concurrent takes never overdraw", async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.takeTokens("burst", { capacity: 4, ratePerSec: 1, cost: 1, nowMs: 5_000 }),
        ),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(4);
    });

    it("rejects bad arguments with a RangeError naming the field", async () => {
      await expect(store.set("k", Buffer.from("v"), { ttlMs: 0 })).rejects.toThrow(/ttlMs/);
      await expect(store.increment("k", 1.5, { ttlMs: 1_000 })).rejects.toThrow(RangeError);
      await expect(store.takeTokens("k", { capacity: 1, ratePerSec: 1, cost: 2, nowMs: 0 })).rejects.toThrow(
        /cost/,
      );
      await expect(store.takeTokens("k", { capacity: 1, ratePerSec: 0, cost: 1, nowMs: 0 })).rejects.toThrow(
        /ratePerSec/,
      );
    });

    it("reports its health in stats", () => {
      const stats = store.stats();
      expect(stats.connected).toBe(!degraded);
      if (!degraded) expect(stats.errors).toBe(0);
    });

    // Registered only for bounded stores, so an unbounded one shows no skipped test.
    if (maxBytes !== undefined) {
      it("stays within its byte bound, evicting least recently used", async () => {
        const value = Buffer.alloc(Math.ceil(maxBytes / 4));
        for (let i = 0; i < 8; i++) await store.set(`big${i}`, value, { ttlMs: 60_000 });
        const stats = store.stats();
        expect(stats.bytes).toBeLessThanOrEqual(maxBytes);
        expect(stats.evictions).toBeGreaterThan(0);
        expect(await store.get("big0")).toBeUndefined();
        expect(await store.get("big7")).toBeDefined();
      });
    }
  });
}
