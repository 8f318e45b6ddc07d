import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/core/random.js";
import { LogHistogram } from "../../src/simulate/histogram.js";

/** The sample at rank floor(q (n - 1)) of the sorted values: the rank the histogram estimates. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

describe("LogHistogram", () => {
  it.each([
    ["log-normal latencies", (r: SeededRandom) => r.logNormal(120, 1.2)],
    ["uniform over four decades", (r: SeededRandom) => 10 ** (r.next() * 4 - 1)],
    ["narrow around 7 ms", (r: SeededRandom) => 7 + r.next() * 0.2],
  ])("p50/p90/p99 of %s are within 1%% of the exact quantiles", (_name, draw) => {
    const random = new SeededRandom(11);
    const histogram = new LogHistogram();
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const value = draw(random);
      values.push(value);
      histogram.record(value);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = exactQuantile(values, q);
      expect(Math.abs(histogram.quantile(q) - exact) / exact).toBeLessThanOrEqual(0.01);
    }
    expect(histogram.count).toBe(20_000);
    expect(histogram.mean).toBeCloseTo(values.reduce((s, v) => s + v, 0) / values.length, 6);
  });

  it("keeps memory logarithmic in the value range, not linear in samples", () => {
    const histogram = new LogHistogram();
    for (let i = 0; i < 100_000; i++) histogram.record(1 + (i % 1000));
    // log(1000) / log(gamma) with gamma = 1.005/0.995: about 691 buckets at most.
    expect(histogram.buckets).toBeLessThanOrEqual(700);
    expect(histogram.summary().count).toBe(100_000);
    expect(histogram.quantile(1)).toBe(1000);
    expect(histogram.quantile(0)).toBe(1);
  });

  it("reports zeros as zero and an empty histogram as all zeros", () => {
    const histogram = new LogHistogram();
    expect(histogram.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
    for (let i = 0; i < 6; i++) histogram.record(0);
    for (let i = 0; i < 4; i++) histogram.record(50);
    expect(histogram.quantile(0.5)).toBe(0);
    expect(histogram.quantile(0.99)).toBe(50);
  });

  it("bins zeros with positive values: zeros in the first bin, which starts at the least positive value", () => {
    // Responses served from the cache cost 0; the simulator's cost bins once failed on such a mix.
    const histogram = new LogHistogram();
    for (let i = 0; i < 5; i++) histogram.record(0);
    for (const value of [1e-5, 2e-5, 1e-4]) histogram.record(value);
    const bins = histogram.bins(10);
    expect(bins).toHaveLength(10);
    expect(bins[0]!.lower).toBe(1e-5);
    expect(bins.at(-1)!.upper).toBeCloseTo(1e-4, 12);
    expect(bins[0]!.count).toBe(6);
    expect(bins.reduce((n, b) => n + b.count, 0)).toBe(8);
    const zeros = new LogHistogram();
    zeros.record(0);
    expect(zeros.bins(10)).toEqual([{ lower: Number.MIN_VALUE, upper: Number.MIN_VALUE, count: 1 }]);
  });

  it("rejects a relative error outside (0, 1), naming the value", () => {
    expect(() => new LogHistogram({ relativeError: 0 })).toThrow(/relativeError must be in \(0, 1\), got 0/);
  });
});
