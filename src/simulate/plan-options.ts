import { defaultEngineSettings } from "../backends/simulated/defaults.js";
import { planMemory } from "../backends/simulated/memory.js";
import { HARDWARE_CATALOG } from "../config/catalog/hardware.js";
import { MODEL_CATALOG } from "../config/catalog/models.js";

export type PlanPrecision = "bf16" | "fp8";

/** One way to build a replica: a GPU type, how many of them (tensor parallel), and the weight precision. */
export interface PlanOption {
  gpu: string;
  tensorParallel: number;
  /** fp8 means fp8 weights (W8A8) and an fp8 KV cache, as the default fleet's Llama-3.1-70B deployment. */
  precision: PlanPrecision;
}

export interface SkippedOption extends PlanOption {
  reason: string;
}

export const DEFAULT_TENSOR_PARALLEL: readonly number[] = Object.freeze([1, 2, 4, 8]);
export const DEFAULT_PRECISIONS: readonly PlanPrecision[] = Object.freeze(["bf16", "fp8"]);

/**
 * Every (GPU, TP, precision) for `profile`, split into those a replica can be built from and those it cannot,
 * with the reason: an unknown GPU, fp8 on a GPU without fp8 tensor cores, a TP degree that does not shard the
 * attention heads (vLLM's rule, as the simulated backend checks it), or weights/KV that do not fit the memory
 * (planMemory with vLLM's default engine settings for the GPU, the same sizing the engine uses at start-up).
 */
export function planOptions(input: {
  profile: string;
  gpus: readonly string[];
  tensorParallel?: readonly number[];
  precisions?: readonly PlanPrecision[];
}): { feasible: PlanOption[]; skipped: SkippedOption[] } {
  const model = MODEL_CATALOG[input.profile];
  if (model === undefined) {
    throw new RangeError(
      `unknown model profile "${input.profile}" (known: ${Object.keys(MODEL_CATALOG).join(", ")})`,
    );
  }
  const feasible: PlanOption[] = [];
  const skipped: SkippedOption[] = [];
  for (const gpu of input.gpus) {
    const hardware = HARDWARE_CATALOG[gpu];
    for (const precision of input.precisions ?? DEFAULT_PRECISIONS) {
      for (const tensorParallel of input.tensorParallel ?? DEFAULT_TENSOR_PARALLEL) {
        const option: PlanOption = { gpu, tensorParallel, precision };
        let reason: string | undefined;
        if (hardware === undefined) {
          reason = `unknown hardware (known: ${Object.keys(HARDWARE_CATALOG).join(", ")})`;
        } else if (precision === "fp8" && hardware.peakFlops.fp8 === undefined) {
          reason = `${gpu} has no fp8 tensor cores`;
        } else if (model.queryHeads % tensorParallel !== 0) {
          reason = `TP ${tensorParallel} does not divide ${model.name}'s ${model.queryHeads} query heads`;
        } else if (model.kvHeads % tensorParallel !== 0 && tensorParallel % model.kvHeads !== 0) {
          reason = `TP ${tensorParallel} neither divides nor is a multiple of ${model.kvHeads} KV heads`;
        } else {
          try {
            planMemory({
              hardware,
              model,
              precision,
              kvCacheDtype: precision,
              tensorParallel,
              engine: defaultEngineSettings(hardware),
            });
          } catch (error) {
            reason = (error as Error).message;
          }
        }
        if (reason === undefined) feasible.push(option);
        else skipped.push({ ...option, reason });
      }
    }
  }
  return { feasible, skipped };
}
