import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/core/clock.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { runStoreContract } from "./contract.js";

const MAX_BYTES = 4_096;

runStoreContract(
  "memory",
  async () => {
    const clock = new VirtualClock();
    return {
      store: new MemoryStore({ maxBytes: MAX_BYTES, clock }),
      advance: (ms) => clock.advance(ms),
      ttlMs: 1_000,
    };
  },
  { maxBytes: MAX_BYTES },
);

describe("MemoryStore", () => {
  const make = (maxBytes = 100, maxCounters?: number) => {
    const clock = new VirtualClock();
    return { clock, store: new MemoryStore({ maxBytes, maxCounters, clock }) };
  };

  it("counts key and value bytes, and evictions", async () => {
    const { store } = make(100);
    await store.set("k1", Buffer.alloc(38), { ttlMs: 1_000 }); // 40 bytes
    await store.set("k2", Buffer.alloc(38), { ttlMs: 1_000 }); // 80 bytes
    expect(store.stats()).toMatchObject({ entries: 2, bytes: 80, evictions: 0 });
    await store.get("k1"); // k2 is now least recently used
    await store.set("k3", Buffer.alloc(38), { ttlMs: 1_000 });
    expect(store.stats()).toMatchObject({ entries: 2, bytes: 80, evictions: 1 });
    expect(await store.get("k2")).toBeUndefined();
    expect(await store.get("k1")).toBeDefined();
  });

  it("does not count deletes, overwrites or expiry as evictions", async () => {
    const { store, clock } = make(100);
    await store.set("a", Buffer.alloc(10), { ttlMs: 1_000 });
    await store.set("a", Buffer.alloc(10), { ttlMs: 1_000 });
    await store.set("b", Buffer.alloc(10), { ttlMs: 10 });
    await store.delete("a");
    clock.advanceSync(11);
    expect(await store.get("b")).toBeUndefined();
    expect(store.stats()).toMatchObject({ evictions: 0, bytes: 0 });
  });

  it("refuses a value larger than the whole bound", async () => {
    const { store } = make(100);
    expect(await store.setIfAbsent("huge", Buffer.alloc(200), { ttlMs: 1_000 })).toBe(false);
    await store.set("huge", Buffer.alloc(200), { ttlMs: 1_000 });
    expect(await store.get("huge")).toBeUndefined();
    expect(store.stats().bytes).toBe(0);
  });

  it("expires on the injected clock, not the wall clock", async () => {
    const { store, clock } = make();
    await store.set("k", Buffer.from("v"), { ttlMs: 50 });
    clock.advanceSync(50);
    expect(await store.get("k")).toBeDefined();
    clock.advanceSync(1);
    expect(await store.get("k")).toBeUndefined();
  });

  it("bounds counters and buckets by count", async () => {
    const { store } = make(100, 2);
    await store.increment("a", 1, { ttlMs: 1_000 });
    await store.increment("b", 1, { ttlMs: 1_000 });
    await store.takeTokens("c", { capacity: 1, ratePerSec: 1, cost: 1, nowMs: 0 });
    expect(await store.increment("a", 1, { ttlMs: 1_000 })).toBe(1);
  });

  it("validates its options, naming the field", () => {
    const clock = new VirtualClock();
    expect(() => new MemoryStore({ maxBytes: 0, clock })).toThrow(/maxBytes/);
    expect(() => new MemoryStore({ maxBytes: 10, maxCounters: 1.5, clock })).toThrow(/maxCounters/);
  });
});
