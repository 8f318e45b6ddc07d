import { describe, expect, it } from "vitest";
import { kvCacheDtypeFor, planConfig, planOptions } from "../../src/simulate/plan-options.js";
import { plan } from "../../src/simulate/planner.js";
import type { SimulateOptions } from "../../src/simulate/runner.js";
import { fakeReport, SLO } from "./plan-fakes.js";

describe("planOptions over several models, aliases and precisions", () => {
  const { feasible, skipped } = planOptions({
    profiles: ["Llama-3.1-8B", "Llama-3.1-70B"],
    gpus: ["h100", "A100", "H100-SXM-80GB", "TPU"],
    tensorParallel: [1],
    precisions: ["bf16", "int4"],
  });
  const all = [...feasible, ...skipped];
  const find = (profile: string, gpu: string, precision: string) =>
    all.find((o) => o.profile === profile && o.gpu === gpu && o.precision === precision);

  it("plans each model on each GPU once, under its catalog name", () => {
    // 2 models x 3 distinct GPUs (h100 and H100-SXM-80GB are one) x 2 precisions x 1 TP.
    expect(all).toHaveLength(12);
    expect(new Set(all.map((o) => o.gpu))).toEqual(new Set(["H100-SXM-80GB", "A100-80GB", "TPU"]));
    expect(new Set(all.map((o) => o.profile))).toEqual(new Set(["Llama-3.1-8B", "Llama-3.1-70B"]));
    // Model-major order: every 8B option comes before the first 70B one.
    const profiles = feasible.map((o) => o.profile);
    expect(profiles.lastIndexOf("Llama-3.1-8B")).toBeLessThan(profiles.indexOf("Llama-3.1-70B"));
  });

  it("fits 70B in one 80 GB GPU only as int4 (35.3 GB of weights), also on a GPU without fp8", () => {
    expect(find("Llama-3.1-70B", "H100-SXM-80GB", "bf16")).toMatchObject({
      reason: expect.stringMatching(/does not fit/),
    });
    expect(feasible).toContainEqual({
      profile: "Llama-3.1-70B",
      gpu: "A100-80GB",
      tensorParallel: 1,
      precision: "int4",
    });
    expect(find("Llama-3.1-8B", "H100-SXM-80GB", "bf16")).not.toHaveProperty("reason");
  });

  it("names the known GPUs and the aliases for an unknown one", () => {
    const tpu = skipped.filter((s) => s.gpu === "TPU");
    expect(tpu).toHaveLength(4);
    for (const { reason } of tpu) {
      expect(reason).toMatch(/^unknown hardware \(known: H100-SXM-80GB, .*\bL4\b.*; aliases: /);
      expect(reason).toContain("H100 = H100-SXM-80GB, H200 = H200-SXM-141GB, A100 = A100-80GB");
    }
  });

  it("rejects an unknown profile with the known ones", () => {
    expect(() => planOptions({ profiles: ["Llama-3.1-8B", "GPT-5"], gpus: ["L4"] })).toThrow(
      /unknown model profile "GPT-5" \(known: Llama-3.1-8B, /,
    );
  });
});

describe("planConfig precisions", () => {
  it.each([
    ["bf16", "bf16"],
    ["fp8", "fp8"],
    ["int4", "bf16"],
  ] as const)("%s weights go with a %s KV cache, in a config the schema accepts", (precision, kv) => {
    expect(kvCacheDtypeFor(precision)).toBe(kv);
    const config = planConfig({
      option: { profile: "Llama-3.1-8B", gpu: "H100-SXM-80GB", tensorParallel: 1, precision },
      replicas: 2,
      slo: SLO,
    });
    expect(config.models[0]).toMatchObject({ profile: "Llama-3.1-8B" });
    expect(config.deployments[0]!.backend).toMatchObject({ precision, kvCacheDtype: kv });
  });
});

describe("plan over several models", () => {
  it("ranks every model's fleets together by spend, each row and miss carrying its profile", async () => {
    const calls: Array<[string, string, number]> = [];
    const simulate = async ({ config }: SimulateOptions) => {
      const profile = config.models[0]!.profile;
      const deployment = config.deployments[0]!;
      const gpu = deployment.backend.type === "simulated" ? deployment.backend.hardware : "";
      calls.push([profile, gpu, deployment.replicas]);
      // Qwen: one replica anywhere. 8B: three L4s; on an H100 a TPOT floor more replicas do not lower.
      if (profile === "Llama-3.1-8B" && gpu === "H100-SXM-80GB")
        return fakeReport({ ttftMs: 100, tpotMs: 80 });
      const needed = profile === "Llama-3.1-8B" ? 3 : 1;
      const ttftMs = deployment.replicas >= needed ? 100 : 500 + 1000 / deployment.replicas;
      return fakeReport({ ttftMs, tpotMs: 10 });
    };
    const result = await plan({
      profiles: ["Qwen2.5-0.5B", "Llama-3.1-8B"],
      rate: 5,
      durationS: 10,
      slo: SLO,
      seed: 1,
      gpus: ["h100", "L4"],
      tensorParallel: [1],
      precisions: ["bf16"],
      simulate,
    });
    expect(result.rows.map((r) => [r.profile, r.gpu, r.replicas, r.spendPerHourUsd])).toEqual([
      ["Qwen2.5-0.5B", "L4", 1, 0.8],
      ["Llama-3.1-8B", "L4", 3, expect.closeTo(2.4, 9)],
      ["Qwen2.5-0.5B", "H100-SXM-80GB", 1, 2.99],
    ]);
    expect(result.unmet).toEqual([
      {
        profile: "Llama-3.1-8B",
        gpu: "H100-SXM-80GB",
        tensorParallel: 1,
        precision: "bf16",
        reason: expect.stringMatching(/^latency floor: p99 TPOT/),
      },
    ]);
    // The configs name the catalog GPU, not the alias; 8B on the H100 stops at the floor after 1 and 2.
    expect(calls).toEqual([
      ["Qwen2.5-0.5B", "H100-SXM-80GB", 1],
      ["Qwen2.5-0.5B", "L4", 1],
      ["Llama-3.1-8B", "H100-SXM-80GB", 1],
      ["Llama-3.1-8B", "H100-SXM-80GB", 2],
      ["Llama-3.1-8B", "L4", 1],
      ["Llama-3.1-8B", "L4", 2],
      ["Llama-3.1-8B", "L4", 4],
      ["Llama-3.1-8B", "L4", 3],
    ]);
    expect(result.simulations).toBe(8);
  });
});
