import type { PlanOption, PlanPrecision, SkippedOption } from "./plan-options.js";
import type { SimulateOptions, SimulationReport } from "./runner.js";
import type { SloTarget } from "./slo-target.js";
import type { LengthDistribution } from "./workload.js";

/** The planner's input and results, below the planner, its option search and its worker pool alike. */

/**
 * The load every trial runs: a Poisson workload (requests per simulated second, for simulated seconds), or a
 * JSONL trace (trace.ts) replayed from the start in every trial.
 */
export type PlanLoad =
  | { rate: number; durationS: number; trace?: undefined }
  | { trace: string; rate?: undefined; durationS?: undefined };

export type PlanInput = PlanLoad & {
  /** Model catalog profiles (Llama-3.1-8B, ...); each is planned on every GPU option. */
  profiles: readonly string[];
  slo: SloTarget;
  /** Catalog names or aliases (resolveHardwareName). */
  gpus: readonly string[];
  /** Seeds the Poisson workload, or a trace's prompt words. */
  seed: number;
  tensorParallel?: readonly number[];
  precisions?: readonly PlanPrecision[];
  /** Largest replica count tried per option (default 64); an option that needs more is reported unmet. */
  maxReplicas?: number;
  /** Poisson workload lengths (default: CHAT_LENGTHS); a trace gives its own. */
  promptTokens?: LengthDistribution;
  outputTokens?: LengthDistribution;
  /** Engine step times (default `roofline`); `zero` is for tests. */
  latency?: "roofline" | "zero";
  /** Injected for tests; default: the real simulator. */
  simulate?: (options: SimulateOptions) => Promise<SimulationReport>;
  /** Called after every simulation (for progress lines). */
  onEvaluated?: (option: PlanOption, replicas: number, meets: boolean) => void;
  /**
   * Options searched at once, each in a worker thread (default 1: in this thread). Only with the real
   * simulator (no `simulate` injected); the result does not depend on it.
   */
  jobs?: number;
};

export interface PlanRow extends PlanOption {
  replicas: number;
  gpuCount: number;
  spendPerHourUsd: number;
  costPerMillionOutputTokensUsd: number;
  sloAttainment: number;
  ttftP99Ms: number;
  tpotP99Ms: number;
  /** Target / measured p99 TTFT (> 1: room to spare). */
  ttftHeadroom: number;
  /** Simulations the search ran for this option. */
  evaluations: number;
}

export interface PlanResult {
  /** Options that met the targets, cheapest spend per hour first (across models). */
  rows: PlanRow[];
  /** Options that did not meet the targets even at maxReplicas. */
  unmet: SkippedOption[];
  /** Options that cannot be built (unknown GPU, do not fit, no fp8, TP does not shard the heads). */
  skipped: SkippedOption[];
  simulations: number;
  wallSeconds: number;
}

/** What the search found for one option: its row, or why it is unmet; and the simulations it ran. */
export interface OptionOutcome {
  row?: PlanRow;
  unmet?: SkippedOption;
  simulations: number;
}
