import { describe, expect, it } from "vitest";
import { PrefillMeter } from "../../src/scheduling/prefill-meter.js";

describe("PrefillMeter", () => {
  it("counts dispatched prompt tokens until their first token or their end, once each", () => {
    const meter = new PrefillMeter({ halfLifeMs: 5_000 });
    const a = meter.dispatched(1_000, 0);
    const b = meter.dispatched(500, 0);
    expect(meter.pendingTokens(0, 10_000)).toBe(1_500);
    a.prefilled(100, false);
    a.prefilled(150, false);
    a.abandoned();
    expect(meter.pendingTokens(150, 10_000)).toBe(500);
    b.abandoned();
    expect(meter.pendingTokens(150, 10_000)).toBe(0);
  });

  it("stops counting entries older than the stale bound, and does not count them again later", () => {
    const meter = new PrefillMeter({ halfLifeMs: 5_000 });
    const stuck = meter.dispatched(2_000, 0);
    meter.dispatched(300, 500);
    expect(meter.pendingTokens(999, 1_000)).toBe(2_300);
    expect(meter.pendingTokens(1_000, 1_000)).toBe(300);
    stuck.prefilled(5_000, false);
    expect(meter.pendingTokens(1_001, 1_000)).toBe(300);
  });

  it("uses the prior until it has measured a saturated second, then the measured rate", () => {
    const meter = new PrefillMeter({ halfLifeMs: 5_000, priorTokensPerSecond: 50_000 });
    expect(meter.tokensPerSecond()).toBe(50_000);
    // Unsaturated completions say nothing about the pool's throughput.
    for (let t = 0; t < 5_000; t += 100) meter.dispatched(1_000, t).prefilled(t + 50, false);
    expect(meter.tokensPerSecond()).toBe(50_000);
    // Saturated: 2,000 tokens every 100 ms is 20,000 tokens/s; the window opens at the first completion.
    for (let t = 10_000; t <= 11_000; t += 100) meter.dispatched(2_000, t - 100).prefilled(t, true);
    expect(meter.tokensPerSecond()).toBe(20_000);
  });

  it("discards a partial window when saturation ends", () => {
    const meter = new PrefillMeter({ halfLifeMs: 5_000 });
    meter.dispatched(1_000, 0).prefilled(0, true);
    meter.dispatched(1_000, 0).prefilled(500, true);
    meter.dispatched(1_000, 0).prefilled(600, false);
    meter.dispatched(1_000, 0).prefilled(1_200, true);
    expect(meter.tokensPerSecond()).toBeUndefined();
  });
});
