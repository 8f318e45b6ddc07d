import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/core/random.js";
import { backoffDelayMs } from "../../src/routing/backoff.js";

const options = { baseMs: 25, maxMs: 1_000 };

/** A Random that returns a fixed value, to hit the ends of the jitter interval exactly. */
const fixed = (value: number) => ({ next: () => value });

describe("backoffDelayMs", () => {
  it.each([
    // attempt, ceiling = min(maxMs, baseMs x 2^attempt)
    [0, 25],
    [1, 50],
    [2, 100],
    [3, 200],
    [5, 800],
    [6, 1_000],
    [10, 1_000],
    [2_000, 1_000],
  ])("attempt %i draws uniformly in [0, %i)", (attempt, ceiling) => {
    expect(backoffDelayMs(attempt, options, fixed(0))).toBe(0);
    expect(backoffDelayMs(attempt, options, fixed(0.5))).toBe(ceiling / 2);
    expect(backoffDelayMs(attempt, options, fixed(1 - 2 ** -32))).toBeLessThan(ceiling);

    const random = new SeededRandom(`bounds-${attempt}`);
    const draws = 20_000;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < draws; i++) {
      const delay = backoffDelayMs(attempt, options, random);
      min = Math.min(min, delay);
      max = Math.max(max, delay);
      sum += delay;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(ceiling);
    // The draws fill the interval: none of it is unreachable.
    expect(min).toBeLessThan(0.01 * ceiling);
    expect(max).toBeGreaterThan(0.99 * ceiling);
    // Full jitter: the mean is half the ceiling. The standard error of the mean of U(0, c) over 20k draws is
    // c / sqrt(12 x 20k) ~ 0.2% of c, so 2% is a wide margin that still catches a wrong formula.
    expect(Math.abs(sum / draws - ceiling / 2)).toBeLessThan(0.02 * ceiling);
  });

  it("grows the mean delay geometrically until the cap", () => {
    const random = new SeededRandom("growth");
    const means = [0, 1, 2, 3].map((attempt) => {
      let sum = 0;
      for (let i = 0; i < 20_000; i++) sum += backoffDelayMs(attempt, options, random);
      return sum / 20_000;
    });
    for (let i = 1; i < means.length; i++) {
      const ratio = means[i]! / means[i - 1]!;
      expect(ratio).toBeGreaterThan(1.9);
      expect(ratio).toBeLessThan(2.1);
    }
  });

  it("is reproducible from the seed", () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    const seq = (r: SeededRandom) => [0, 1, 2, 3].map((n) => backoffDelayMs(n, options, r));
    expect(seq(a)).toEqual(seq(b));
  });

  it("gives 0 with a zero base, even for huge attempts", () => {
    expect(backoffDelayMs(5_000, { baseMs: 0, maxMs: 0 }, fixed(0.7))).toBe(0);
  });

  it.each([
    [-1, options, /attempt must be an integer >= 0, got -1/],
    [1.5, options, /attempt must be an integer >= 0, got 1.5/],
    [0, { baseMs: -1, maxMs: 10 }, /baseMs must be a finite number >= 0, got -1/],
    [0, { baseMs: 100, maxMs: 10 }, /maxMs must be a finite number >= baseMs \(100\), got 10/],
    [0, { baseMs: 1, maxMs: Number.POSITIVE_INFINITY }, /maxMs must be a finite number/],
  ])("rejects attempt %s with %o", (attempt, opts, message) => {
    expect(() => backoffDelayMs(attempt, opts, fixed(0))).toThrow(message);
  });
});
