import { describe, expect, it } from "vitest";
import { calibrate, loadPublishedRows, mape } from "../../bench/scenarios/fidelity.js";

describe("fidelity", () => {
  it("computes MAPE in percent over absolute relative errors", () => {
    const rows = [
      { id: "a", published: 100, simulated: 110, error: 0.1 },
      { id: "b", published: 100, simulated: 70, error: -0.3 },
    ];
    expect(mape(rows)).toBeCloseTo(20, 9);
    expect(mape([])).toBe(0);
  });

  it("finds the grid point nearest a separable optimum by coordinate search", async () => {
    // The optimum sits on the scenario's grid (mbu 0.75/0.8/0.85, mfuMax 0.55/0.6/0.65, overhead 1.5/2/3 ms).
    const score = async (e: { mbu: number; mfuMax: number; stepOverheadMs: number }) =>
      Math.abs(e.mbu - 0.85) + Math.abs(e.mfuMax - 0.55) + Math.abs(e.stepOverheadMs - 3);
    const result = await calibrate({
      start: { mbu: 0.6, mfuMin: 0.35, mfuMax: 0.6, stepOverheadMs: 1, allReduceLatencyUs: 10 },
      score,
      maxPasses: 2,
    });
    expect(result.best).toEqual({
      mbu: 0.85,
      mfuMin: 0.35,
      mfuMax: 0.55,
      stepOverheadMs: 3,
      allReduceLatencyUs: 10,
    });
    expect(result.bestScore).toBeCloseTo(0, 9);
  });

  it("keeps every published row sourced and positive", () => {
    for (const row of loadPublishedRows()) {
      expect(row.source).toMatch(/^https:\/\//);
      expect(row.value).toBeGreaterThan(0);
    }
  });
});
