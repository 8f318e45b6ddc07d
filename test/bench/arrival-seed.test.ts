import { describe, expect, it } from "vitest";
import { ARRIVAL_TOLERANCE, arrivalsInWindow, windowedArrivalSeed } from "../../bench/lib/arrival-seed.js";

describe("windowedArrivalSeed", () => {
  const run = { rate: 40, warmupMs: 1500, windowMs: 8000 };
  const due = (run.rate * run.windowMs) / 1000;

  it("returns the first seed whose schedule puts rate x window arrivals, within the tolerance, in the window", () => {
    const seed = windowedArrivalSeed(run);
    expect(Math.abs(arrivalsInWindow({ ...run, seed }) - due)).toBeLessThanOrEqual(ARRIVAL_TOLERANCE * due);
    for (let earlier = 1; earlier < seed; earlier++) {
      expect(Math.abs(arrivalsInWindow({ ...run, seed: earlier }) - due)).toBeGreaterThan(
        ARRIVAL_TOLERANCE * due,
      );
    }
    expect(windowedArrivalSeed(run)).toBe(seed);
  });

  it("takes seed 1 when any count will do, and a later one under a tighter tolerance", () => {
    expect(windowedArrivalSeed({ ...run, tolerance: 1 })).toBe(1);
    const exact = windowedArrivalSeed({ ...run, tolerance: 0 });
    expect(arrivalsInWindow({ ...run, seed: exact })).toBe(due);
  });

  it("throws when no seed can meet the tolerance", () => {
    // 10.05 arrivals are due: no whole count is within 0% of it.
    expect(() => windowedArrivalSeed({ rate: 10.05, warmupMs: 0, windowMs: 1000, tolerance: 0 })).toThrow(
      /no seed in 1-1000 puts 10 arrivals/,
    );
  });
});

describe("arrivalsInWindow", () => {
  it("counts only the arrivals after the warm-up", () => {
    const all = arrivalsInWindow({ rate: 50, warmupMs: 0, windowMs: 3000, seed: 7 });
    const late = arrivalsInWindow({ rate: 50, warmupMs: 1000, windowMs: 2000, seed: 7 });
    expect(late).toBeLessThan(all);
    expect(late).toBeGreaterThan(0);
  });
});
