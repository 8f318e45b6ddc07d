import { defaultEngineSettings } from "../../src/backends/simulated/defaults.js";
import { planMemory } from "../../src/backends/simulated/memory.js";
import {
  createLatencyModel,
  type LatencyModel,
  type SequenceWork,
} from "../../src/backends/simulated/roofline.js";
import { hardwareProfile, modelProfile } from "../../src/config/profiles.js";
import type { Config } from "../../src/config/schema.js";

export interface CapacityInput {
  /** The replica's step-time model (src/backends/simulated/roofline.ts). */
  latency: Pick<LatencyModel, "estimate">;
  /** Sequences the engine runs at once (its maxNumSeqs, or the gateway's concurrency limit if lower). */
  batch: number;
  /** Fixed prompt length of every request, in tokens (no prefix-cache hits). */
  promptTokens: number;
  /** Fixed output length of every request, in tokens. */
  outputTokens: number;
}

export interface CapacityEstimate {
  /** Mean step time over the cycle. */
  meanStepMs: number;
  /** Time one request holds a batch slot: its prefill step and its decode steps. */
  serviceMs: number;
  /** Requests one replica completes per second with every slot busy. */
  requestsPerSecond: number;
}

/**
 * Steady-state throughput of one continuously batched replica whose batch is always full, from the roofline
 * step model. A request occupies its slot for `outputTokens` steps: one prefill step (the whole prompt, which
 * samples the first token) and `outputTokens - 1` decode steps. With `batch` slots staggered evenly, slot k
 * starts a new request every cycle at step floor(k x outputTokens / batch), so every step of the cycle holds
 * `batch` sequences at spread-out positions; the cycle's length is the sum of its step times and each slot
 * completes one request per cycle. Exact for that idealised schedule; a real engine's arrivals bunch up, so a
 * measured capacity comes out a little lower.
 */
export function estimateCapacity(input: CapacityInput): CapacityEstimate {
  const { latency, batch, promptTokens, outputTokens } = input;
  const integer = (field: string, value: number) => {
    if (!(Number.isInteger(value) && value >= 1)) {
      throw new RangeError(`${field} must be an integer >= 1, got ${value}`);
    }
  };
  integer("batch", batch);
  integer("promptTokens", promptTokens);
  integer("outputTokens", outputTokens);
  let cycleMs = 0;
  for (let step = 0; step < outputTokens; step++) {
    const work: SequenceWork[] = [];
    for (let slot = 0; slot < batch; slot++) {
      const position = (step - Math.floor((slot * outputTokens) / batch) + outputTokens) % outputTokens;
      work.push(
        position === 0
          ? { contextTokens: 0, newTokens: promptTokens }
          : { contextTokens: promptTokens + position - 1, newTokens: 1 },
      );
    }
    cycleMs += latency.estimate(work).stepMs;
  }
  return {
    meanStepMs: cycleMs / outputTokens,
    serviceMs: cycleMs,
    requestsPerSecond: (batch * 1000) / cycleMs,
  };
}

/** A model's pool of simulated replicas as a config describes it, with the step model of one replica. */
export interface PoolShape {
  hardware: string;
  model: string;
  precision: string;
  tensorParallel: number;
  replicas: number;
  /** The engine's batch limit (vLLM max_num_seqs) after defaults and overrides. */
  maxNumSeqs: number;
  /** The gateway's concurrency limit per replica (`models[].scheduling`). */
  maxConcurrentPerReplica: number;
  /** Sequences a replica runs at once: the engine's limit, or the gateway's if that is lower. */
  batch: number;
  latency: LatencyModel;
}

/**
 * The pool of `modelId` (default: the config's first model), which must be served by one simulated deployment.
 * Engine settings, efficiency and the memory plan are merged the way from-config.ts builds a replica: vLLM's
 * defaults for the GPU, then the config's defaults, then the deployment's overrides.
 */
export function describePool(config: Config, modelId?: string): PoolShape {
  const model = modelId === undefined ? config.models[0] : config.models.find((m) => m.id === modelId);
  if (model === undefined) throw new Error(`no model ${modelId ?? "(first)"} in the config`);
  const deployments = config.deployments.filter((d) => d.model === model.id);
  const deployment = deployments[0];
  if (deployments.length !== 1 || deployment?.backend.type !== "simulated") {
    throw new Error(`model ${model.id} must be served by exactly one simulated deployment`);
  }
  const backend = deployment.backend;
  const hardware = hardwareProfile(config, backend.hardware);
  const profile = modelProfile(config, model.profile);
  const engine = { ...defaultEngineSettings(hardware), ...config.defaults.engine, ...backend.engine };
  const common = {
    hardware,
    model: profile,
    precision: backend.precision,
    tensorParallel: backend.tensorParallel,
  };
  const memory = planMemory({ ...common, kvCacheDtype: backend.kvCacheDtype, engine });
  const latency = createLatencyModel({
    ...common,
    efficiency: { ...config.defaults.efficiency, ...backend.efficiency },
    ...memory,
  });
  // Unset, the gateway lets each replica run its own batch limit.
  const maxConcurrentPerReplica = model.scheduling.maxConcurrentPerReplica ?? engine.maxNumSeqs;
  return {
    hardware: hardware.name,
    model: profile.name,
    precision: backend.precision,
    tensorParallel: backend.tensorParallel,
    replicas: deployment.replicas,
    maxNumSeqs: engine.maxNumSeqs,
    maxConcurrentPerReplica,
    batch: Math.min(engine.maxNumSeqs, maxConcurrentPerReplica),
    latency,
  };
}
