import { searchOption } from "./option-search.js";
import type { PlanOption, SkippedOption } from "./plan-options.js";
import { planOptions } from "./plan-options.js";
import { searchInWorkers } from "./plan-pool.js";
import type { OptionOutcome, PlanInput, PlanResult, PlanRow } from "./plan-types.js";

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

async function searchInTurn(options: readonly PlanOption[], input: PlanInput): Promise<OptionOutcome[]> {
  const outcomes: OptionOutcome[] = [];
  for (const option of options) outcomes.push(await searchOption(option, input));
  return outcomes;
}
