import { z } from "zod";
import { overridesOf, positiveInt } from "./fields.js";

/** Fields left out take vLLM V1's defaults for the deployment's GPU (defaultEngineSettings in backends/simulated/defaults.ts). */
export const engineSchema = z
  .object({
    maxNumSeqs: positiveInt.meta({
      description: "Most sequences in one batch (vLLM's max_num_seqs).",
      whenUnset: "by GPU: 1024 on GPUs of >= 70 GiB that are not A100s, else 256 (vLLM V1's rule)",
    }),
    maxNumBatchedTokens: positiveInt.meta({
      description: "Token budget of one step, prefill chunks plus decodes (max_num_batched_tokens).",
      whenUnset: "by GPU: 8192 on GPUs of >= 70 GiB that are not A100s, else 2048",
    }),
    blockSize: positiveInt.meta({
      description: "Tokens per KV block (block_size).",
      whenUnset: "16, as vLLM",
    }),
    gpuMemoryUtilization: z.number().gt(0).max(1).meta({
      description:
        "Share of GPU memory the engine may use for weights, activations and KV cache (gpu_memory_utilization).",
      whenUnset: "0.9",
    }),
    activationReserveBytes: z.number().int().nonnegative().meta({
      description: "Memory held back per GPU for activations and CUDA graphs, in bytes.",
      whenUnset: "2e9",
    }),
    prefixCaching: z.boolean().meta({
      description: "Keep full KV blocks keyed by prompt prefix for reuse (enable_prefix_caching).",
      whenUnset: "true",
    }),
  })
  .partial()
  .strict()
  .meta({
    title: "Engine",
    description:
      "Continuous-batching scheduler limits of a simulated replica (vLLM's names in parentheses). Fields left " +
      "out take vLLM V1's defaults for the deployment's GPU.",
  });

/** The defaults are one calibrated set, shared with the engine (DEFAULT_EFFICIENCY_SETTINGS). */
const efficiencyFields = z
  .object({
    mbu: z
      .number()
      .gt(0)
      .max(1)
      .default(0.8)
      .describe(
        "Model bandwidth utilisation: achieved share of memory bandwidth in decode steps (published: " +
          '0.5-0.6 in older engines; calibrated: 0.8, README: "Fidelity against published measurements").',
      ),
    mfuMin: z
      .number()
      .gt(0)
      .max(1)
      .default(0.35)
      .describe(
        "Model FLOP/s utilisation of a step of few tokens (published: about 0.35 for short prompts); rises " +
          "linearly with the step's tokens to mfuMax. At most mfuMax.",
      ),
    mfuMax: z
      .number()
      .gt(0)
      .max(1)
      .default(0.6)
      .describe("MFU once a step holds mfuRampTokens or more (published: 0.45-0.7 for 2k-token prompts)."),
    mfuRampTokens: positiveInt.default(2048).describe("Tokens in a step at which MFU reaches mfuMax."),
    stepOverheadMs: z
      .number()
      .nonnegative()
      .default(2)
      .describe("Host time per step: scheduling, sampling, detokenising (calibrated: 2 ms)."),
    allReduceLatencyUs: z
      .number()
      .nonnegative()
      .default(20)
      .describe(
        "Fixed cost of one tensor-parallel all-reduce (launch and synchronisation), microseconds; 2 per layer " +
          "per step at tensor parallelism > 1.",
      ),
  })
  .strict();

export const efficiencySchema = efficiencyFields
  .refine((e) => e.mfuMin <= e.mfuMax, {
    message: "mfuMin must not exceed mfuMax",
    path: ["mfuMin"],
  })
  .meta({
    title: "Efficiency",
    description:
      "Achieved fractions of the roofline, one set calibrated against published measurements " +
      "(bench/scenarios/fidelity.ts); the published ranges are given per key.",
  });

/** A deployment's overrides: any subset of the fields, checked against the merged set by the engine. */
export const efficiencyOverridesSchema = overridesOf(efficiencyFields);

export const outputSchema = z
  .object({
    lengthMedian: z
      .number()
      .positive()
      .default(200)
      .describe("Median completion length in tokens when max_tokens does not cut it short."),
    lengthSigma: z
      .number()
      .nonnegative()
      .default(0.8)
      .describe("Sigma of the underlying normal; 0.8 gives a p90/p50 ratio of about 2.8."),
  })
  .strict()
  .meta({
    title: "Output",
    description: "Output length model: log-normal around a median, capped by max_tokens.",
  });

export const defaultsSchema = z
  .object({
    engine: engineSchema.default({}),
    efficiency: efficiencySchema.default(efficiencySchema.parse({})),
    output: outputSchema.default(outputSchema.parse({})),
  })
  .strict()
  .meta({
    title: "Defaults",
    description: "Engine defaults for every simulated deployment; a deployment's own values win.",
  });
