/**
 * What gateway replicas share: cache entries, single-flight leases, challenge ids, counters and rate-limit
 * buckets. The embedded default keeps them in memory; a fleet shares them through Redis. Both pass one
 * contract suite (test/store/contract.ts). Keys are opaque; a key holds one kind of value (bytes, a counter
 * or a bucket) and callers keep those namespaces apart.
 */
export interface Store {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, options: { ttlMs: number }): Promise<void>;
  /** Sets only when absent; true when this call set it (single-flight leases, challenge ids). */
  setIfAbsent(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Atomically adds `by` to a counter that expires `ttlMs` after creation; returns the new value. */
  increment(key: string, by: number, options: { ttlMs: number }): Promise<number>;
  /**
   * Counts one holder on a counter (a concurrency slot): increment by 1, and a release that takes it off again
   * on the store that counted it, even if a fallback store has switched sides in between (releasing on the
   * other side would leave the slot held on one and a negative count on the other).
   */
  hold(key: string, options: { ttlMs: number }): Promise<Hold>;
  /**
   * Atomic token bucket: refills `ratePerSec` up to `capacity`, takes `cost` if available. `nowMs` is the
   * caller's time (epoch milliseconds when replicas share the bucket); `remaining` is whole tokens left.
   */
  takeTokens(key: string, request: TokenRequest): Promise<TokenResult>;
  /** Entries and bytes held (memory store; Redis reports what it can cheaply, or undefined). */
  stats(): StoreStats;
  close(): Promise<void>;
}

export interface Hold {
  /** The counter's value with this holder counted. */
  count: number;
  /** Takes this holder off the counter; the second and later calls do nothing. */
  release(): Promise<void>;
}

export interface TokenRequest {
  capacity: number;
  ratePerSec: number;
  cost: number;
  nowMs: number;
  /**
   * Debit: always take `cost`, letting the balance go below zero (down to -capacity), for charging usage known
   * only afterwards (completion tokens). Later takes wait until the debt is refilled.
   */
  force?: boolean;
}

export interface TokenResult {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

export interface StoreStats {
  entries?: number;
  bytes?: number;
  evictions?: number;
  errors: number;
  connected: boolean;
}

/**
 * Bad arguments are the caller's bug, not an outage: they are thrown as RangeError before any I/O, and the
 * fallback store rethrows them instead of serving locally.
 */
export function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`store: ttlMs must be a positive finite number of milliseconds, got ${ttlMs}`);
  }
  // Redis PX takes whole milliseconds; rounding up never expires an entry early.
  return Math.ceil(ttlMs);
}

export function checkIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) {
    throw new RangeError(`store: increment 'by' must be a safe integer (Redis INCRBY), got ${by}`);
  }
}

/** hold() over a store's own increment: the release decrements the same counter, once. */
export async function holdByIncrement(store: Store, key: string, options: { ttlMs: number }): Promise<Hold> {
  const count = await store.increment(key, 1, options);
  let released = false;
  return {
    count,
    release: async () => {
      if (released) return;
      released = true;
      await store.increment(key, -1, options);
    },
  };
}

/** Bucket state; `updatedMs` is the caller's `nowMs` at the last take. */
export interface BucketState {
  tokens: number;
  updatedMs: number;
}

export function checkTokenRequest(request: TokenRequest): void {
  const { capacity, ratePerSec, cost, nowMs } = request;
  if (!Number.isFinite(capacity) || capacity <= 0) {
    throw new RangeError(`store: takeTokens 'capacity' must be a positive number, got ${capacity}`);
  }
  if (!Number.isFinite(ratePerSec) || ratePerSec <= 0) {
    throw new RangeError(`store: takeTokens 'ratePerSec' must be a positive number, got ${ratePerSec}`);
  }
  // A cost above capacity could never be granted, so retryAfterMs would be a lie.
  if (!Number.isFinite(cost) || cost < 0 || cost > capacity) {
    throw new RangeError(
      `store: takeTokens 'cost' must be between 0 and capacity (${capacity}), got ${cost}`,
    );
  }
  if (!Number.isFinite(nowMs)) {
    throw new RangeError(`store: takeTokens 'nowMs' must be a finite number, got ${nowMs}`);
  }
}

/** After this long untouched a bucket is full again, so forgetting it changes nothing. */
export function bucketTtlMs(request: TokenRequest): number {
  return Math.max(1, Math.ceil((request.capacity / request.ratePerSec) * 1000));
}

/**
 * Pure refill-then-take. The Lua script in redis-store.ts does the same arithmetic; keep them in step.
 * Time running backwards (skewed replica clocks) refills nothing rather than draining.
 */
export function takeFromBucket(
  state: BucketState | undefined,
  request: TokenRequest,
): { state: BucketState; result: TokenResult } {
  const { capacity, ratePerSec, cost, nowMs } = request;
  const elapsedMs = state === undefined ? 0 : Math.max(0, nowMs - state.updatedMs);
  const start = state === undefined ? capacity : state.tokens;
  let tokens = Math.min(capacity, start + (elapsedMs * ratePerSec) / 1000);
  const allowed = request.force === true || tokens >= cost;
  if (allowed) tokens = Math.max(-capacity, tokens - cost);
  const retryAfterMs = allowed ? 0 : Math.ceil(((cost - tokens) / ratePerSec) * 1000);
  return {
    state: { tokens, updatedMs: Math.max(nowMs, state?.updatedMs ?? nowMs) },
    result: { allowed, remaining: Math.max(0, Math.floor(tokens)), retryAfterMs },
  };
}
