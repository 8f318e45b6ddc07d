/**
 * Named counters over a sliding window of whole seconds, kept as a ring of one bucket per second: memory is
 * fixed (one number per counter per second) however much traffic passes, and every operation is O(window
 * seconds). This is resilience4j's time-based sliding window ("a circular array of N partial aggregations...
 * every bucket aggregates the outcome of all calls which happen in a certain epoch second"), driven by an
 * explicit `nowMs` instead of a clock so it runs unchanged on the simulator's virtual clock.
 *
 * The window is the current second plus the `windowSeconds - 1` before it, so an event counts for between
 * `windowSeconds - 1` and `windowSeconds` seconds. Each bucket remembers which second it holds, so a bucket left
 * over from an earlier lap of the ring is recognised as stale and never summed. Invariant: `nowMs` does not
 * decrease; an out-of-order time is treated as the latest second seen, so late events are still counted.
 */
export class SlidingCounts<K extends string> {
  readonly #keys: readonly K[];
  readonly #size: number;
  /** The absolute second (floor(nowMs / 1000)) each slot holds; -Infinity when never used. */
  readonly #seconds: Float64Array;
  readonly #counts: Record<K, Float64Array>;
  #latest = Number.NEGATIVE_INFINITY;

  constructor(keys: readonly K[], windowSeconds: number) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new RangeError(`SlidingCounts: windowSeconds must be an integer >= 1, got ${windowSeconds}`);
    }
    this.#keys = keys;
    this.#size = windowSeconds;
    this.#seconds = new Float64Array(windowSeconds).fill(Number.NEGATIVE_INFINITY);
    const counts: Partial<Record<K, Float64Array>> = {};
    for (const key of keys) counts[key] = new Float64Array(windowSeconds);
    this.#counts = counts as Record<K, Float64Array>;
  }

  add(nowMs: number, key: K, amount = 1): void {
    const second = this.#second(nowMs);
    const slot = this.#slot(second);
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      for (const k of this.#keys) this.#counts[k][slot] = 0;
    }
    this.#counts[key][slot] = (this.#counts[key][slot] ?? 0) + amount;
  }

  /** Each counter summed over the window ending at `nowMs`. */
  totals(nowMs: number): Record<K, number> {
    const second = this.#second(nowMs);
    const totals: Partial<Record<K, number>> = {};
    for (const key of this.#keys) totals[key] = 0;
    for (let slot = 0; slot < this.#size; slot++) {
      const held = this.#seconds[slot] ?? Number.NEGATIVE_INFINITY;
      if (held <= second - this.#size || held > second) continue;
      for (const key of this.#keys) totals[key] = (totals[key] ?? 0) + (this.#counts[key][slot] ?? 0);
    }
    return totals as Record<K, number>;
  }

  /** Forgets every event, e.g. when a breaker closes and starts judging the replica afresh. */
  clear(): void {
    this.#seconds.fill(Number.NEGATIVE_INFINITY);
  }

  #second(nowMs: number): number {
    this.#latest = Math.max(this.#latest, Math.floor(nowMs / 1000));
    return this.#latest;
  }

  #slot(second: number): number {
    // The double modulo keeps the slot in range for negative times (a virtual clock may start below zero).
    return ((second % this.#size) + this.#size) % this.#size;
  }
}

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt over the window, e.g. 0.2 = retries may add at most 20% load. */
  ratio: number;
  /** Retries per second always allowed, so a client with little traffic can still retry a transient error. */
  minPerSecond: number;
  /** Length of the sliding window; whole seconds, because the ring has one bucket per second. */
  windowMs: number;
}

/** The budget's view of the current window, for metrics. */
export interface RetryBudgetSnapshot {
  /** First attempts recorded in the window. */
  requests: number;
  /** Retries granted in the window. */
  retries: number;
  /** The cap on retries in the window right now: max(minPerSecond x window seconds, ratio x requests). */
  allowed: number;
}

/**
 * A retry budget: retries are granted only while the retries of the last `windowMs` stay below
 * max(minPerSecond x window seconds, ratio x first attempts in the window). Per-request retry limits alone
 * multiply load during an outage (3 attempts each = 3x the traffic on a fleet that is already failing); a budget
 * bounds the extra load to `ratio` of the offered traffic whatever fails. The model and the defaults are
 * Finagle's RetryBudget (20% of requests on top of 10 retries/s, deposits expiring after 10 s; Oliver, "Retry
 * Budgets", Finagle blog, 2016) and Envoy's cluster retry_budget (budget_percent, default 20%). Finagle keeps a
 * token bucket; counting both kinds of event in per-second buckets gives the same bound with fixed memory and
 * exposes the counts for metrics.
 *
 * Retries are counted against first attempts only (`onRequest`), never against other retries, so a retry that
 * fails and wants another retry draws on the same budget and the total stays bounded.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #counts: SlidingCounts<"requests" | "retries">;

  constructor(options: RetryBudgetOptions) {
    const { ratio, minPerSecond, windowMs } = options;
    if (!Number.isFinite(ratio) || ratio < 0) {
      throw new RangeError(`RetryBudget: ratio must be a finite number >= 0, got ${ratio}`);
    }
    if (!Number.isFinite(minPerSecond) || minPerSecond < 0) {
      throw new RangeError(`RetryBudget: minPerSecond must be a finite number >= 0, got ${minPerSecond}`);
    }
    if (!Number.isInteger(windowMs) || windowMs < 1000 || windowMs % 1000 !== 0) {
      throw new RangeError(
        `RetryBudget: windowMs must be a whole number of seconds >= 1000, got ${windowMs}`,
      );
    }
    const windowSeconds = windowMs / 1000;
    this.#ratio = ratio;
    this.#floor = minPerSecond * windowSeconds;
    this.#counts = new SlidingCounts(["requests", "retries"], windowSeconds);
  }

  /** Records a first attempt: each one earns `ratio` of a retry for the next window. */
  onRequest(nowMs: number): void {
    this.#counts.add(nowMs, "requests");
  }

  /** True, and the retry is recorded, when the budget has room; false when retrying would exceed it. */
  tryRetry(nowMs: number): boolean {
    const { retries, allowed } = this.snapshot(nowMs);
    if (retries >= allowed) return false;
    this.#counts.add(nowMs, "retries");
    return true;
  }

  snapshot(nowMs: number): RetryBudgetSnapshot {
    const { requests, retries } = this.#counts.totals(nowMs);
    return { requests, retries, allowed: Math.max(this.#floor, this.#ratio * requests) };
  }
}
