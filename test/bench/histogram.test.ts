import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../bench/lib/histogram.js";

describe("LatencyHistogram", () => {
  it("summarises an empty histogram as zeros", () => {
    const histogram = new LatencyHistogram();
    expect(histogram.count).toBe(0);
    expect(histogram.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it("reports percentiles of 1..1000 ms within HDR precision (3 significant digits)", () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms);
    const summary = histogram.summary();
    expect(summary.count).toBe(1000);
    // 3 significant digits: each reported value is within 0.1% of a recorded one.
    expect(Math.abs(summary.p50 - 500) / 500).toBeLessThan(0.002);
    expect(Math.abs(summary.p90 - 900) / 900).toBeLessThan(0.002);
    expect(Math.abs(summary.p99 - 990) / 990).toBeLessThan(0.002);
    expect(Math.abs(summary.max - 1000) / 1000).toBeLessThan(0.002);
    expect(Math.abs(summary.mean - 500.5) / 500.5).toBeLessThan(0.002);
  });

  it("keeps sub-millisecond resolution and values beyond an hour", () => {
    const histogram = new LatencyHistogram();
    histogram.record(0.25);
    histogram.record(0);
    histogram.record(2 * 3_600_000);
    const summary = histogram.summary();
    expect(summary.p50).toBeCloseTo(0.25, 3);
    expect(Math.abs(summary.max - 7_200_000) / 7_200_000).toBeLessThan(0.002);
  });

  it("rejects negative and non-finite latencies, naming the value", () => {
    const histogram = new LatencyHistogram();
    expect(() => histogram.record(-1)).toThrow(/got -1/);
    expect(() => histogram.record(Number.NaN)).toThrow(/got NaN/);
  });
});
