import { describe, expect, it } from "vitest";
import { LogHistogram } from "../../src/simulate/histogram.js";
import { TimeSeries } from "../../src/simulate/series.js";

const state = (fromMs: number, busySeconds: number) => ({
  fromMs,
  busySeconds,
  replicaSeconds: 2,
  queueDepth: fromMs / 1000,
  engineWaiting: 2,
  kvCacheUsageMean: 0.5,
  kvCacheUsageMax: 0.75,
});

describe("TimeSeries", () => {
  it("merges buckets in pairs past the cap, keeping the totals", () => {
    const series = new TimeSeries({ bucketMs: 1000, maxBuckets: 8 });
    for (let s = 0; s < 100; s++) {
      series.recordResponse({ atMs: s * 1000 + 500, ttftMs: 10 + s, e2eMs: 100 + s });
      series.recordState(state(s * 1000, 1));
    }
    const { bucketSeconds, points } = series.series(100_000);
    expect(points.length).toBeLessThanOrEqual(8);
    expect(bucketSeconds).toBe(16);
    expect(points.reduce((n, p) => n + p.completed, 0)).toBe(100);
    // 100 busy seconds over 200 replica-seconds, bucket by bucket.
    for (const p of points.filter((p) => p.completed > 0)) expect(p.utilization).toBeCloseTo(0.5, 9);
    expect(points.map((p) => p.queueDepthMax)).toEqual([15, 31, 47, 63, 79, 95, 99]);
    expect(points.map((p) => p.engineWaitingMax)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(points[0]!.engineWaitingMean).toBe(2);
    expect(points[0]!.ttftP50Ms).toBeGreaterThanOrEqual(10);
    expect(points[6]!.e2eP99Ms).toBeCloseTo(199, -1);
  });

  it("pads to the end of the run with empty buckets and stays bounded however long it runs", () => {
    const series = new TimeSeries({ maxBuckets: 600 });
    for (let s = 0; s < 100_000; s += 7) series.recordState(state(s * 1000, 0.1));
    const { points } = series.series(100_000_000);
    expect(points.length).toBeLessThanOrEqual(600);
    expect(points.length).toBeGreaterThan(300);
    expect(points.at(-1)!.completed).toBe(0);
  });

  it("places the next sampling boundary on the bucket grid", () => {
    const series = new TimeSeries({ bucketMs: 250 });
    expect(series.nextBoundaryMs(0)).toBe(250);
    expect(series.nextBoundaryMs(250)).toBe(500);
    expect(series.nextBoundaryMs(499)).toBe(500);
  });
});

describe("LogHistogram merge and bins", () => {
  it("merges counts and extremes; bins add up to the count", () => {
    const a = new LogHistogram();
    const b = new LogHistogram();
    for (let i = 1; i <= 100; i++) (i % 2 === 0 ? a : b).record(i / 1000);
    a.merge(b);
    expect(a.count).toBe(100);
    expect(a.quantile(0)).toBe(0.001);
    expect(a.quantile(1)).toBe(0.1);
    const bins = a.bins(10);
    expect(bins).toHaveLength(10);
    expect(bins.reduce((n, bin) => n + bin.count, 0)).toBe(100);
    expect(bins[0]!.lower).toBeCloseTo(0.001, 12);
    expect(bins[9]!.upper).toBeCloseTo(0.1, 12);
    expect(() => a.merge(new LogHistogram({ relativeError: 0.02 }))).toThrow(RangeError);
  });
});
