import type { Random } from "../../src/core/random.js";

export interface ZipfOptions {
  /** Number of distinct items (ranks 1..n). */
  n: number;
  /** Exponent s >= 0: item k is drawn with probability proportional to k^-s (s = 0 is uniform). */
  exponent: number;
}

/**
 * A Zipf distribution over n items, the usual model of how popular repeated requests are (Breslau et al.,
 * "Web Caching and Zipf-like Distributions", INFOCOM 1999, found s between 0.64 and 0.83 for web proxies).
 * Items are 0-based indices: index 0 is rank 1, the most popular. Sampling is by inversion: one uniform draw,
 * then a binary search of the precomputed cumulative weights, O(log n) per draw and O(n) memory.
 */
export class ZipfDistribution {
  readonly n: number;
  readonly exponent: number;
  /** Probability of each index; sums to 1. */
  readonly probabilities: readonly number[];
  /** cumulative[i] = P(index <= i); the last entry is exactly 1. */
  readonly #cumulative: Float64Array;

  constructor(options: ZipfOptions) {
    const { n, exponent } = options;
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be an integer >= 1, got ${n}`);
    if (!(Number.isFinite(exponent) && exponent >= 0)) {
      throw new RangeError(`exponent must be a number >= 0, got ${exponent}`);
    }
    this.n = n;
    this.exponent = exponent;
    const weights = Array.from({ length: n }, (_, i) => (i + 1) ** -exponent);
    const total = weights.reduce((sum, w) => sum + w, 0);
    this.probabilities = Object.freeze(weights.map((w) => w / total));
    this.#cumulative = new Float64Array(n);
    let running = 0;
    for (let i = 0; i < n; i++) {
      running += weights[i]!;
      this.#cumulative[i] = running / total;
    }
    // Rounding can leave the sum a hair below 1; a draw u in [0, 1) must always find an index.
    this.#cumulative[n - 1] = 1;
  }

  /** The index whose cumulative interval holds `u` in [0, 1): the smallest i with cumulative[i] > u. */
  indexOf(u: number): number {
    if (!(u >= 0 && u < 1)) throw new RangeError(`u must be in [0, 1), got ${u}`);
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  sample(random: Random): number {
    return this.indexOf(random.next());
  }

  /**
   * Expected share of `draws` independent draws whose item was already drawn earlier in the sequence: what an
   * unbounded cache that never expires would serve. Distinct items expected = sum over i of 1 - (1 - p_i)^draws.
   */
  expectedRepeatShare(draws: number): number {
    if (!(Number.isInteger(draws) && draws >= 0)) {
      throw new RangeError(`draws must be an integer >= 0, got ${draws}`);
    }
    if (draws === 0) return 0;
    let distinct = 0;
    // log1p keeps (1 - p)^draws accurate for the tiny p of the tail.
    for (const p of this.probabilities) distinct += 1 - Math.exp(draws * Math.log1p(-p));
    return (draws - distinct) / draws;
  }
}

/** Share of a sequence's items that already occurred earlier in it (0 for an empty sequence). */
export function repeatShare(sequence: readonly number[]): number {
  if (sequence.length === 0) return 0;
  return (sequence.length - new Set(sequence).size) / sequence.length;
}
