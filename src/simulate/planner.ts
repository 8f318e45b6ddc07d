import { HARDWARE_CATALOG } from "../config/catalog/hardware.js";
import {
  PLAN_MODEL_ID,
  type PlanOption,
  type PlanPrecision,
  planConfig,
  planOptions,
  type SkippedOption,
} from "./plan-options.js";
import { searchInWorkers } from "./plan-pool.js";
import { type SimulateOptions, type SimulationReport, simulate } from "./runner.js";
import { smallestPassing } from "./smallest-passing.js";
import { traceArrivals } from "./trace.js";
import { type Arrival, CHAT_LENGTHS, type LengthDistribution, type WorkloadSpec } from "./workload.js";

/** p99 latency targets of one SLO class, as `--slo interactive:ttft_p99=0.5s,tpot_p99=0.05s` states them. */
export interface SloTarget {
  sloClass: string;
  ttftMs: number;
  tpotMs: number;
}

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

const DEFAULT_MAX_REPLICAS = 64;

/**
 * For each buildable option, the smallest replica count whose simulated p99 TTFT and TPOT of the SLO class are
 * within the targets with no request failed or shed, found by exponential then binary search (2 log2 N + 1
 * simulations at most). Assumes meeting the targets is monotone in the replica count, which holds up to
 * sampling noise since each workload (same seed, or the same trace) is identical across runs and more replicas
 * only shorten queues.
 */
export async function plan(input: PlanInput): Promise<PlanResult> {
  const wallStart = performance.now();
  const { feasible, skipped } = planOptions(input);
  const jobs = Math.min(input.jobs ?? 1, feasible.length);
  // Options are independent searches: with jobs > 1 they run in worker threads (the real simulator only).
  const outcomes =
    jobs > 1 && input.simulate === undefined
      ? await searchInWorkers({ options: feasible, input, jobs })
      : await searchInTurn(feasible, input);
  const rows: PlanRow[] = [];
  const unmet: SkippedOption[] = [];
  let simulations = 0;
  for (const outcome of outcomes) {
    simulations += outcome.simulations;
    if (outcome.row !== undefined) rows.push(outcome.row);
    if (outcome.unmet !== undefined) unmet.push(outcome.unmet);
  }
  // Stable: ties keep the order of the options (profile, GPU, precision, TP as given).
  rows.sort((a, b) => a.spendPerHourUsd - b.spendPerHourUsd || a.gpuCount - b.gpuCount);
  return { rows, unmet, skipped, simulations, wallSeconds: (performance.now() - wallStart) / 1000 };
}

/** What the search found for one option: its row, or why it is unmet; and the simulations it ran. */
export interface OptionOutcome {
  row?: PlanRow;
  unmet?: SkippedOption;
  simulations: number;
}

async function searchInTurn(options: readonly PlanOption[], input: PlanInput): Promise<OptionOutcome[]> {
  const outcomes: OptionOutcome[] = [];
  for (const option of options) outcomes.push(await searchOption(option, input));
  return outcomes;
}

/** The fewest replicas of `option` that meet the targets (see plan), by simulation. */
export async function searchOption(option: PlanOption, input: PlanInput): Promise<OptionOutcome> {
  const run = input.simulate ?? simulate;
  const maxReplicas = input.maxReplicas ?? DEFAULT_MAX_REPLICAS;
  const reports = new Map<number, SimulationReport>();
  let floor: string | undefined;
  const found = await smallestPassing({
    max: maxReplicas,
    passes: async (replicas) => {
      const report = await run({
        config: planConfig({ option, replicas, slo: input.slo, latency: input.latency }),
        ...planLoad(input),
        seed: input.seed,
        guard: false,
        drainLimitS: 120,
      });
      const ok = meetsTargets(report, input.slo);
      input.onEvaluated?.(option, replicas, ok);
      const previous = reports.get(replicas / 2);
      reports.set(replicas, report);
      if (ok) return "pass";
      // Doubling the fleet did not help: the miss is the replica's own latency (e.g. prefill chunks
      // stretching every decode step), not queueing, so more replicas will not help either.
      floor = previous === undefined ? undefined : latencyFloor(previous, report, input.slo);
      return floor === undefined ? "fail" : "stop";
    },
  });
  const simulations = found.evaluated.length;
  if (found.smallest === undefined) {
    return {
      unmet: { ...option, reason: floor ?? `misses the targets even with ${maxReplicas} replicas` },
      simulations,
    };
  }
  const report = reports.get(found.smallest)!;
  return {
    row: {
      ...planRow({ option, replicas: found.smallest, report, slo: input.slo }),
      evaluations: simulations,
    },
    simulations,
  };
}

/**
 * Why more replicas cannot help, when `after` (twice the replicas of `before`) still misses and no missed p99
 * improved by 2% or more; undefined otherwise.
 */
