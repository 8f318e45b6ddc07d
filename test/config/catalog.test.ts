import { describe, expect, it } from "vitest";
import { HARDWARE_CATALOG } from "../../src/config/catalog/hardware.js";
import { kvBytesPerToken, MODEL_CATALOG, weightBytes } from "../../src/config/catalog/models.js";

const MIB = 1024 ** 2;

describe("hardware catalog", () => {
  // serving.md's table: dense figures, decimal bandwidth and FLOP/s; memory as the driver reports it (MiB).
  it.each([
    ["H100-SXM-80GB", 81_559 * MIB, 3.35e12, 989e12, 1979e12, 2.99],
    ["H100-PCIe-80GB", 81_559 * MIB, 2.0e12, 756e12, 1513e12, 2.49],
    ["H200-SXM-141GB", 143_771 * MIB, 4.8e12, 989e12, 1979e12, 3.99],
    ["A100-80GB", 81_920 * MIB, 2.039e12, 312e12, undefined, 1.49],
    ["A100-40GB", 40_960 * MIB, 1.555e12, 312e12, undefined, 1.29],
    ["L4", 23_034 * MIB, 0.3e12, 121e12, 242e12, 0.8],
    ["A10", 23_028 * MIB, 0.6e12, 125e12, undefined, 0.75],
    ["MI300X", 206_141_652_992, 5.3e12, 1307e12, 2615e12, 2.49],
  ])("%s matches the datasheet and price guide", (name, memory, bandwidth, bf16, fp8, price) => {
    const gpu = HARDWARE_CATALOG[name];
    expect(gpu).toBeDefined();
    expect(gpu?.name).toBe(name);
    expect(gpu?.memoryBytes).toBe(memory);
    expect(gpu?.memoryBandwidthBytesPerS).toBe(bandwidth);
    expect(gpu?.peakFlops.bf16).toBe(bf16);
    expect(gpu?.peakFlops.fp8).toBe(fp8);
    expect(gpu?.pricePerGpuHourUsd).toBe(price);
    expect(gpu?.source).toMatch(/datasheet/);
    expect(gpu?.source).toMatch(/2026/);
  });

  it("reads an 80 GB HBM part as binary gigabytes, within 1% of 80 GiB (not 80e9 bytes)", () => {
    for (const name of ["H100-SXM-80GB", "H100-PCIe-80GB", "A100-80GB"]) {
      const bytes = HARDWARE_CATALOG[name]?.memoryBytes ?? 0;
      expect(Math.abs(bytes / (80 * 1024 ** 3) - 1)).toBeLessThan(0.01);
      expect(bytes).toBeGreaterThan(85e9);
    }
  });

  it("is frozen", () => {
    expect(Object.isFrozen(HARDWARE_CATALOG)).toBe(true);
  });
});

describe("model catalog", () => {
  // serving.md's "KV bytes per token (BF16)" column.
  it.each([
    ["Llama-3.1-8B", 131_072],
    ["Mistral-7B-v0.1", 131_072],
    ["Llama-3.1-70B", 327_680],
    ["Llama-2-7B", 524_288],
    ["Llama-2-70B", 327_680],
  ])("%s holds %i KV bytes per token in bf16", (name, bytes) => {
    const model = MODEL_CATALOG[name];
    if (model === undefined) throw new Error(`missing ${name}`);
    expect(kvBytesPerToken(model, "bf16")).toBe(bytes);
    expect(kvBytesPerToken(model, "fp8")).toBe(bytes / 2);
  });

  it("sizes Qwen2.5-0.5B from its config.json (24 layers x 2 KV heads x 64 dims x 2 x 2 bytes)", () => {
    const qwen = MODEL_CATALOG["Qwen2.5-0.5B"];
    if (qwen === undefined) throw new Error("missing Qwen2.5-0.5B");
    expect(kvBytesPerToken(qwen, "bf16")).toBe(12_288);
    expect(qwen.source).toMatch(/config\.json/);
  });

  it.each([
    ["bf16", 16.06e9],
    ["fp8", 8.03e9],
    ["int4", 4.015e9],
  ] as const)("Llama-3.1-8B weighs params x bytes per weight in %s", (precision, bytes) => {
    const model = MODEL_CATALOG["Llama-3.1-8B"];
    if (model === undefined) throw new Error("missing model");
    expect(weightBytes(model, precision)).toBeCloseTo(bytes, -3);
  });

  it("records Mistral's sliding window and only Mistral's", () => {
    const windows = Object.values(MODEL_CATALOG).filter((m) => m.slidingWindow !== undefined);
    expect(windows.map((m) => [m.name, m.slidingWindow])).toEqual([["Mistral-7B-v0.1", 4096]]);
  });
});
