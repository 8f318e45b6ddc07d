import type { HardwareProfile } from "../../config/catalog/hardware.js";
import type { EfficiencySettings, EngineSettings, FaultSettings, OutputSettings } from "./types.js";

/** vLLM decides its batch defaults on the GPU's memory in GiB (EngineArgs.get_batch_defaults). */
const GIB = 1024 ** 3;

/**
 * vLLM V1's defaults for its OpenAI server (vllm/engine/arg_utils.py, EngineArgs.get_batch_defaults): GPUs with
 * at least 70 GiB that are not A100s (H100, H200, MI300X) get a step budget of 8,192 tokens and 1,024 sequences;
 * the rest 2,048 and 256 (larger budgets measurably hurt A100 throughput, vLLM PR #17885). Block size 16,
 * gpu_memory_utilization 0.9 and prefix caching on are vLLM V1 defaults too. The activation reserve stands in for
 * vLLM's profiling run (peak activations of one max-budget step, CUDA graphs, workspace); 2 GB is the order vLLM
 * logs for 7-8B models and is an estimate, overridable in config.
 */
export function defaultEngineSettings(hardware: HardwareProfile): EngineSettings {
  const large = hardware.memoryBytes >= 70 * GIB && !hardware.name.toLowerCase().includes("a100");
  return {
    maxNumSeqs: large ? 1024 : 256,
    maxNumBatchedTokens: large ? 8192 : 2048,
    blockSize: 16,
    gpuMemoryUtilization: 0.9,
    activationReserveBytes: 2e9,
    prefixCaching: true,
  };
}

/**
 * Calibrated against published measurements (bench/scenarios/fidelity.ts, rows in
 * bench/data/published-measurements.json): a coordinate search over these five knobs, one set for every row,
 * minimising the mean absolute percentage error. Decode MBU comes out at 0.8, above serving.md's 0.5-0.6
 * (older engines; the vLLM 0.23 row on an A100 runs a lone decode at about 77% of the bandwidth roofline),
 * MFU 0.35 rising to 0.6 over 2,048 tokens as published, 2 ms of host time per step and 20 us per
 * tensor-parallel all-reduce.
 */
export const DEFAULT_EFFICIENCY_SETTINGS: Readonly<EfficiencySettings> = Object.freeze({
  mbu: 0.8,
  mfuMin: 0.35,
  mfuMax: 0.6,
  mfuRampTokens: 2048,
  stepOverheadMs: 2,
  allReduceLatencyUs: 20,
});

/**
 * Chat-assistant answers: a median of 200 tokens with a long right tail (sigma 1.0 puts the 90th percentile
 * near 720 tokens), the shape of ShareGPT-style conversation traces used by serving benchmarks. An estimate.
 */
export const DEFAULT_OUTPUT_SETTINGS: Readonly<OutputSettings> = Object.freeze({
  lengthMedian: 200,
  lengthSigma: 1.0,
});

export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({
  errorRate: 0,
  latencyMultiplier: 1,
  hang: false,
  outages: Object.freeze([]),
});
