import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/backends/backend.js";
import { VirtualClock } from "../../src/core/clock.js";
import { ActiveHealth, startHealthChecks } from "../../src/routing/health-check.js";

const settings = { intervalMs: 1000, timeoutMs: 200, unhealthyThreshold: 3, healthyThreshold: 2 };

describe("ActiveHealth", () => {
  it("flips only after the thresholds of consecutive results", () => {
    const health = new ActiveHealth(settings);
    const trace = [false, false, true, false, false, false, true, true].map((ok) => {
      health.record(ok);
      return health.healthy;
    });
    expect(trace).toEqual([true, true, true, true, true, false, false, true]);
  });
});

describe("startHealthChecks", () => {
  it("probes on the interval, times slow probes out, and stops cleanly", async () => {
    const clock = new VirtualClock();
    let mode: "up" | "down" | "stall" = "up";
    let probes = 0;
    const backend = {
      probe: (signal: AbortSignal) => {
        probes++;
        if (mode === "up") return Promise.resolve();
        if (mode === "down") return Promise.reject(new Error("refused"));
        return new Promise<void>((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason)),
        );
      },
    } as unknown as Backend;
    const health = new ActiveHealth(settings);
    const stop = startHealthChecks({ targets: [{ backend, health }], clock, settings });
    await clock.advance(3500);
    expect(probes).toBe(3);
    expect(health.healthy).toBe(true);
    mode = "stall";
    await clock.advance(4000);
    expect(health.healthy).toBe(false);
    mode = "up";
    await clock.advance(3000);
    expect(health.healthy).toBe(true);
    stop();
    const before = probes;
    await clock.advance(10_000);
    expect(probes).toBe(before);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it("leaves backends without a probe alone", async () => {
    const clock = new VirtualClock();
    const stop = startHealthChecks({
      targets: [{ backend: {} as Backend, health: new ActiveHealth(settings) }],
      clock,
      settings,
    });
    expect(clock.nextTimerAt()).toBeUndefined();
    stop();
  });
});
