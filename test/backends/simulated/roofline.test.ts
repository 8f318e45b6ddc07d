import { describe, expect, it } from "vitest";
import { planMemory } from "../../../src/backends/simulated/memory.js";
import {
  attendedContextSum,
  createLatencyModel,
  kvTokensRead,
  mfuFor,
  peakFlopsFor,
} from "../../../src/backends/simulated/roofline.js";
import { HARDWARE_CATALOG, type HardwareProfile } from "../../../src/config/catalog/hardware.js";
import { MODEL_CATALOG, type ModelProfile, type Precision } from "../../../src/config/catalog/models.js";
import { H100, L4, LLAMA_8B, TEST_EFFICIENCY, TEST_ENGINE } from "./helpers.js";

const efficiency = TEST_EFFICIENCY; // mbu 0.6, mfu 0.35 -> 0.6 over 2048 tokens, 1 ms overhead

function model(options: {
  hardware?: HardwareProfile;
  model?: ModelProfile;
  tp?: number;
  precision?: Precision;
}) {
  const input = {
    hardware: options.hardware ?? H100,
    model: options.model ?? LLAMA_8B,
    precision: options.precision ?? "bf16",
    kvCacheDtype: "bf16" as const,
    tensorParallel: options.tp ?? 1,
    engine: TEST_ENGINE,
    efficiency,
  };
  return createLatencyModel({ ...input, ...planMemory(input) });
}

describe("roofline step time, Llama-3.1-8B bf16 on one H100-SXM (hand computed)", () => {
  it("a lone decode step reads the weights once: 16.06e9 / (3.35e12 x 0.6) + KV + 1 ms", () => {
    const step = model({}).estimate([{ contextTokens: 999, newTokens: 1 }]);
    const weightsMs = (16.06e9 / (3.35e12 * 0.6)) * 1000; // 7.990 ms
    const kvMs = ((1000 * 131_072) / (3.35e12 * 0.6)) * 1000; // 0.065 ms
    expect(step.memoryMs).toBeCloseTo(weightsMs + kvMs, 6);
    expect(step.memoryMs).toBeCloseTo(8.055, 2);
    expect(step.computeMs).toBeLessThan(step.memoryMs / 50);
    expect(step.stepMs).toBeCloseTo(weightsMs + kvMs + 1, 6);
  });

  it("a 1,000-token prefill is compute bound: (2 x 8.03e9 x 1000 + attention) / (989e12 x MFU)", () => {
    const step = model({}).estimate([{ contextTokens: 0, newTokens: 1000 }]);
    const mfu = 0.35 + 0.25 * (1000 / 2048);
    const attention = 4 * 32 * 32 * 128 * ((1000 * 1001) / 2); // 2.62e11 FLOPs, ~1.6% of the matmuls
    const computeMs = ((2 * 8.03e9 * 1000 + attention) / (989e12 * mfu)) * 1000;
    expect(step.mfu).toBeCloseTo(mfu, 12);
    expect(step.computeMs).toBeCloseTo(computeMs, 6);
    expect(step.computeMs).toBeCloseTo(34.97, 1);
    expect(step.stepMs).toBeCloseTo(computeMs + 1, 6);
    expect(step.memoryMs).toBeLessThan(step.computeMs);
  });

  it("tensor parallel 2 halves the decode step's memory time", () => {
    const work = [{ contextTokens: 4000, newTokens: 1 }];
    const one = model({ tp: 1 }).estimate(work);
    const two = model({ tp: 2 }).estimate(work);
    expect(two.memoryMs).toBeCloseTo(one.memoryMs / 2, 9);
    expect(two.computeMs).toBeCloseTo(one.computeMs / 2, 9);
  });

  it("tensor parallel adds two all-reduces per layer: ring bytes over the link plus a fixed latency", () => {
    // Llama-3.1-8B: 32 layers, hidden 32 x 128 = 4096. TP 2 on H100 NVLink (450 GB/s a direction): each
    // all-reduce sends 2 x (1/2) x tokens x 4096 x 2 bytes; 64 of them per step, 10 us each.
    const work = Array.from({ length: 100 }, () => ({ contextTokens: 500, newTokens: 1 }));
    const two = model({ tp: 2 }).estimate(work);
    const expected = 64 * ((100 * 4096 * 2) / 450e9 + 10e-6) * 1000; // 0.7665 ms
    expect(two.commMs).toBeCloseTo(expected, 9);
    expect(two.stepMs).toBeCloseTo(Math.max(two.memoryMs, two.computeMs) + expected + 1, 9);
    expect(model({ tp: 1 }).estimate(work).commMs).toBe(0);
    // Over PCIe (L4, 32 GB/s) the same traffic costs 14x as much bandwidth time: TP there is expensive.
    const l4 = model({ hardware: L4, model: MODEL_CATALOG["Qwen2.5-0.5B"] as ModelProfile, tp: 2 });
    // Qwen2.5-0.5B: 24 layers, hidden 14 x 64 = 896.
    expect(l4.estimate(work).commMs).toBeCloseTo(48 * ((100 * 896 * 2) / 32e9 + 10e-6) * 1000, 9);
  });

  it("batching decodes is nearly free while memory bound: 32 decodes cost little more than 1", () => {
    const latency = model({});
    const single = latency.estimate([{ contextTokens: 500, newTokens: 1 }]);
    const batch = latency.estimate(Array.from({ length: 32 }, () => ({ contextTokens: 500, newTokens: 1 })));
    expect(batch.stepMs).toBeGreaterThan(single.stepMs);
    expect(batch.stepMs).toBeLessThan(single.stepMs * 1.3);
  });
});

