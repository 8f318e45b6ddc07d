import { z } from "zod";
import { positiveInt } from "./fields.js";

const hardwareEntrySchema = z
  .object({
    memoryBytes: z.number().positive().describe("Device memory in bytes."),
    memoryBandwidthBytesPerS: z.number().positive().describe("Peak memory bandwidth in bytes per second."),
    peakFlops: z
      .object({
        bf16: z.number().positive().describe("Dense BF16 tensor-core peak, FLOP/s."),
        fp8: z
          .number()
          .positive()
          .optional()
          .meta({ description: "Dense FP8 tensor-core peak, FLOP/s.", whenUnset: "no FP8 tensor cores" }),
      })
      .strict()
      .describe("Dense (no structured sparsity) datasheet peaks."),
    interconnectBytesPerS: z
      .number()
      .positive()
      .default(32e9)
      .describe("Per-direction bandwidth to tensor-parallel peers; default: a PCIe Gen4 x16 link."),
    pricePerGpuHourUsd: z.number().nonnegative().describe("USD per GPU-hour."),
    source: z
      .string()
      .default("config")
      .describe("Where the figures come from (datasheet, price guide, date)."),
  })
  .strict();

const modelEntrySchema = z
  .object({
    parameters: z.number().positive().describe("Parameter count."),
    layers: positiveInt.describe("Transformer layers (num_hidden_layers)."),
    queryHeads: positiveInt.describe("Attention heads (num_attention_heads)."),
    kvHeads: positiveInt.describe("Key/value heads (fewer than query heads under grouped-query attention)."),
    headDim: positiveInt.describe("Dimension of one head (hidden_size / num_attention_heads)."),
    contextLength: positiveInt.describe("Maximum context (prompt + completion) in tokens."),
    slidingWindow: positiveInt.optional().meta({
      description: "Sliding-window attention span in tokens (caps the attended context).",
      whenUnset: "full attention",
    }),
    source: z.string().default("config").describe("Where the figures come from (model card, config.json)."),
  })
  .strict();

export const catalogSchema = z
  .object({
    hardware: z
      .record(z.string(), hardwareEntrySchema)
      .default({})
      .describe("GPUs to add to the built-in hardware catalog, or replace in it, by name."),
    models: z
      .record(z.string(), modelEntrySchema)
      .default({})
      .describe("Model profiles to add to the built-in model catalog, or replace in it, by name."),
  })
  .strict()
  .meta({
    title: "Catalog",
    description:
      'Additions to the built-in hardware and model catalogs (README: "The simulated engine"); a config entry ' +
      "replaces a built-in one of the same name.",
  });

export type HardwareEntry = z.infer<typeof hardwareEntrySchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;

/** Built-in names first, then the config's, as a set in that order (the order error messages list them in). */
export function catalogNames(
  builtIn: Readonly<Record<string, unknown>>,
  configured: Readonly<Record<string, unknown>>,
): Set<string> {
  return new Set([...Object.keys(builtIn), ...Object.keys(configured)]);
}
