import { describe, expect, it } from "vitest";
import { arrivalOffsetsMs } from "../../bench/lib/arrivals.js";
import { SeededRandom } from "../../src/core/random.js";

describe("arrivalOffsetsMs", () => {
  it("paces uniform arrivals evenly from 0, 1000/rate ms apart", () => {
    const offsets = [
      ...arrivalOffsetsMs({ rate: 4, durationMs: 1000, kind: "uniform", random: new SeededRandom(1) }),
    ];
    expect(offsets).toEqual([0, 250, 500, 750]);
  });

  it("does not drift over a long uniform run", () => {
    const offsets = [
      ...arrivalOffsetsMs({ rate: 3, durationMs: 3_600_000, kind: "uniform", random: new SeededRandom(1) }),
    ];
    expect(offsets).toHaveLength(10_800);
    expect(offsets.at(-1)).toBeCloseTo(3_600_000 - 1000 / 3, 6);
  });

  it("draws Poisson gaps with mean 1000/rate and an exponential spread", () => {
    const offsets = [
      ...arrivalOffsetsMs({ rate: 100, durationMs: 200_000, kind: "poisson", random: new SeededRandom(9) }),
    ];
    // 20,000 expected arrivals; the count of a Poisson process has sd sqrt(20,000) ~ 141 (0.7%).
    expect(Math.abs(offsets.length / 20_000 - 1)).toBeLessThan(0.03);
    const gaps = offsets.map((t, i) => t - (offsets[i - 1] ?? 0));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(Math.abs(mean / 10 - 1)).toBeLessThan(0.03);
    // For an exponential distribution sd = mean, and P(gap > mean) = 1/e.
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    expect(Math.abs(sd / mean - 1)).toBeLessThan(0.05);
    expect(Math.abs(gaps.filter((g) => g > 10).length / gaps.length - Math.exp(-1))).toBeLessThan(0.02);
    expect(offsets.every((t, i) => i === 0 || t > offsets[i - 1]!)).toBe(true);
  });

  it("is reproducible from the random source", () => {
    const run = () => [
      ...arrivalOffsetsMs({ rate: 50, durationMs: 1000, kind: "poisson", random: new SeededRandom(3) }),
    ];
    expect(run()).toEqual(run());
  });

  it("rejects a non-positive rate and a negative duration", () => {
    const random = new SeededRandom(1);
    expect(() => [...arrivalOffsetsMs({ rate: 0, durationMs: 10, kind: "uniform", random })]).toThrow(/rate/);
    expect(() => [...arrivalOffsetsMs({ rate: 1, durationMs: -1, kind: "poisson", random })]).toThrow(
      /durationMs/,
    );
  });
});
