import { HARDWARE_CATALOG } from "../config/catalog/hardware.js";
import { parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { type PlanOption, type PlanPrecision, planOptions, type SkippedOption } from "./plan-options.js";
import { type SimulateOptions, type SimulationReport, simulate } from "./runner.js";
import { CHAT_LENGTHS, type LengthDistribution, type WorkloadSpec } from "./workload.js";

/** p99 latency targets of one SLO class, as `--slo interactive:ttft_p99=0.5s,tpot_p99=0.05s` states them. */
export interface SloTarget {
  sloClass: string;
  ttftMs: number;
  tpotMs: number;
}

export interface PlanInput {
  /** Model catalog profile (Llama-3.1-8B, ...). */
  profile: string;
  /** Requests per simulated second (Poisson) and simulated seconds of arrivals. */
  rate: number;
  durationS: number;
  slo: SloTarget;
  gpus: readonly string[];
  seed: number;
  tensorParallel?: readonly number[];
  precisions?: readonly PlanPrecision[];
  /** Largest replica count tried per option (default 64); an option that needs more is reported unmet. */
  maxReplicas?: number;
  /** Workload lengths (default: CHAT_LENGTHS). */
  promptTokens?: LengthDistribution;
  outputTokens?: LengthDistribution;
  /** Engine step times (default `roofline`); `zero` is for tests. */
  latency?: "roofline" | "zero";
  /** Injected for tests; default: the real simulator. */
  simulate?: (options: SimulateOptions) => Promise<SimulationReport>;
  /** Called after every simulation (for progress lines). */
  onEvaluated?: (option: PlanOption, replicas: number, meets: boolean) => void;
}

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
  /** Options that met the targets, cheapest spend per hour first. */
  rows: PlanRow[];
  /** Options that did not meet the targets even at maxReplicas. */
  unmet: SkippedOption[];
  /** Options that cannot be built (do not fit, no fp8, TP does not shard the heads). */
  skipped: SkippedOption[];
  simulations: number;
  wallSeconds: number;
}

const DEFAULT_MAX_REPLICAS = 64;

/**
 * For each buildable option, the smallest replica count whose simulated p99 TTFT and TPOT of the SLO class are
 * within the targets with no request failed or shed, found by exponential then binary search (2 log2 N + 1
 * simulations at most). Assumes meeting the targets is monotone in the replica count, which holds up to
 * sampling noise since each workload (same seed) is identical across runs and more replicas only shorten queues.
 */
export async function plan(input: PlanInput): Promise<PlanResult> {
  const wallStart = performance.now();
  const run = input.simulate ?? simulate;
  const maxReplicas = input.maxReplicas ?? DEFAULT_MAX_REPLICAS;
  const { feasible, skipped } = planOptions(input);
  const rows: PlanRow[] = [];
  const unmet: SkippedOption[] = [];
  let simulations = 0;
  for (const option of feasible) {
    const reports = new Map<number, SimulationReport>();
    let floor: string | undefined;
    const found = await smallestPassing({
      max: maxReplicas,
      passes: async (replicas) => {
        const report = await run({
          config: planConfig({
            option,
            replicas,
            profile: input.profile,
            slo: input.slo,
            latency: input.latency,
          }),
          workload: planWorkload(input),
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
    simulations += found.evaluated.length;
    if (found.smallest === undefined) {
      unmet.push({ ...option, reason: floor ?? `misses the targets even with ${maxReplicas} replicas` });
      continue;
    }
    const report = reports.get(found.smallest)!;
    rows.push({
      ...planRow({ option, replicas: found.smallest, report, slo: input.slo }),
      evaluations: found.evaluated.length,
    });
  }
  rows.sort((a, b) => a.spendPerHourUsd - b.spendPerHourUsd || a.gpuCount - b.gpuCount);
  return { rows, unmet, skipped, simulations, wallSeconds: (performance.now() - wallStart) / 1000 };
}

/**
 * The smallest n in [1, max] for which `passes(n)` is "pass", assuming it is monotone: doubles n from 1 until a
 * pass (an upper bound), then bisects between the last failure and that pass. "stop" during the doubling
 * gives up (no n will pass). `evaluated` lists the n tried.
 */
export async function smallestPassing(input: {
  max: number;
  passes: (n: number) => Promise<"pass" | "fail" | "stop">;
}): Promise<{ smallest: number | undefined; evaluated: number[] }> {
  const evaluated: number[] = [];
  const passes = async (n: number) => {
    evaluated.push(n);
    return (await input.passes(n)) === "pass";
  };
  let failing = 0;
  let passing = 1;
  for (;;) {
    evaluated.push(passing);
    const outcome = await input.passes(passing);
    if (outcome === "pass") break;
    if (outcome === "stop" || passing >= input.max) return { smallest: undefined, evaluated };
    failing = passing;
    passing = Math.min(passing * 2, input.max);
  }
  while (passing - failing > 1) {
    const mid = Math.floor((failing + passing) / 2);
    if (await passes(mid)) passing = mid;
    else failing = mid;
  }
  return { smallest: passing, evaluated };
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

/**
 * One model, one deployment of `replicas`, guard and cache off, and the SLO class alone as the default class
 * with the targets. Its queue limit is generous (60 s) so an undersized fleet shows up as a long p99 TTFT
 * rather than as sheds decided by a queue setting.
 */
export function planConfig(input: {
  option: PlanOption;
  replicas: number;
  profile: string;
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
    models: [{ id: MODEL_ID, profile: input.profile }],
    deployments: [
      {
        name: "plan",
        model: MODEL_ID,
        replicas: input.replicas,
        backend: {
          type: "simulated",
          hardware: option.gpu,
          tensorParallel: option.tensorParallel,
          precision: option.precision,
          kvCacheDtype: option.precision,
          latency: input.latency ?? "roofline",
        },
      },
    ],
  });
}

const MODEL_ID = "planned";

function planWorkload(input: PlanInput): WorkloadSpec {
  return {
    rate: input.rate,
    durationS: input.durationS,
    model: MODEL_ID,
    promptTokens: input.promptTokens ?? CHAT_LENGTHS.promptTokens,
    outputTokens: input.outputTokens ?? CHAT_LENGTHS.outputTokens,
    sloClassMix: {},
    clients: 1000,
    temperature: 1,
  };
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
