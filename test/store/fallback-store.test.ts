import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/core/clock.js";
import { FallbackStore } from "../../src/store/fallback-store.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { Store, StoreStats } from "../../src/store/store.js";
import { runStoreContract } from "./contract.js";

type Mode = "up" | "failing" | "hung";

/**
 * A primary whose outage the test controls. `failing`: calls reject at once (connection refused). `hung`: calls
 * wait, as on a Redis whose process is stopped while its sockets stay open, until the test times them out
 * (`timeOut`, as commandTimeout would) or lets them through (`resume`). `connected` is what it reports: a hung
 * Redis still reports connected.
 */
class FlakyStore implements Store {
  readonly kind = "redis";
  mode: Mode = "up";
  connected = true;
  calls = 0;
  pings = 0;
  readonly inner: MemoryStore;
  readonly #held: Array<{ run: () => Promise<void>; fail: (error: Error) => void }> = [];

  constructor(clock: VirtualClock) {
    this.inner = new MemoryStore({ maxBytes: 1_024, clock });
  }

  #run<T>(call: (store: Store) => Promise<T>): Promise<T> {
    this.calls++;
    if (this.mode === "failing") return Promise.reject(new Error("connection refused"));
    if (this.mode === "up") return call(this.inner);
    return new Promise<T>((resolve, reject) => {
      this.#held.push({ run: () => call(this.inner).then(resolve, reject), fail: reject });
    });
  }

  /** Calls waiting on the hung primary. */
  get waiting(): number {
    return this.#held.length;
  }

  /** The oldest waiting call times out (ioredis's commandTimeout); the write may still run on resume. */
  timeOutOldest(): void {
    const oldest = this.#held[0];
    if (oldest === undefined) throw new Error("nothing waiting");
    oldest.fail(new Error("Command timed out"));
  }

  /** Works through the backlog, answering every waiting call, and answers at once from now on. */
  async resume(): Promise<void> {
    this.mode = "up";
    for (const call of this.#held.splice(0)) await call.run();
  }

  ping(): Promise<void> {
    this.pings++;
    return this.#run(async () => {});
  }

  get: Store["get"] = (key) => this.#run((s) => s.get(key));
  set: Store["set"] = (key, value, options) => this.#run((s) => s.set(key, value, options));
  setIfAbsent: Store["setIfAbsent"] = (key, value, options) =>
    this.#run((s) => s.setIfAbsent(key, value, options));
  delete: Store["delete"] = (key) => this.#run((s) => s.delete(key));
  increment: Store["increment"] = (key, by, options) => this.#run((s) => s.increment(key, by, options));
  takeTokens: Store["takeTokens"] = (key, request) => this.#run((s) => s.takeTokens(key, request));
  hold: Store["hold"] = async (key, options) => {
    const held = await this.#run((s) => s.hold(key, options));
    // The release goes through the primary's own connection (and outage), like the acquire.
    return { count: held.count, release: () => this.#run(() => held.release()) };
  };
  stats(): StoreStats {
    return { errors: 0, connected: this.connected };
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const PROBE_INTERVAL_MS = 1_000;
const PROBE_TIMEOUT_MS = 200;
const TTL = { ttlMs: 60_000 };

function setup() {
  const clock = new VirtualClock();
  const primary = new FlakyStore(clock);
  const local = new MemoryStore({ maxBytes: 1_024, clock });
  const changes: boolean[] = [];
  const store = new FallbackStore({
    primary,
    local,
    onStateChange: (up) => changes.push(up),
    probe: () => primary.ping(),
    probeIntervalMs: PROBE_INTERVAL_MS,
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    schedule: (delayMs, fn) => {
      const timer = clock.setTimer(delayMs, fn);
      return () => clock.clearTimer(timer);
    },
  });
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
    primary.mode = "failing";
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
    await store.set("k", Buffer.from("v"), TTL);
    expect(await primary.inner.get("k")).toBeDefined();
    expect(await local.get("k")).toBeUndefined();
    expect(changes).toEqual([]);
    expect(store.kind).toBe("redis");
  });

  it("serves locally when the primary throws, reporting the transition once", async () => {
    const { primary, store, changes } = setup();
    await store.set("k", Buffer.from("shared"), TTL);
    primary.mode = "failing";
    expect(await store.get("k")).toBeUndefined(); // a cache miss, not an error
    await store.set("k", Buffer.from("local"), TTL);
    expect((await store.get("k"))?.toString()).toBe("local");
    expect(await store.increment("n", 2, TTL)).toBe(2);
    const bucket = { capacity: 1, ratePerSec: 1, cost: 1, nowMs: 0 };
    expect((await store.takeTokens("b", bucket)).allowed).toBe(true);
    expect((await store.takeTokens("b", bucket)).allowed).toBe(false);
    expect(changes).toEqual([false]);
    // Only the first call reached the primary; it is the one error.
    expect(store.stats()).toMatchObject({ connected: false, errors: 1 });
  });

  it("after one timeout, skips a hung primary that still reports itself connected", async () => {
    const { primary, store, changes } = setup();
    primary.mode = "hung";
    const first = store.get("k");
    expect(primary.waiting).toBe(1);
    primary.timeOutOldest();
    expect(await first).toBeUndefined();
    expect(changes).toEqual([false]);
    const before = primary.calls;
    // Every call now settles without touching the primary, however long it stays hung.
    await store.set("k", Buffer.from("v"), TTL);
    expect((await store.get("k"))?.toString()).toBe("v");
    expect(await store.increment("n", 1, TTL)).toBe(1);
    expect(primary.calls).toBe(before);
    expect(primary.connected).toBe(true);
    expect(store.stats()).toMatchObject({ connected: false, errors: 1 });
  });

  it("answers the calls waiting on a hung primary at once when one of them times out", async () => {
    const { primary, store } = setup();
    primary.mode = "hung";
    const settled: string[] = [];
    const calls = [
      store.get("a").then(() => settled.push("get")),
      store.increment("n", 1, TTL).then(() => settled.push("increment")),
      store
        .takeTokens("b", { capacity: 5, ratePerSec: 1, cost: 1, nowMs: 0 })
        .then(() => settled.push("takeTokens")),
      store.set("k", Buffer.from("v"), TTL).then(() => settled.push("set")),
    ];
    expect(primary.waiting).toBe(4);
    // Only the oldest call's timeout fires; the others do not each wait out their own.
    primary.timeOutOldest();
    await Promise.all(calls);
    expect(settled.sort()).toEqual(["get", "increment", "set", "takeTokens"]);
    expect(store.stats().errors).toBe(4);
  });

  it("ignores answers the primary gives after their calls were answered locally", async () => {
    const { primary, store } = setup();
    primary.mode = "hung";
    const waiting = store.increment("n", 5, TTL);
    const failing = store.get("x");
    primary.timeOutOldest(); // the increment times out...
    expect(await waiting).toBe(5);
    expect(await failing).toBeUndefined();
    await primary.resume(); // ...and the get is answered late: nothing happens
    expect(await store.increment("n", 1, TTL)).toBe(6); // still local until a probe succeeds
  });

  it("probes a down primary every probeIntervalMs and returns to it when a probe answers", async () => {
    const { clock, primary, store, changes } = setup();
    primary.mode = "failing";
    primary.connected = false;
    await store.get("k");
    expect(primary.pings).toBe(0);
    await clock.advance(PROBE_INTERVAL_MS - 1);
    expect(primary.pings).toBe(0);
    await clock.advance(1);
    expect(primary.pings).toBe(1);
    await clock.advance(PROBE_INTERVAL_MS);
    expect(primary.pings).toBe(2);
    expect(changes).toEqual([false]);
    primary.mode = "up";
    primary.connected = true;
    await clock.advance(PROBE_INTERVAL_MS);
    expect(primary.pings).toBe(3);
    expect(changes).toEqual([false, true]);
    expect(store.stats().connected).toBe(true);
    // Calls go to the primary again, and no probe is left scheduled.
    await store.set("k", Buffer.from("shared"), TTL);
    expect(await primary.inner.get("k")).toBeDefined();
    expect(clock.pending).toBe(0);
  });

  it("bounds a probe by probeTimeoutMs and runs one at a time; recovers after the hang ends", async () => {
    const { clock, primary, store, changes } = setup();
    primary.mode = "hung";
    const first = store.get("k");
    primary.timeOutOldest();
    await first;
    await clock.advance(PROBE_INTERVAL_MS);
    expect(primary.pings).toBe(1);
    // The probe hangs too; it fails at its timeout, and the next one starts an interval later.
    await clock.advance(PROBE_TIMEOUT_MS - 1);
    expect(clock.pending).toBe(1);
    await clock.advance(1);
    expect(primary.pings).toBe(1);
    await clock.advance(PROBE_INTERVAL_MS);
    expect(primary.pings).toBe(2);
    expect(changes).toEqual([false]);
    // SIGCONT: the backlog (both pings included) is answered; the probe in flight brings the primary back.
    await primary.resume();
    await clock.advance(0);
    expect(changes).toEqual([false, true]);
    expect(clock.pending).toBe(0);
  });

  it("stops probing on close", async () => {
    const { clock, primary, store } = setup();
    primary.mode = "failing";
    await store.get("k");
    expect(clock.pending).toBe(1);
    await store.close();
    expect(clock.pending).toBe(0);
    await clock.advance(10 * PROBE_INTERVAL_MS);
    expect(primary.pings).toBe(0);
  });

  it("rethrows bad arguments instead of treating them as an outage", async () => {
    const { store, changes } = setup();
    await expect(store.set("k", Buffer.from("v"), { ttlMs: -1 })).rejects.toThrow(RangeError);
    await expect(store.hold("k", { ttlMs: 0 })).rejects.toThrow(RangeError);
    expect(changes).toEqual([]);
    expect(store.stats().errors).toBe(0);
  });

  describe("hold: a slot is released where it was counted", () => {
    const count = (s: Store, key: string) => s.increment(key, 0, TTL);

    it("a slot counted on the primary is released there even if the primary is down by then", async () => {
      const { primary, local, store } = setup();
      const slot = await store.hold("slots", TTL);
      expect(slot.count).toBe(1);
      primary.mode = "hung";
      const stuck = store.get("k");
      primary.timeOutOldest();
      await stuck;
      // Down now: the release is sent to the primary but not waited for.
      await slot.release();
      expect(primary.waiting).toBe(2); // the timed-out get, still in the backlog, and the release
      expect(await count(local, "slots")).toBe(0);
      await primary.resume();
      expect(await count(primary.inner, "slots")).toBe(0);
    });

    it("a slot counted locally is released locally after the primary came back", async () => {
      const { clock, primary, local, store } = setup();
      primary.mode = "failing";
      const slot = await store.hold("slots", TTL);
      expect(await count(local, "slots")).toBe(1);
      primary.mode = "up";
      await clock.advance(PROBE_INTERVAL_MS);
      expect(store.stats().connected).toBe(true);
      await slot.release();
      await slot.release();
      expect(await count(local, "slots")).toBe(0);
      expect(await count(primary.inner, "slots")).toBe(0);
    });

    it("a hold the primary grants after it was answered locally is released on the primary at once", async () => {
      const { primary, local, store } = setup();
      primary.mode = "hung";
      const stuck = store.get("k");
      const slot = store.hold("slots", TTL);
      primary.timeOutOldest();
      await stuck;
      expect((await slot).count).toBe(1);
      expect(await count(local, "slots")).toBe(1);
      // Resumed: the hold runs on the primary (+1) and its late answer is released there (-1).
      await primary.resume();
      await new Promise((resolve) => setImmediate(resolve));
      expect(await count(primary.inner, "slots")).toBe(0);
      await (await slot).release();
      expect(await count(local, "slots")).toBe(0);
    });
  });
});
