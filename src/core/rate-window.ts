import type { Clock } from "./clock.js";

/**
 * Events per second over a sliding window of whole seconds (a ring of per-second buckets), for gauges such as
 * a replica's tokens/s. O(1) per add; memory is one number per bucket.
 */
export class RateWindow {
  readonly #clock: Clock;
  readonly #buckets: Float64Array;
  readonly #bucketMs: number;
  #head = 0;
  #headStart: number;

  constructor(options: { clock: Clock; windowSeconds?: number }) {
    this.#clock = options.clock;
    this.#buckets = new Float64Array(options.windowSeconds ?? 10);
    this.#bucketMs = 1000;
    this.#headStart = Math.floor(this.#clock.now() / this.#bucketMs) * this.#bucketMs;
  }

  add(amount: number): void {
    this.#rotate();
    this.#buckets[this.#head] = (this.#buckets[this.#head] ?? 0) + amount;
  }

  /** Average rate per second over the window. */
  perSecond(): number {
    this.#rotate();
    let sum = 0;
    for (const v of this.#buckets) sum += v;
    return sum / this.#buckets.length;
  }

  #rotate(): void {
    const now = this.#clock.now();
    const steps = Math.floor((now - this.#headStart) / this.#bucketMs);
    if (steps <= 0) return;
    const n = this.#buckets.length;
    for (let k = 0; k < Math.min(steps, n); k++) {
      this.#head = (this.#head + 1) % n;
      this.#buckets[this.#head] = 0;
    }
    this.#headStart += steps * this.#bucketMs;
  }
}
