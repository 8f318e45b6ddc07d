import type { HardwareProfile } from "../../config/catalog/hardware.js";
import type { KvCacheDtype, ModelProfile, Precision } from "../../config/catalog/models.js";
import type { Clock } from "../../core/clock.js";
import type { BackendStats, ReplicaInfo } from "../backend.js";

/** Scheduler and memory settings, named after vLLM's engine arguments. */
export interface EngineSettings {
  /** Most sequences in the running batch (vLLM `max_num_seqs`). */
  maxNumSeqs: number;
  /** Token budget of one step, decodes and prefill chunks together (vLLM `max_num_batched_tokens`). */
  maxNumBatchedTokens: number;
  /** Tokens per KV-cache block (vLLM `block_size`). */
  blockSize: number;
  /** Fraction of device memory the engine may use for weights, activations and KV cache (0..1]. */
  gpuMemoryUtilization: number;
  /** Bytes per GPU held back for activations, CUDA graphs and workspace (vLLM measures this by profiling). */
  activationReserveBytes: number;
  /** Automatic prefix caching of full KV blocks (vLLM `enable_prefix_caching`). */
  prefixCaching: boolean;
}

/** How close to the hardware roofline the engine runs; calibration knobs, not constants. */
export interface EfficiencySettings {
  /** Achieved fraction of peak memory bandwidth (model bandwidth utilisation), (0..1]. */
  mbu: number;
  /** Achieved fraction of peak FLOP/s for a tiny step ... */
  mfuMin: number;
  /** ... rising linearly to this for steps of `mfuRampTokens` tokens or more. */
  mfuMax: number;
  mfuRampTokens: number;
  /** Host-side time per step: scheduling, sampling, detokenising, kernel launches. */
  stepOverheadMs: number;
  /** Fixed cost of one tensor-parallel all-reduce, microseconds (the bandwidth term comes on top). */
  allReduceLatencyUs: number;
}

/** Log-normal distribution of the natural (unconstrained) completion length in tokens. */
export interface OutputSettings {
  lengthMedian: number;
  lengthSigma: number;
}

export interface OutageWindow {
  /** Start, in ms after the backend was created, on the backend's clock. */
  startMs: number;
  durationMs: number;
}

export interface FaultSettings {
  /** Probability, per request, that it fails with `backend_error` at the end of its first scheduled step. */
  errorRate: number;
  /** Multiplies every step time (a throttled or noisy-neighbour GPU). */
  latencyMultiplier: number;
  /** The engine accepts requests but never steps: they wait until aborted while the replica looks ready. */
  hang: boolean;
  /** Crash windows: not ready, new requests rejected, in-flight requests failed, KV cache lost. */
  outages: ReadonlyArray<OutageWindow>;
}

export interface SimulatedBackendOptions {
  replica: ReplicaInfo;
  hardware: HardwareProfile;
  model: ModelProfile;
  precision: Precision;
  kvCacheDtype: KvCacheDtype;
  /** GPUs per replica; weights, KV cache and FLOPs are split evenly across them. */
  tensorParallel: number;
  engine: EngineSettings;
  efficiency: EfficiencySettings;
  output: OutputSettings;
  faults: FaultSettings;
  clock: Clock;
  /** `roofline` (default): step times from the model above; `zero`: steps take no time (gateway benchmarks). */
  latencyProfile?: "roofline" | "zero";
  /** Seeds the fault-injection stream (generated text is seeded per request, independent of the replica). */
  seed: number;
}

/**
 * Cumulative engine counters for metrics scraping, in vLLM's vocabulary: the Backend's stats (prefix-cache
 * queries count only with prefix caching on; computed prompt tokens exclude cache hits and include recomputation
 * after preemption) plus the KV pool's occupancy.
 */
export interface EngineStats extends BackendStats {
  kvBlocksTotal: number;
  /** Blocks referenced by running sequences (cached but unreferenced blocks count as free). */
  kvBlocksUsed: number;
}

export interface EngineCapacity {
  kvBlocksTotal: number;
  /** kvBlocksTotal x blockSize: the most tokens the KV cache holds at once. */
  maxTokensInKv: number;
}
