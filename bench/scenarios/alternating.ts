import type { ServerProcess } from "../harness/processes.js";
import { runClosedLoop } from "../lib/closed-loop.js";
import { runOpenLoop } from "../lib/open-loop.js";
import { createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { ScenarioContext } from "./types.js";

/**
 * Side-by-side measurement: every round runs each target in turn with identical load settings, so a drift of the
 * machine (a neighbour on the VM, a GC-heavy moment of the load generator) hits all targets, and a result is the
 * median over rounds, never one run.
 */
export interface Target {
  name: string;
  server: ServerProcess;
  /** Request path (default /v1/chat/completions). */
  path?: string;
}

const CHAT_PATH = "/v1/chat/completions";

/** A closed loop per target to warm JIT and connection pools; results are discarded. */
export async function warmUp(
  context: ScenarioContext,
  targets: readonly Target[],
  options: { spec: WorkloadSpec; connections: number; durationSec: number; label: string },
): Promise<void> {
  for (const target of targets) {
    context.log(`${options.label}warm-up: ${target.name}`);
    const workload = createWorkload(options.spec);
    await runClosedLoop({
      url: `${target.server.baseUrl}${target.path ?? CHAT_PATH}`,
      connections: options.connections,
      durationSec: options.durationSec,
      next: () => workload.next(),
    });
  }
}

/** Closed-loop rounds; returns each target's requests/s per round and every run's full result. */
export async function alternateClosedLoop(
  context: ScenarioContext,
  targets: readonly Target[],
  options: { spec: WorkloadSpec; connections: number; durationSec: number; rounds: number; label: string },
): Promise<{ requestsPerSecond: Map<string, number[]>; runs: Record<string, unknown> }> {
  const requestsPerSecond = new Map(targets.map((t) => [t.name, [] as number[]]));
  const runs: Record<string, unknown> = {};
  for (let round = 0; round < options.rounds; round++) {
    for (const target of targets) {
      context.log(`${options.label}closed loop, round ${round + 1}: ${target.name}`);
      const workload = createWorkload(options.spec);
      const result = await runClosedLoop({
        url: `${target.server.baseUrl}${target.path ?? CHAT_PATH}`,
        connections: options.connections,
        durationSec: options.durationSec,
        next: () => workload.next(),
      });
      requestsPerSecond.get(target.name)?.push(result.requestsPerSecond);
      runs[`${target.name} #${round + 1}`] = result;
    }
  }
  return { requestsPerSecond, runs };
}

/** Open-loop rounds at a paced rate; returns each target's e2e p50 and p99 per round and every run's result. */
export async function alternateOpenLoop(
  context: ScenarioContext,
  targets: readonly Target[],
  options: { spec: WorkloadSpec; rate: number; durationMs: number; rounds: number; label: string },
): Promise<{ e2e: Map<string, { p50: number[]; p99: number[] }>; runs: Record<string, unknown> }> {
  const e2e = new Map(targets.map((t) => [t.name, { p50: [] as number[], p99: [] as number[] }]));
  const runs: Record<string, unknown> = {};
  for (let round = 0; round < options.rounds; round++) {
    for (const target of targets) {
      context.log(`${options.label}open loop ${options.rate} req/s, round ${round + 1}: ${target.name}`);
      const workload = createWorkload(options.spec);
      const result = await runOpenLoop({
        baseUrl: target.server.baseUrl,
        path: target.path ?? CHAT_PATH,
        rate: options.rate,
        durationMs: options.durationMs,
        arrivals: "uniform",
        seed: round + 1,
        next: () => workload.next(),
      });
      e2e.get(target.name)?.p50.push(result.e2e.p50);
      e2e.get(target.name)?.p99.push(result.e2e.p99);
      runs[`${target.name} #${round + 1}`] = result;
    }
  }
  return { e2e, runs };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Latency one target adds over a baseline: each round's value minus the baseline's in the same round, then the
 * median of those differences, so one noisy round cannot decide the result.
 */
export function addedOver(values: readonly number[], baseline: readonly number[]): number {
  return median(values.map((v, k) => v - (baseline[k] ?? Number.NaN)));
}
