/**
 * A streaming histogram with log-spaced buckets: memory grows with the logarithm of the value range, not with
 * the number of samples, and every quantile is within `relativeError` of a sample at that rank (the DDSketch
 * construction: Masson, Rim & Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error
 * Guarantees", VLDB 2019). Bucket i holds values in (gamma^(i-1), gamma^i] with gamma = (1 + a) / (1 - a); its
 * estimate 2 gamma^i / (gamma + 1) is within a of every value in it.
 */
export class LogHistogram {
  readonly #gamma: number;
  readonly #logGamma: number;
  readonly #buckets = new Map<number, number>();
  /** Values <= 0 (a TTFT of zero on a zero-latency engine): kept apart, reported as 0. */
  #zeros = 0;
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  /** The least value > 0: where the log-spaced bins start when there are zeros too. */
  #minPositive = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  constructor(options: { relativeError?: number } = {}) {
    const a = options.relativeError ?? 0.005;
    if (!(a > 0 && a < 1)) throw new RangeError(`relativeError must be in (0, 1), got ${a}`);
    this.#gamma = (1 + a) / (1 - a);
    this.#logGamma = Math.log(this.#gamma);
  }

  record(value: number): void {
    if (!Number.isFinite(value)) return;
    this.#count++;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    if (value <= 0) {
      this.#zeros++;
      return;
    }
    if (value < this.#minPositive) this.#minPositive = value;
    const index = Math.ceil(Math.log(value) / this.#logGamma);
    this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + 1);
  }

  get count(): number {
    return this.#count;
  }

  /** Buckets in use: the sketch's memory. */
  get buckets(): number {
    return this.#buckets.size;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /**
   * The value at rank floor(q x (count - 1)) in sorted order (q in [0, 1]), within the relative error; clamped
   * to the exact min and max (returned exactly for q = 0 and q = 1). 0 when empty.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.floor(Math.min(1, Math.max(0, q)) * (this.#count - 1));
    // The extremes are known exactly.
    if (rank === 0) return this.#min;
    if (rank === this.#count - 1) return this.#max;
    if (rank < this.#zeros) return Math.max(this.#min, 0);
    let seen = this.#zeros;
    const indices = [...this.#buckets.keys()].sort((a, b) => a - b);
    for (const index of indices) {
      seen += this.#buckets.get(index)!;
      if (seen > rank) {
        const estimate = (2 * this.#gamma ** index) / (this.#gamma + 1);
        return Math.min(this.#max, Math.max(this.#min, estimate));
      }
    }
    return this.#max;
  }

  /** Adds another sketch's samples; both must have the same relative error (so the same buckets). */
  merge(other: LogHistogram): void {
    if (other.#gamma !== this.#gamma)
      throw new RangeError("cannot merge histograms of different relative error");
    for (const [index, n] of other.#buckets) this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + n);
    this.#zeros += other.#zeros;
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#min = Math.min(this.#min, other.#min);
    this.#minPositive = Math.min(this.#minPositive, other.#minPositive);
    this.#max = Math.max(this.#max, other.#max);
  }

  /**
   * The distribution as at most `bins` log-spaced bins from min to max (for a chart); the counts add up to the
   * sample count. Values <= 0 (a response served from the cache costs 0) count in the first bin, which then
   * starts at the least positive value. Empty when there are no samples.
   */
  bins(bins = 30): Array<{ lower: number; upper: number; count: number }> {
    if (this.#count === 0) return [];
    // A log scale from 0 would put every positive value past the first bin's Infinity-wide ratio.
    const least = this.#min > 0 ? this.#min : this.#minPositive;
    const lo = Math.max(Number.isFinite(least) ? least : 0, Number.MIN_VALUE);
    const hi = Math.max(this.#max, lo);
    const n = hi > lo ? bins : 1;
    const ratio = (hi / lo) ** (1 / n);
    const out = Array.from({ length: n }, (_, i) => ({
      lower: lo * ratio ** i,
      upper: lo * ratio ** (i + 1),
      count: 0,
    }));
    out[0]!.count += this.#zeros;
    for (const [index, count] of this.#buckets) {
      const estimate = Math.min(hi, Math.max(lo, (2 * this.#gamma ** index) / (this.#gamma + 1)));
      const i = hi > lo ? Math.floor(Math.log(estimate / lo) / Math.log(ratio)) : 0;
      out[Math.min(n - 1, Math.max(0, i))]!.count += count;
    }
    return out;
  }

  /** The usual report triple plus mean and count. */
  summary(): { count: number; mean: number; p50: number; p90: number; p99: number } {
    return {
      count: this.#count,
      mean: this.mean,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
    };
  }
}
