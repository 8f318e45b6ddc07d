import { describe, expect, it } from "vitest";
import { repeatShare, ZipfDistribution } from "../../bench/lib/zipf.js";
import { SeededRandom } from "../../src/core/random.js";

describe("ZipfDistribution", () => {
  it("gives item k a probability proportional to k^-s", () => {
    const zipf = new ZipfDistribution({ n: 4, exponent: 1 });
    // H(4, 1) = 1 + 1/2 + 1/3 + 1/4 = 25/12.
    const expected = [1, 1 / 2, 1 / 3, 1 / 4].map((w) => w / (25 / 12));
    for (const [i, p] of zipf.probabilities.entries()) expect(p).toBeCloseTo(expected[i]!, 12);
    expect(zipf.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("is uniform at exponent 0", () => {
    const zipf = new ZipfDistribution({ n: 5, exponent: 0 });
    expect(zipf.probabilities).toEqual([0.2, 0.2, 0.2, 0.2, 0.2]);
    expect([0, 0.19, 0.2, 0.59, 0.6, 0.999].map((u) => zipf.indexOf(u))).toEqual([0, 0, 1, 2, 3, 4]);
  });

  it("maps u in [0, 1) onto the cumulative intervals, edges included", () => {
    const zipf = new ZipfDistribution({ n: 3, exponent: 1 });
    // Cumulative: 6/11, 9/11, 1.
    expect(zipf.indexOf(0)).toBe(0);
    expect(zipf.indexOf(6 / 11 - 1e-12)).toBe(0);
    expect(zipf.indexOf(6 / 11 + 1e-12)).toBe(1);
    expect(zipf.indexOf(9 / 11 + 1e-12)).toBe(2);
    expect(zipf.indexOf(1 - 2 ** -32)).toBe(2);
    expect(new ZipfDistribution({ n: 1, exponent: 1.2 }).indexOf(0.5)).toBe(0);
  });

  it("draws each rank with its analytic frequency (seeded run)", () => {
    const zipf = new ZipfDistribution({ n: 100, exponent: 1.1 });
    const random = new SeededRandom(7);
    const draws = 200_000;
    const counts = new Array<number>(zipf.n).fill(0);
    for (let i = 0; i < draws; i++) counts[zipf.sample(random)]!++;
    let chiSquare = 0;
    zipf.probabilities.forEach((p, i) => {
      const observed = counts[i]! / draws;
      // Binomial sd of a frequency is sqrt(p(1-p)/draws); 5 sd leaves no room for a wrong rank.
      expect(Math.abs(observed - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / draws));
      chiSquare += (counts[i]! - draws * p) ** 2 / (draws * p);
    });
    // 99 degrees of freedom: the 0.999 quantile of chi-square is about 149.
    expect(chiSquare).toBeLessThan(149);
    expect(counts[0]! / draws).toBeCloseTo(zipf.probabilities[0]!, 2);
  });

  it("is reproducible from the random source", () => {
    const zipf = new ZipfDistribution({ n: 1000, exponent: 1 });
    const run = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 50 }, () => zipf.sample(random));
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it("predicts the share of repeated draws", () => {
    // Two equally likely items, two draws: the second repeats the first half the time, so 1/4 of all draws.
    expect(new ZipfDistribution({ n: 2, exponent: 0 }).expectedRepeatShare(2)).toBeCloseTo(0.25, 12);
    expect(new ZipfDistribution({ n: 1, exponent: 1 }).expectedRepeatShare(10)).toBeCloseTo(0.9, 12);
    expect(new ZipfDistribution({ n: 10, exponent: 1 }).expectedRepeatShare(0)).toBe(0);

    const zipf = new ZipfDistribution({ n: 1000, exponent: 1 });
    const random = new SeededRandom(11);
    const runs = 200;
    let total = 0;
    for (let r = 0; r < runs; r++)
      total += repeatShare(Array.from({ length: 600 }, () => zipf.sample(random)));
    // The mean over 200 seeded runs of 600 draws sits within 1% of the analytic expectation.
    expect(Math.abs(total / runs - zipf.expectedRepeatShare(600))).toBeLessThan(0.01);
  });

  it("rejects bad options, naming the field and the value", () => {
    expect(() => new ZipfDistribution({ n: 0, exponent: 1 })).toThrow("n must be an integer >= 1, got 0");
    expect(() => new ZipfDistribution({ n: 2.5, exponent: 1 })).toThrow("got 2.5");
    expect(() => new ZipfDistribution({ n: 10, exponent: -1 })).toThrow("exponent must be a number >= 0");
    const zipf = new ZipfDistribution({ n: 10, exponent: 1 });
    expect(() => zipf.indexOf(1)).toThrow("u must be in [0, 1), got 1");
    expect(() => zipf.indexOf(Number.NaN)).toThrow("got NaN");
    expect(() => zipf.expectedRepeatShare(-1)).toThrow("draws must be an integer >= 0");
  });
});

describe("repeatShare", () => {
  it("counts the items already seen earlier in the sequence", () => {
    expect(repeatShare([])).toBe(0);
    expect(repeatShare([1, 2, 3])).toBe(0);
    expect(repeatShare([4, 4, 2, 4, 2])).toBe(3 / 5);
  });
});