function latencyFloor(before: SimulationReport, after: SimulationReport, slo: SloTarget): string | undefined {
  const a = before.classes[slo.sloClass];
  const b = after.classes[slo.sloClass];
  if (a === undefined || b === undefined || after.completed !== after.requests) return undefined;
  const missed: string[] = [];
  for (const [name, key, target] of [
    ["TTFT", "ttftMs", slo.ttftMs],
    ["TPOT", "tpotMs", slo.tpotMs],
  ] as const) {
    if (b[key].p99 <= target) continue;
    if (b[key].p99 < 0.98 * a[key].p99) return undefined;
    missed.push(`p99 ${name} ${b[key].p99.toFixed(1)} ms > ${target} ms`);
  }
  return missed.length === 0
    ? undefined
    : `latency floor: ${missed.join(", ")}, not improved by more replicas`;
}

/** Every request completed, and the class's p99 TTFT and TPOT are within the targets. */
export function meetsTargets(report: SimulationReport, slo: SloTarget): boolean {
  const measured = report.classes[slo.sloClass];
  if (measured === undefined || report.completed !== report.requests) return false;
  if (Object.values(report.errors).some((n) => n > 0)) return false;
  return measured.ttftMs.p99 <= slo.ttftMs && measured.tpotMs.p99 <= slo.tpotMs;
}

/** Addresses the Poisson workload (and trace lines without a client) come from; the guard is off anyway. */
const PLAN_CLIENTS = 1000;

/**
 * One trial's workload. A trace gets a fresh pass over the file per trial (an async generator runs once).
 * Its lines' `class` fields are dropped: the plan config defines only the planned class, and the pipeline
 * rejects an unknown class name (400) rather than falling back, so each line runs in the planned class.
 */
function planLoad(input: PlanInput): Pick<SimulateOptions, "workload" | "arrivals"> {
  const workload: WorkloadSpec = {
    rate: input.rate ?? 0,
    durationS: input.durationS ?? 0,
    model: PLAN_MODEL_ID,
    promptTokens: input.promptTokens ?? CHAT_LENGTHS.promptTokens,
    outputTokens: input.outputTokens ?? CHAT_LENGTHS.outputTokens,
    sloClassMix: {},
    clients: PLAN_CLIENTS,
    temperature: 1,
  };
  if (input.trace === undefined) return { workload };
  return {
    workload,
    arrivals: inDefaultClass(traceArrivals({ file: input.trace, seed: input.seed, clients: PLAN_CLIENTS })),
  };
}

async function* inDefaultClass(arrivals: AsyncIterable<Arrival>): AsyncGenerator<Arrival> {
  for await (const { sloClass: _, ...arrival } of arrivals) yield arrival;
}

function planRow(input: {
  option: PlanOption;
  replicas: number;
  report: SimulationReport;
  slo: SloTarget;
}): Omit<PlanRow, "evaluations"> {
  const { option, replicas, report, slo } = input;
  const measured = report.classes[slo.sloClass]!;
  const gpuCount = replicas * option.tensorParallel;
  const spendPerHourUsd = gpuCount * HARDWARE_CATALOG[option.gpu]!.pricePerGpuHourUsd;
  const tokensPerHour = report.throughputTokensPerSecond * 3600;
  return {
    ...option,
    replicas,
    gpuCount,
    spendPerHourUsd,
    costPerMillionOutputTokensUsd: tokensPerHour > 0 ? (spendPerHourUsd / tokensPerHour) * 1e6 : Number.NaN,
    sloAttainment: measured.sloAttainment,
    ttftP99Ms: measured.ttftMs.p99,
    tpotP99Ms: measured.tpotMs.p99,
    ttftHeadroom: measured.ttftMs.p99 > 0 ? slo.ttftMs / measured.ttftMs.p99 : Number.POSITIVE_INFINITY,
  };
}

/**
 * Parses `CLASS:ttft_p99=0.5s,tpot_p99=50ms` (units s or ms; both targets required). Throws a RangeError naming
 * what is wrong.
 */
export function parseSloTarget(spec: string): SloTarget {
  const match = /^([a-z0-9_-]{1,32}):(.+)$/.exec(spec);
  if (match === null)
    throw new RangeError(`--slo must look like CLASS:ttft_p99=0.5s,tpot_p99=0.05s, got "${spec}"`);
  const targets: Record<string, number> = {};
  for (const part of match[2]!.split(",")) {
    const target = /^(ttft|tpot)_p99=(\d+(?:\.\d+)?)(ms|s)$/.exec(part.trim());
    if (target === null) {
      throw new RangeError(`--slo target "${part}" must be ttft_p99=<n>s|ms or tpot_p99=<n>s|ms`);
    }
    const ms = Number(target[2]) * (target[3] === "s" ? 1000 : 1);
    // The class schema takes whole milliseconds.
    targets[target[1]!] = Math.max(1, Math.round(ms));
  }
  if (targets["ttft"] === undefined || targets["tpot"] === undefined) {
    throw new RangeError(`--slo needs both ttft_p99 and tpot_p99, got "${spec}"`);
  }
  return { sloClass: match[1]!, ttftMs: targets["ttft"], tpotMs: targets["tpot"] };
}
