import { describe, expect, it } from "vitest";
import { meetsTargets } from "../../src/simulate/option-search.js";
import { planOptions } from "../../src/simulate/plan-options.js";
import { plan } from "../../src/simulate/planner.js";
import type { SimulateOptions } from "../../src/simulate/runner.js";
import { parseSloTarget } from "../../src/simulate/slo-target.js";
import { smallestPassing } from "../../src/simulate/smallest-passing.js";
import { fakeReport, SLO } from "./plan-fakes.js";

/** A fake simulator where a fleet of `needed` or more replicas meets the targets; counts its calls. */
function fleetNeeding(needed: number) {
  const calls: number[] = [];
  const simulate = async (options: SimulateOptions) => {
    const replicas = options.config.deployments[0]!.replicas;
    calls.push(replicas);
    return replicas >= needed
      ? fakeReport({ ttftMs: 250, tpotMs: 20 })
      : fakeReport({ ttftMs: 500 + 5000 / replicas, tpotMs: 20 });
  };
  return { simulate, calls };
}

const ONE_OPTION = {
  profiles: ["Llama-3.1-8B"],
  rate: 10,
  durationS: 20,
  slo: SLO,
  seed: 1,
  gpus: ["H100-SXM-80GB"],
  tensorParallel: [1],
  precisions: ["bf16"] as const,
};

describe("smallestPassing", () => {
  it.each([1, 2, 3, 5, 17, 33, 64])("finds %i with at most 2 log2(N) + 1 trials", async (needed) => {
    const { smallest, evaluated } = await smallestPassing({
      max: 64,
      passes: async (n) => (n >= needed ? "pass" : "fail"),
    });
    expect(smallest).toBe(needed);
    expect(evaluated.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(needed)) + 1);
    expect(new Set(evaluated).size).toBe(evaluated.length);
  });

  it("gives up past max, and on stop", async () => {
    expect((await smallestPassing({ max: 10, passes: async () => "fail" })).evaluated).toEqual([
      1, 2, 4, 8, 10,
    ]);
    const stopped = await smallestPassing({ max: 64, passes: async (n) => (n === 2 ? "stop" : "fail") });
    expect(stopped).toEqual({ smallest: undefined, evaluated: [1, 2] });
  });
});

describe("plan", () => {
  it("lands on the exact fleet size with O(log N) simulations of a one-deployment config", async () => {
    const fake = fleetNeeding(13);
    const result = await plan({ ...ONE_OPTION, simulate: fake.simulate });
    // Doubling 1, 2, 4, 8, 16 brackets 13 in (8, 16]; bisection 12, 14, 13.
    expect(fake.calls).toEqual([1, 2, 4, 8, 16, 12, 14, 13]);
    expect(result.simulations).toBe(8);
    const row = result.rows[0]!;
    expect(row).toMatchObject({
      profile: "Llama-3.1-8B",
      gpu: "H100-SXM-80GB",
      tensorParallel: 1,
      precision: "bf16",
      replicas: 13,
    });
    expect(row.spendPerHourUsd).toBeCloseTo(13 * 2.99, 9);
    // $38.87/hour over 1,800 tokens/s = 6.48 M tokens/hour.
    expect(row.costPerMillionOutputTokensUsd).toBeCloseTo((13 * 2.99) / 6.48, 6);
    expect(row.ttftHeadroom).toBeCloseTo(2, 9);
  });

  it("builds the config the brief asks for: guard and cache off, the SLO class as the default", async () => {
    const seen: SimulateOptions[] = [];
    await plan({
      ...ONE_OPTION,
      simulate: async (o) => {
        seen.push(o);
        return fakeReport({ ttftMs: 1, tpotMs: 1 });
      },
    });
    const { config, guard, workload } = seen[0]!;
    expect(guard).toBe(false);
    expect(config.guard.enabled).toBe(false);
    expect(config.cache.enabled).toBe(false);
    expect(config.scheduling.defaultClass).toBe("interactive");
    expect(config.scheduling.classes["interactive"]).toMatchObject({ ttftMs: 500, tpotMs: 50 });
    expect(config.deployments).toHaveLength(1);
    expect(workload).toMatchObject({ rate: 10, durationS: 20, sloClassMix: {} });
  });

  it("stops early when doubling the fleet does not lower the missed p99 (a latency floor)", async () => {
    let calls = 0;
    const result = await plan({
      ...ONE_OPTION,
      simulate: async () => {
        calls++;
        return fakeReport({ ttftMs: 100, tpotMs: 80 });
      },
    });
    expect(calls).toBe(2);
    expect(result.rows).toEqual([]);
    expect(result.unmet[0]!.reason).toMatch(/latency floor: p99 TPOT 80.0 ms > 50 ms/);
  });

  it("ranks by spend per hour", async () => {
    const result = await plan({
      ...ONE_OPTION,
      gpus: ["H100-SXM-80GB", "L4"],
      profiles: ["Qwen2.5-0.5B"],
      precisions: ["bf16"],
      simulate: async () => fakeReport({ ttftMs: 100, tpotMs: 10 }),
    });
    expect(result.rows.map((r) => [r.gpu, r.spendPerHourUsd])).toEqual([
      ["L4", 0.8],
      ["H100-SXM-80GB", 2.99],
    ]);
  });

  it("finds 1 replica with the real simulator when the load is light and the targets generous", async () => {
    const result = await plan({
      profiles: ["Qwen2.5-0.5B"],
      rate: 1,
      durationS: 5,
      slo: { sloClass: "interactive", ttftMs: 2000, tpotMs: 200 },
      seed: 3,
      gpus: ["L4"],
      tensorParallel: [1],
      precisions: ["bf16"],
    });
    expect(result.simulations).toBe(1);
    expect(result.rows[0]).toMatchObject({ gpu: "L4", replicas: 1, gpuCount: 1, sloAttainment: 1 });
    expect(result.rows[0]!.ttftHeadroom).toBeGreaterThan(1);
  });
});

