import { describe, expect, it } from "vitest";
import { describePool, estimateCapacity } from "../../bench/lib/roofline-capacity.js";
import type { SequenceWork } from "../../src/backends/simulated/roofline.js";
import { parseConfig } from "../../src/config/load.js";

/** A step model that records each step's work and costs 10 ms per decode plus 1 ms per prefill token. */
function fakeLatency() {
  const steps: SequenceWork[][] = [];
  return {
    steps,
    estimate(work: readonly SequenceWork[]) {
      steps.push([...work]);
      const ms = work.reduce((sum, w) => sum + (w.newTokens === 1 ? 0 : w.newTokens), 10);
      return { memoryMs: ms, computeMs: 0, commMs: 0, mfu: 0.5, stepMs: ms };
    },
  };
}

describe("estimateCapacity", () => {
  it("staggers the batch so each step holds every slot and each slot prefills once per cycle", () => {
    const latency = fakeLatency();
    const estimate = estimateCapacity({ latency, batch: 2, promptTokens: 100, outputTokens: 4 });
    expect(latency.steps).toHaveLength(4);
    for (const step of latency.steps) expect(step).toHaveLength(2);
    // Slot 0 prefills at step 0, slot 1 at step 2; decodes read the prompt plus the tokens so far.
    expect(latency.steps[0]).toEqual([
      { contextTokens: 0, newTokens: 100 },
      { contextTokens: 101, newTokens: 1 },
    ]);
    expect(latency.steps[3]).toEqual([
      { contextTokens: 102, newTokens: 1 },
      { contextTokens: 100, newTokens: 1 },
    ]);
    // Four steps of 10 ms plus two 100-token prefills: 240 ms per cycle, two requests per cycle.
    expect(estimate).toEqual({ meanStepMs: 60, serviceMs: 240, requestsPerSecond: 2000 / 240 });
  });

  it("rejects a batch, prompt or output that is not a positive integer", () => {
    const latency = fakeLatency();
    expect(() => estimateCapacity({ latency, batch: 0, promptTokens: 1, outputTokens: 1 })).toThrow(/batch/);
    expect(() => estimateCapacity({ latency, batch: 1, promptTokens: 1.5, outputTokens: 1 })).toThrow(
      /promptTokens/,
    );
    expect(() => estimateCapacity({ latency, batch: 1, promptTokens: 1, outputTokens: -1 })).toThrow(
      /outputTokens/,
    );
  });
});

describe("describePool", () => {
  const config = parseConfig({
    models: [{ id: "m", profile: "Llama-3.1-8B", scheduling: { maxConcurrentPerReplica: 6 } }],
    deployments: [
      {
        name: "d",
        model: "m",
        replicas: 2,
        backend: { type: "simulated", hardware: "H100-SXM-80GB", engine: { maxNumSeqs: 8 } },
      },
    ],
  });

  it("reads the replicas, the engine and gateway limits, and builds the roofline step model", () => {
    const pool = describePool(config);
    expect(pool).toMatchObject({
      hardware: "H100-SXM-80GB",
      model: "Llama-3.1-8B",
      precision: "bf16",
      tensorParallel: 1,
      replicas: 2,
      maxNumSeqs: 8,
      maxConcurrentPerReplica: 6,
      batch: 6,
    });
    // One decode of Llama-3.1-8B on an H100: ~16 GB of weights at 3.35 TB/s x MBU 0.8, plus 2 ms host time.
    const step = pool.latency.estimate([{ contextTokens: 0, newTokens: 1 }]).stepMs;
    expect(step).toBeGreaterThan(7.7);
    expect(step).toBeLessThan(8.3);
  });

  it("names a model that is missing or not served by one simulated deployment", () => {
    expect(() => describePool(config, "nope")).toThrow(/no model nope/);
    const twice = parseConfig({
      models: [{ id: "m", profile: "Llama-3.1-8B" }],
      deployments: ["a", "b"].map((name) => ({
        name,
        model: "m",
        backend: { type: "simulated", hardware: "H100-SXM-80GB" },
      })),
    });
    expect(() => describePool(twice)).toThrow(/exactly one simulated deployment/);
  });
});
