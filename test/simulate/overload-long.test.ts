import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { simulate } from "../../src/simulate/runner.js";
import type { WorkloadSpec } from "../../src/simulate/workload.js";

/**
 * Overload of long prompts on the virtual clock: one Llama-3.1-70B replica (H100 x4, fp8) with vLLM's default
 * batch limit (1,024 sequences), 8,000-token prompts at about 5x what it can prefill, 30% interactive. The
 * gateway must keep the backlog in its own priority queue (not in the engine's FIFO queue), serve the
 * interactive class within its TTFT target, and shed the rest early with 503s.
 */
const CLASSES = {
  interactive: { priority: 30, ttftMs: 2_000, tpotMs: 250, e2eMs: 60_000, maxQueueMs: 2_000 },
  standard: { priority: 20, ttftMs: 10_000, tpotMs: 250, e2eMs: 120_000, maxQueueMs: 10_000 },
  batch: { priority: 10, ttftMs: 60_000, tpotMs: 1_000, e2eMs: 600_000, percentile: 90, maxQueueMs: 60_000 },
};

function config(enabled: boolean) {
  const input: ConfigInput = {
    guard: { enabled: false },
    cache: { enabled: false },
    log: { level: "silent" },
    scheduling: { enabled, defaultClass: "interactive", classes: CLASSES },
    models: [{ id: "llama-70b", profile: "Llama-3.1-70B" }],
    deployments: [
      {
        name: "h100-tp4",
        model: "llama-70b",
        replicas: 1,
        backend: {
          type: "simulated",
          hardware: "H100-SXM-80GB",
          tensorParallel: 4,
          precision: "fp8",
          kvCacheDtype: "fp8",
        },
      },
    ],
  };
  return parseConfig(input);
}

const WORKLOAD: WorkloadSpec = {
  rate: 12,
  durationS: 40,
  model: "llama-70b",
  promptTokens: { median: 8_000, sigma: 0, min: 1, max: 8_000 },
  outputTokens: { median: 256, sigma: 0, min: 1, max: 256 },
  sloClassMix: { interactive: 0.3, standard: 0.5, batch: 0.2 },
  clients: 100,
  temperature: 1,
};

describe("overload of long prompts (virtual clock)", () => {
  it("serves the interactive class within its TTFT target and sheds the rest early, from the gateway's queue", async () => {
    const report = await simulate({ config: config(true), workload: WORKLOAD, seed: 3 });
    const interactive = report.classes["interactive"]!;
    const standard = report.classes["standard"]!;
    expect(report.requests).toBeGreaterThan(400);
    // Every refusal is the gateway's honest overload answer; nothing timed out or failed on a replica.
    expect(Object.keys(report.errors)).toEqual(["overloaded"]);
    expect(interactive.completed).toBeGreaterThan(0.5 * interactive.requests);
    expect(interactive.ttftMs.p99).toBeLessThanOrEqual(CLASSES.interactive.ttftMs);
    expect(standard.ttftMs.p99).toBeLessThanOrEqual(CLASSES.standard.ttftMs);
    // Lower classes give way: a smaller share of standard requests is served than of interactive ones.
    expect(standard.completed / standard.requests).toBeLessThan(interactive.completed / interactive.requests);
    // The backlog waits in the gateway's queue, where priorities apply, not inside the engine.
    const points = report.series.points;
    expect(Math.max(...points.map((p) => p.queueDepthMax))).toBeGreaterThan(20);
    expect(Math.max(...points.map((p) => p.engineWaitingMax))).toBeLessThanOrEqual(2);
  });

  it("without admission the same load waits inside the engine and misses every interactive target", async () => {
    const report = await simulate({ config: config(false), workload: WORKLOAD, seed: 3 });
    const interactive = report.classes["interactive"]!;
    expect(interactive.ttftMs.p50).toBeGreaterThan(CLASSES.interactive.ttftMs);
    expect(Math.max(...report.series.points.map((p) => p.engineWaitingMax))).toBeGreaterThan(50);
  });
});