describe("precision", () => {
  it.each([
    ["bf16", "H100-SXM-80GB", 989e12],
    ["fp8", "H100-SXM-80GB", 1979e12],
    ["int4", "H100-SXM-80GB", 989e12],
    ["fp8", "A100-80GB", 312e12],
  ] as const)("%s on %s computes at %d FLOP/s", (precision, gpu, peak) => {
    const hardware = HARDWARE_CATALOG[gpu] as HardwareProfile;
    expect(peakFlopsFor(hardware, precision)).toBe(peak);
  });

  it("int4 weights read a quarter of the bf16 bytes in a decode step", () => {
    const work = [{ contextTokens: 0, newTokens: 1 }];
    const bf16 = model({ precision: "bf16" }).estimate(work);
    const int4 = model({ precision: "int4" }).estimate(work);
    expect(int4.memoryMs).toBeCloseTo(
      bf16.memoryMs / 4 + (((1 * 131_072) / (3.35e12 * 0.6)) * 1000 * 3) / 4,
      6,
    );
  });

  it("fp8 speeds a compute-bound prefill by the fp8/bf16 peak ratio (1979/989 on H100)", () => {
    const work = [{ contextTokens: 0, newTokens: 4096 }];
    expect(model({ precision: "fp8" }).estimate(work).computeMs).toBeCloseTo(
      (model({ precision: "bf16" }).estimate(work).computeMs * 989) / 1979,
      6,
    );
  });
});

describe("MFU ramp", () => {
  it.each([
    [1, 0.35 + 0.25 / 2048],
    [1024, 0.475],
    [2048, 0.6],
    [100_000, 0.6],
  ])("%i step tokens -> MFU %d", (tokens, mfu) => {
    expect(mfuFor(efficiency, tokens)).toBeCloseTo(mfu, 12);
  });
});

describe("attention terms", () => {
  it.each([
    // context, new tokens, window, Σ attended
    [0, 4, undefined, 1 + 2 + 3 + 4],
    [10, 1, undefined, 11],
    [0, 6, 4, 1 + 2 + 3 + 4 + 4 + 4],
    [2, 4, 4, 3 + 4 + 4 + 4],
    [100, 3, 4, 12],
    [0, 0, undefined, 0],
  ])("context %i + %i new (window %s) attends %i", (context, fresh, window, expected) => {
    expect(attendedContextSum(context, fresh, window)).toBe(expected);
  });

  it("a sliding window caps the KV read of a long decode (Mistral-7B)", () => {
    const mistral = MODEL_CATALOG["Mistral-7B-v0.1"] as ModelProfile;
    expect(kvTokensRead({ contextTokens: 20_000, newTokens: 1 }, mistral.slidingWindow)).toBe(4097);
    expect(kvTokensRead({ contextTokens: 20_000, newTokens: 1 })).toBe(20_001);
    const latency = model({ model: mistral });
    const near = latency.estimate([{ contextTokens: 5000, newTokens: 1 }]);
    const far = latency.estimate([{ contextTokens: 30_000, newTokens: 1 }]);
    expect(far.memoryMs).toBeCloseTo(near.memoryMs, 9);
  });
});

describe("memory plan", () => {
  it("Llama-3.1-8B on one H100: (81,559 MiB x 0.9 - 16.06e9 - 2e9) / (16 x 131072) blocks", () => {
    const plan = planMemory({
      hardware: H100,
      model: LLAMA_8B,
      precision: "bf16",
      kvCacheDtype: "bf16",
      tensorParallel: 1,
      engine: TEST_ENGINE,
    });
    expect(plan.kvBlocksTotal).toBe(Math.floor((81_559 * 1024 ** 2 * 0.9 - 16.06e9 - 2e9) / (16 * 131_072)));
    expect(plan.maxTokensInKv).toBe(plan.kvBlocksTotal * 16);
  });

  it("refuses Llama-3.1-70B on one L4, naming model, GPU and TP", () => {
    const seventy = MODEL_CATALOG["Llama-3.1-70B"] as ModelProfile;
    const input = {
      hardware: L4,
      model: seventy,
      precision: "bf16" as const,
      kvCacheDtype: "bf16" as const,
      tensorParallel: 1,
      engine: TEST_ENGINE,
    };
    expect(() => planMemory(input)).toThrow(/Llama-3\.1-70B.*L4.*tensor parallel 1.*does not fit/);
  });

  it("refuses weights that fit but leave less than one block after the activation reserve", () => {
    // 16.06e9 B of weights in 18e9 x 0.9 = 16.2e9 B usable: they fit, but the 2e9 B reserve leaves nothing.
    const tight = { ...L4, name: "tight-18GB", memoryBytes: 18e9 };
    const input = {
      hardware: tight,
      model: LLAMA_8B,
      precision: "bf16" as const,
      kvCacheDtype: "bf16" as const,
      tensorParallel: 1,
      engine: TEST_ENGINE,
    };
    expect(() => planMemory(input)).toThrow(/tight-18GB.*leaves no room for the KV cache/);
  });
});
