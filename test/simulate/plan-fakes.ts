import type { SimulationReport } from "../../src/simulate/runner.js";

/**
 * A report of the `interactive` class whose p99s are given; everything else is filler that meetsTargets and
 * the planner's row builder read.
 */
export function fakeReport(input: { ttftMs: number; tpotMs: number; failed?: number }): SimulationReport {
  const pct = (v: number) => ({ count: 100, mean: v, p50: v, p90: v, p99: v });
  const failed = input.failed ?? 0;
  return {
    requests: 100,
    completed: 100 - failed,
    errors: failed > 0 ? { overloaded: failed } : {},
    classes: {
      interactive: {
        requests: 100,
        completed: 100 - failed,
        sloMet: 100 - failed,
        sloAttainment: (100 - failed) / 100,
        ttftMs: pct(input.ttftMs),
        tpotMs: pct(input.tpotMs),
        e2eMs: pct(input.ttftMs + 100 * input.tpotMs),
      },
    },
    sloMet: 100 - failed,
    sloAttainment: (100 - failed) / 100,
    goodputPerSecond: 5,
    tokens: { prompt: 100_000, completion: 36_000, cachedPrompt: 0 },
    throughputTokensPerSecond: 1800,
    cost: { meanPerResponseUsd: 0, attributedUsd: 0, spendUsd: 0, perResponseBins: [] },
    series: { bucketSeconds: 1, points: [] },
    simulatedSeconds: 20,
    wallSeconds: 0,
    peakRssBytes: 0,
  };
}

export const SLO = Object.freeze({ sloClass: "interactive", ttftMs: 500, tpotMs: 50 });
