import { defaultEngineSettings } from "../backends/simulated/defaults.js";
import { planMemory } from "../backends/simulated/memory.js";
import { HARDWARE_ALIASES, HARDWARE_CATALOG, resolveHardwareName } from "../config/catalog/hardware.js";
import { type KvCacheDtype, MODEL_CATALOG, type ModelProfile } from "../config/catalog/models.js";
import { parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { SloTarget } from "./slo-target.js";

export const PLAN_PRECISIONS = Object.freeze(["bf16", "fp8", "int4"] as const);
export type PlanPrecision = (typeof PLAN_PRECISIONS)[number];

/**
 * One way to build a replica of a model: a GPU type, how many of them (tensor parallel), and the weight
 * precision.
 */
export interface PlanOption {
  /** Model catalog profile. */
  profile: string;
  /** Catalog name of the GPU (aliases resolved), or the name as given when it is unknown (skipped only). */
  gpu: string;
  tensorParallel: number;
  /**
   * bf16: bf16 weights and KV cache. fp8: fp8 weights (W8A8) and an fp8 KV cache, as the default fleet's
   * Llama-3.1-70B deployment. int4: weight-only INT4 (dequantised to bf16 math) with a bf16 KV cache.
   */
  precision: PlanPrecision;
}

export interface SkippedOption extends PlanOption {
  reason: string;
}

export const DEFAULT_TENSOR_PARALLEL: readonly number[] = Object.freeze([1, 2, 4, 8]);
export const DEFAULT_PRECISIONS: readonly PlanPrecision[] = Object.freeze(["bf16", "fp8"]);

/** The model id a planned config serves, and its workloads request. */
export const PLAN_MODEL_ID = "planned";

/** The KV-cache dtype that goes with a planned precision: only fp8 quantises the cache. */
export function kvCacheDtypeFor(precision: PlanPrecision): KvCacheDtype {
  return precision === "fp8" ? "fp8" : "bf16";
}

/** The catalog profile, or a RangeError listing the known ones. */
export function modelProfile(profile: string): ModelProfile {
  const model = MODEL_CATALOG[profile];
  if (model === undefined) {
    throw new RangeError(
      `unknown model profile "${profile}" (known: ${Object.keys(MODEL_CATALOG).join(", ")})`,
    );
  }
  return model;
}

/**
 * Every (profile, GPU, TP, precision), split into those a replica can be built from and those it cannot, with
 * the reason: an unknown GPU, fp8 on a GPU without fp8 tensor cores, a TP degree that does not shard the
 * attention heads (vLLM's rule, as the simulated backend checks it), or weights/KV that do not fit the memory
 * (planMemory with vLLM's default engine settings for the GPU, the same sizing the engine uses at start-up).
 * GPU names may be aliases (resolveHardwareName); names standing for the same GPU are planned once. Throws a
 * RangeError for an unknown profile.
 */
export function planOptions(input: {
  profiles: readonly string[];
  gpus: readonly string[];
  tensorParallel?: readonly number[];
  precisions?: readonly PlanPrecision[];
}): { feasible: PlanOption[]; skipped: SkippedOption[] } {
  const models = [...new Set(input.profiles)].map(modelProfile);
  const gpus = [...new Set(input.gpus.map((name) => resolveHardwareName(name) ?? name))];
  const feasible: PlanOption[] = [];
  const skipped: SkippedOption[] = [];
  for (const model of models) {
    for (const gpu of gpus) {
      for (const precision of new Set(input.precisions ?? DEFAULT_PRECISIONS)) {
        for (const tensorParallel of new Set(input.tensorParallel ?? DEFAULT_TENSOR_PARALLEL)) {
          const option: PlanOption = { profile: model.name, gpu, tensorParallel, precision };
          const reason = unbuildable(model, option);
          if (reason === undefined) feasible.push(option);
          else skipped.push({ ...option, reason });
        }
      }
    }
  }
  return { feasible, skipped };
}

/** Why a replica of `option` cannot be built, or undefined when it can. */
function unbuildable(model: ModelProfile, option: PlanOption): string | undefined {
  const { gpu, tensorParallel, precision } = option;
  const hardware = HARDWARE_CATALOG[gpu];
  if (hardware === undefined) {
    const aliases = Object.entries(HARDWARE_ALIASES).map(([alias, name]) => `${alias} = ${name}`);
    return `unknown hardware (known: ${Object.keys(HARDWARE_CATALOG).join(", ")}; aliases: ${aliases.join(", ")})`;
  }
  if (precision === "fp8" && hardware.peakFlops.fp8 === undefined) return `${gpu} has no fp8 tensor cores`;
  if (model.queryHeads % tensorParallel !== 0)
    return `TP ${tensorParallel} does not divide ${model.name}'s ${model.queryHeads} query heads`;
  if (model.kvHeads % tensorParallel !== 0 && tensorParallel % model.kvHeads !== 0)
    return `TP ${tensorParallel} neither divides nor is a multiple of ${model.kvHeads} KV heads`;
  try {
    planMemory({
      hardware,
      model,
      precision,
      kvCacheDtype: kvCacheDtypeFor(precision),
      tensorParallel,
      engine: defaultEngineSettings(hardware),
    });
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/**
 * The option's model, one deployment of `replicas`, guard and cache off, and the SLO class alone as the default
 * class with the targets. Its queue limit is generous (60 s) so an undersized fleet shows up as a long p99 TTFT
 * rather than as sheds decided by a queue setting.
 */
export function planConfig(input: {
  option: PlanOption;
  replicas: number;
  slo: SloTarget;
  latency?: "roofline" | "zero" | undefined;
}): Config {
  const { option, slo } = input;
  return parseConfig({
    guard: { enabled: false },
    cache: { enabled: false },
    scheduling: {
      defaultClass: slo.sloClass,
      classes: {
        [slo.sloClass]: {
          priority: 50,
          ttftMs: slo.ttftMs,
          tpotMs: slo.tpotMs,
          e2eMs: 3_600_000,
          percentile: 99,
          maxQueueMs: 60_000,
        },
      },
    },
    log: { level: "silent" },
    models: [{ id: PLAN_MODEL_ID, profile: option.profile }],
    deployments: [
      {
        name: "plan",
        model: PLAN_MODEL_ID,
        replicas: input.replicas,
        backend: {
          type: "simulated",
          hardware: option.gpu,
          tensorParallel: option.tensorParallel,
          precision: option.precision,
          kvCacheDtype: kvCacheDtypeFor(option.precision),
          latency: input.latency ?? "roofline",
        },
      },
    ],
  });
}
