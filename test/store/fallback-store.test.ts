import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/core/clock.js";
import { FallbackStore } from "../../src/store/fallback-store.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { Store, StoreStats } from "../../src/store/store.js";
import { runStoreContract } from "./contract.js";

/** A primary whose outage the test controls: `failing` makes calls throw, `connected` is what it reports. */
class FlakyStore implements Store {
  readonly kind = "redis";
  failing = false;
  connected = true;
  calls = 0;
  readonly inner: MemoryStore;

  constructor(clock: VirtualClock) {
    this.inner = new MemoryStore({ maxBytes: 1_024, clock });
  }

  #run<T>(call: (store: Store) => Promise<T>): Promise<T> {
    this.calls++;
    return this.failing ? Promise.reject(new Error("connection refused")) : call(this.inner);
  }

  get: Store["get"] = (key) => this.#run((s) => s.get(key));
  set: Store["set"] = (key, value, options) => this.#run((s) => s.set(key, value, options));
  setIfAbsent: Store["setIfAbsent"] = (key, value, options) =>
    this.#run((s) => s.setIfAbsent(key, value, options));
  delete: Store["delete"] = (key) => this.#run((s) => s.delete(key));
  increment: Store["increment"] = (key, by, options) => this.#run((s) => s.increment(key, by, options));
  takeTokens: Store["takeTokens"] = (key, request) => this.#run((s) => s.takeTokens(key, request));
  stats(): StoreStats {
    return { errors: 0, connected: this.connected };
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function setup() {
  const clock = new VirtualClock();
  const primary = new FlakyStore(clock);
  const local = new MemoryStore({ maxBytes: 1_024, clock });
  const changes: boolean[] = [];
  const store = new FallbackStore({ primary, local, onStateChange: (up) => changes.push(up) });
  return { clock, primary, local, changes, store };
}

runStoreContract("fallback, primary up", async () => {
  const { clock, store } = setup();
  return { store, advance: (ms) => clock.advance(ms), ttlMs: 1_000 };
});

runStoreContract(
  "fallback, primary down (served locally)",
  async () => {
    const { clock, primary, store } = setup();
    primary.failing = true;
    primary.connected = false;
    // Enter the outage first; the contract then shows local serving is a complete store.
    await store.get("probe");
    return { store, advance: (ms) => clock.advance(ms), ttlMs: 1_000 };
  },
  { degraded: true },
);

describe("FallbackStore", () => {
  it("uses the primary while it answers", async () => {
    const { primary, local, store, changes } = setup();
    await store.set("k", Buffer.from("v"), { ttlMs: 1_000 });
    expect(await primary.inner.get("k")).toBeDefined();
    expect(await local.get("k")).toBeUndefined();
    expect(changes).toEqual([]);
    expect(store.kind).toBe("redis");
  });

  it("serves locally when the primary throws, reporting the transition once", async () => {
    const { primary, store, changes } = setup();
    await store.set("k", Buffer.from("shared"), { ttlMs: 1_000 });
    primary.failing = true;
    expect(await store.get("k")).toBeUndefined(); // a cache miss, not an error
    await store.set("k", Buffer.from("local"), { ttlMs: 1_000 });
    expect((await store.get("k"))?.toString()).toBe("local");
    expect(await store.increment("n", 2, { ttlMs: 1_000 })).toBe(2);
    const bucket = { capacity: 1, ratePerSec: 1, cost: 1, nowMs: 0 };
    expect((await store.takeTokens("b", bucket)).allowed).toBe(true);
    expect((await store.takeTokens("b", bucket)).allowed).toBe(false);
    expect(changes).toEqual([false]);
    expect(store.stats()).toMatchObject({ connected: false, errors: 6 });
  });

  it("skips a primary that reports itself disconnected, so an outage costs no timeouts", async () => {
    const { primary, store } = setup();
    primary.failing = true;
    primary.connected = false;
    await store.get("k");
    const before = primary.calls;
    await store.get("k");
    await store.set("k", Buffer.from("v"), { ttlMs: 1_000 });
    expect(primary.calls).toBe(before);
    expect(store.stats().errors).toBe(1);
  });

  it("goes back to the primary when it answers again, reporting recovery once", async () => {
    const { primary, store, changes } = setup();
    primary.failing = true;
    primary.connected = false;
    await store.get("k");
    primary.failing = false;
    primary.connected = true;
    await store.set("k", Buffer.from("shared"), { ttlMs: 1_000 });
    await store.get("k");
    expect(changes).toEqual([false, true]);
    expect(await primary.inner.get("k")).toBeDefined();
    expect(store.stats().connected).toBe(true);
  });

  it("rethrows bad arguments instead of treating them as an outage", async () => {
    const { store, changes } = setup();
    await expect(store.set("k", Buffer.from("v"), { ttlMs: -1 })).rejects.toThrow(RangeError);
    expect(changes).toEqual([]);
    expect(store.stats().errors).toBe(0);
  });
});
