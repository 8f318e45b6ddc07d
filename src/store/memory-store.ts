import { LRUCache } from "lru-cache";
import type { Clock } from "../core/clock.js";
import {
  type BucketState,
  bucketTtlMs,
  checkIncrement,
  checkTokenRequest,
  checkTtl,
  type Hold,
  holdByIncrement,
  type Store,
  type StoreStats,
  type TokenRequest,
  type TokenResult,
  takeFromBucket,
} from "./store.js";

export interface MemoryStoreOptions {
  /** Upper bound on the bytes held by values (plus their keys). */
  maxBytes: number;
  /** Upper bound on counters plus token buckets, which are small and fixed-size. */
  maxCounters?: number;
  clock: Clock;
}

export const DEFAULT_MAX_COUNTERS = 100_000;

type CounterEntry = { kind: "counter"; value: number } | { kind: "bucket"; bucket: BucketState };

/**
 * The embedded default: two lru-caches, one bounded by bytes for values and one bounded by count for
 * counters and buckets. TTLs follow the injected clock through lru-cache's `perf` option. Every method
 * completes synchronously; the promises only match the shared interface.
 */
export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly maxBytes: number;
  readonly #values: LRUCache<string, Buffer>;
  readonly #counters: LRUCache<string, CounterEntry>;
  #evictions = 0;

  constructor(options: MemoryStoreOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) {
      throw new RangeError(`memory store: maxBytes must be a positive integer, got ${options.maxBytes}`);
    }
    const maxCounters = options.maxCounters ?? DEFAULT_MAX_COUNTERS;
    if (!Number.isSafeInteger(maxCounters) || maxCounters <= 0) {
      throw new RangeError(`memory store: maxCounters must be a positive integer, got ${maxCounters}`);
    }
    this.maxBytes = options.maxBytes;
    // lru-cache treats a start time of 0 as "no TTL" (a VirtualClock starts at 0), so its timeline is
    // shifted to begin at 1; only differences matter. ttlResolution 0: lru-cache otherwise caches now()
    // behind a real setTimeout, which a virtual clock would not move.
    const clock = options.clock;
    const origin = clock.now() - 1;
    const perf = { now: () => clock.now() - origin };
    this.#values = new LRUCache<string, Buffer>({
      maxSize: options.maxBytes,
      // Keys count too, so a flood of tiny values cannot grow memory without bound. Sizes must be >= 1.
      sizeCalculation: (value, key) => Math.max(1, value.byteLength + Buffer.byteLength(key)),
      perf,
      ttlResolution: 0,
      dispose: (_value, _key, reason) => {
        if (reason === "evict") this.#evictions++;
      },
    });
    this.#counters = new LRUCache<string, CounterEntry>({ max: maxCounters, perf, ttlResolution: 0 });
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.#values.get(key);
  }

  async set(key: string, value: Buffer, options: { ttlMs: number }): Promise<void> {
    this.#values.set(key, value, { ttl: checkTtl(options.ttlMs) });
  }

  async setIfAbsent(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean> {
    const ttl = checkTtl(options.ttlMs);
    if (this.#values.has(key)) return false;
    this.#values.set(key, value, { ttl });
    // An entry larger than maxBytes is refused by lru-cache; report that honestly.
    return this.#values.has(key);
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
  }

  async increment(key: string, by: number, options: { ttlMs: number }): Promise<number> {
    checkIncrement(by);
    const ttl = checkTtl(options.ttlMs);
    const entry = this.#counters.get(key);
    if (entry?.kind === "counter") {
      // Mutated in place: the expiry stays the one set at creation.
      entry.value += by;
      return entry.value;
    }
    this.#counters.set(key, { kind: "counter", value: by }, { ttl });
    return by;
  }

  hold(key: string, options: { ttlMs: number }): Promise<Hold> {
    return holdByIncrement(this, key, options);
  }

  async takeTokens(key: string, request: TokenRequest): Promise<TokenResult> {
    checkTokenRequest(request);
    const entry = this.#counters.get(key);
    const { state, result } = takeFromBucket(entry?.kind === "bucket" ? entry.bucket : undefined, request);
    this.#counters.set(key, { kind: "bucket", bucket: state }, { ttl: bucketTtlMs(request) });
    return result;
  }

  stats(): StoreStats {
    return {
      entries: this.#values.size + this.#counters.size,
      bytes: this.#values.calculatedSize,
      evictions: this.#evictions,
      errors: 0,
      connected: true,
    };
  }

  async close(): Promise<void> {
    this.#values.clear();
    this.#counters.clear();
  }
}
