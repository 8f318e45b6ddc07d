import { z } from "zod";
import { efficiencyOverridesSchema, engineSchema, outputSchema } from "./defaults.js";
import { fraction, overridesOf, positiveInt } from "./fields.js";

export const faultsSchema = z
  .object({
    errorRate: fraction
      .default(0)
      .describe("Probability that a request fails before its first token with a retryable backend error."),
    latencyMultiplier: z
      .number()
      .positive()
      .default(1)
      .describe("Multiplies every step time (a slow or throttled replica)."),
    hang: z
      .boolean()
      .default(false)
      .describe("Accept requests but never produce a token (a hung replica that still looks alive)."),
    outages: z
      .array(
        z
          .object({
            startMs: z.number().nonnegative().describe("Start of the outage, after the replica's start."),
            durationMs: z.number().positive().describe("How long the replica stays down."),
          })
          .strict(),
      )
      .default([])
      .describe(
        "Windows, relative to the replica's start, when the replica is down: not ready, requests fail, KV cache lost.",
      ),
  })
  .strict()
  .meta({ title: "Faults", description: "Faults injected into every replica of a simulated deployment." });

export const simulatedBackendSchema = z
  .object({
    type: z.literal("simulated").describe("A simulated GPU engine in this process."),
    hardware: z.string().min(1).describe("Key in the hardware catalog (built-in or catalog.hardware)."),
    tensorParallel: positiveInt
      .default(1)
      .describe("GPUs per replica; weights, KV cache and compute are split across them."),
    precision: z.enum(["bf16", "fp8", "int4"]).default("bf16").describe("Precision of the weights."),
    kvCacheDtype: z.enum(["bf16", "fp8"]).default("bf16").describe("Precision of the KV cache."),
    latency: z
      .enum(["roofline", "zero"])
      .default("roofline")
      .describe(
        "`roofline`: step times from the roofline model; `zero`: steps take no time (to benchmark the gateway " +
          "itself; responses then cost 0).",
      ),
    pricePerGpuHourUsd: z.number().nonnegative().optional().meta({
      description: "Overrides the catalog's price of one GPU-hour.",
      whenUnset: "the hardware catalog's",
    }),
    engine: engineSchema.default({}).meta({
      description: "Overrides of defaults.engine for this deployment: any of the same keys.",
      whenUnset: "defaults.engine",
      seeKey: "defaults.engine",
    }),
    efficiency: efficiencyOverridesSchema.default({}).meta({
      description: "Overrides of defaults.efficiency for this deployment: any of the same keys.",
      whenUnset: "defaults.efficiency",
      seeKey: "defaults.efficiency",
    }),
    output: overridesOf(outputSchema).default({}).meta({
      description: "Overrides of defaults.output for this deployment: any of the same keys.",
      whenUnset: "defaults.output",
      seeKey: "defaults.output",
    }),
    faults: faultsSchema.default({ errorRate: 0, latencyMultiplier: 1, hang: false, outages: [] }),
  })
  .strict()
  .meta({
    title: "Simulated backend",
    description:
      'Replicas simulated in this process: a roofline model of the GPU and model (README: "The simulated engine").',
  });

export type SimulatedBackendConfig = z.infer<typeof simulatedBackendSchema>;