describe("planOptions", () => {
  it("skips what cannot be built, saying why", () => {
    const { feasible, skipped } = planOptions({
      profiles: ["Llama-3.1-70B"],
      gpus: ["A100-80GB", "L4", "TPU"],
    });
    const reason = (gpu: string, tp: number, precision: string) =>
      skipped.find((s) => s.gpu === gpu && s.tensorParallel === tp && s.precision === precision)?.reason;
    expect(reason("A100-80GB", 1, "bf16")).toMatch(/does not fit: 141\.20 GB of weights per GPU/);
    expect(reason("A100-80GB", 1, "fp8")).toBe("A100-80GB has no fp8 tensor cores");
    expect(reason("TPU", 1, "bf16")).toMatch(/^unknown hardware/);
    const llama = { profile: "Llama-3.1-70B" };
    // 70.6 GB of weights per GPU in 77.3 GB usable (81,920 MiB x 0.9) leave 4.7 GB of KV after the 2 GB reserve:
    // a small pool, as when vLLM serves a bf16 70B on two 80 GB A100s.
    expect(feasible).toContainEqual({ ...llama, gpu: "A100-80GB", tensorParallel: 2, precision: "bf16" });
    expect(feasible).toContainEqual({ ...llama, gpu: "A100-80GB", tensorParallel: 4, precision: "bf16" });
    expect(feasible).toContainEqual({ ...llama, gpu: "L4", tensorParallel: 8, precision: "fp8" });
    const qwen = planOptions({ profiles: ["Qwen2.5-0.5B"], gpus: ["L4"], precisions: ["bf16"] });
    expect(qwen.feasible.map((o) => o.tensorParallel)).toEqual([1, 2]);
    expect(qwen.skipped[0]!.reason).toBe("TP 4 does not divide Qwen2.5-0.5B's 14 query heads");
  });
});

describe("parseSloTarget and meetsTargets", () => {
  it("parses seconds and milliseconds, and names what is wrong", () => {
    expect(parseSloTarget("interactive:ttft_p99=0.5s,tpot_p99=0.05s")).toEqual(SLO);
    expect(parseSloTarget("chat:tpot_p99=30ms,ttft_p99=2s")).toEqual({
      sloClass: "chat",
      ttftMs: 2000,
      tpotMs: 30,
    });
    expect(() => parseSloTarget("interactive:ttft_p99=0.5s")).toThrow(/needs both/);
    expect(() => parseSloTarget("interactive:ttft_p90=0.5s,tpot_p99=1s")).toThrow(/ttft_p90=0.5s/);
    expect(() => parseSloTarget("ttft_p99=0.5s")).toThrow(/CLASS:/);
  });

  it("requires both p99s within target and nothing failed", () => {
    expect(meetsTargets(fakeReport({ ttftMs: 500, tpotMs: 50 }), SLO)).toBe(true);
    expect(meetsTargets(fakeReport({ ttftMs: 501, tpotMs: 50 }), SLO)).toBe(false);
    expect(meetsTargets(fakeReport({ ttftMs: 100, tpotMs: 51 }), SLO)).toBe(false);
    expect(meetsTargets(fakeReport({ ttftMs: 100, tpotMs: 10, failed: 1 }), SLO)).toBe(false);
    expect(meetsTargets(fakeReport({ ttftMs: 100, tpotMs: 10 }), { ...SLO, sloClass: "batch" })).toBe(false);
  });
});
