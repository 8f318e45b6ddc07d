import { kvBytesPerToken, type ModelProfile, weightBytes } from "../../config/catalog/models.js";
import type { SimulatedBackendOptions } from "./types.js";

/** Per-GPU memory budget of one replica, as vLLM sizes it at start-up. */
export interface MemoryPlan {
  weightBytesPerGpu: number;
  /** KV bytes of one token on one GPU (each GPU holds its share of the KV heads). */
  kvBytesPerTokenPerGpu: number;
  kvBlocksTotal: number;
  maxTokensInKv: number;
}

export type MemoryPlanInput = Pick<
  SimulatedBackendOptions,
  "hardware" | "model" | "precision" | "kvCacheDtype" | "tensorParallel" | "engine"
>;

/**
 * Tensor parallelism shards attention heads, so TP must divide the query heads, and KV heads are either split
 * evenly or, when TP exceeds them, replicated one per GPU (vLLM's rule for grouped-query attention).
 */
export function kvHeadsPerGpu(model: ModelProfile, tensorParallel: number): number {
  return Math.max(1, model.kvHeads / tensorParallel);
}

/**
 * KV pool = device memory x utilisation - weights/TP - activation reserve, cut into blocks of `blockSize`
 * tokens (vLLM's gpu_memory_utilization accounting; serving.md). Throws when the weights do not fit or no
 * block is left, naming the model, GPU and TP so the config error is obvious.
 */
export function planMemory(input: MemoryPlanInput): MemoryPlan {
  const { hardware, model, precision, tensorParallel: tp, engine } = input;
  const usable = hardware.memoryBytes * engine.gpuMemoryUtilization;
  const weightBytesPerGpu = weightBytes(model, precision) / tp;
  const setup = `${model.name} (${precision}) on ${hardware.name} with tensor parallel ${tp}`;
  if (weightBytesPerGpu > usable) {
    throw new Error(
      `${setup} does not fit: ${gb(weightBytesPerGpu)} GB of weights per GPU exceeds ${gb(usable)} GB usable ` +
        `(${gb(hardware.memoryBytes)} GB x gpuMemoryUtilization ${engine.gpuMemoryUtilization}); ` +
        "raise tensorParallel, quantise, or pick a larger GPU",
    );
  }
  const kvBytesPerTokenPerGpu =
    (kvBytesPerToken(model, input.kvCacheDtype) * kvHeadsPerGpu(model, tp)) / model.kvHeads;
  const poolBytes = usable - weightBytesPerGpu - engine.activationReserveBytes;
  const kvBlocksTotal = Math.max(0, Math.floor(poolBytes / (engine.blockSize * kvBytesPerTokenPerGpu)));
  if (kvBlocksTotal < 1) {
    throw new Error(
      `${setup} leaves no room for the KV cache: ${gb(usable)} GB usable - ${gb(weightBytesPerGpu)} GB weights ` +
        `- ${gb(engine.activationReserveBytes)} GB activation reserve per GPU`,
    );
  }
  return {
    weightBytesPerGpu,
    kvBytesPerTokenPerGpu,
    kvBlocksTotal,
    maxTokensInKv: kvBlocksTotal * engine.blockSize,
  };
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(2);
}
