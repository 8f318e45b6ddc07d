import { HARDWARE_CATALOG } from "../config/catalog/hardware.js";
import { PLAN_MODEL_ID, type PlanOption, planConfig } from "./plan-options.js";
import type { OptionOutcome, PlanInput, PlanRow } from "./plan-types.js";
import { type SimulateOptions, type SimulationReport, simulate } from "./runner.js";
import type { SloTarget } from "./slo-target.js";
import { smallestPassing } from "./smallest-passing.js";
import { traceArrivals } from "./trace.js";
import { type Arrival, CHAT_LENGTHS, type WorkloadSpec } from "./workload.js";

const DEFAULT_MAX_REPLICAS = 64;

/** The fewest replicas of `option` that meet the targets (see plan() in planner.ts), by simulation. */
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
