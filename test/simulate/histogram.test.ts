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

  it("rejects a relative error outside (0, 1), naming the value", () => {
    expect(() => new LogHistogram({ relativeError: 0 })).toThrow(/relativeError must be in \(0, 1\), got 0/);
  });
});
