import type { ClassSummary } from "../lib/class-tally.js";
import type { GatewayDelta } from "../lib/gateway-delta.js";
import type { LatencySummary } from "../lib/histogram.js";
import type { PoolShape } from "../lib/roofline-capacity.js";

/**
 * How the micro-batching scenario (micro-batching.ts) reports its runs: a fixed-width table and notes that compare
 * each maxWaitMs with batching off at the same load.
 */

/** One run: one maxWaitMs at one load, measured over a window after a warm-up. */
export interface RunResult {
  maxWaitMs: number;
  load: string;
  /** Offered req/s and the seed of the arrival schedule (open loop); absent for the closed loop. */
  offeredRate?: number;
  arrivalSeed?: number;
  /** The measured window, after the warm-up. */
  durationMs: number;
  requestsPerSecond: number;
  completionTokensPerSecond: number;
  perGpu: { requestsPerSecond: number; outputTokensPerSecond: number };
  ttft: LatencySummary;
  tpot: LatencySummary;
  /** Whole-run counts by the load generator, warm-up and drain included. */
  counts: Pick<ClassSummary, "sent" | "admitted" | "shed" | "errors" | "unfinished">;
  gateway: GatewayDelta;
  maxSendLagMs?: number;
}

const HEADER = [
  "maxWait",
  "load",
  "req/s/GPU",
  "tok/s/GPU",
  "TTFT p50",
  "TTFT p99",
  "TPOT p50",
  "µ$/resp",
  "vs off",
  "busy",
  "batch",
  "group",
  "queue ms",
];

/**
 * A fixed-width table, one line per run: throughput per GPU, TTFT p50/p99 and TPOT p50 (ms), mean cost per
 * response in micro-dollars and its change against maxWaitMs 0 at the same load, GPU busy share, mean released
 * batch, mean dispatch group and mean queue time. Lines, as class-report.ts does, because report.ts renders only
 * latency tables.
 */
export function runTable(runs: Readonly<Record<string, RunResult>>): string[] {
  const all = Object.values(runs);
  const rows = all.map((r) => {
    const off = all.find((x) => x.maxWaitMs === 0 && x.load === r.load);
    const g = r.gateway;
    return [
      `${r.maxWaitMs} ms`,
      r.load,
      r.perGpu.requestsPerSecond.toFixed(2),
      r.perGpu.outputTokensPerSecond.toFixed(0),
      r.ttft.p50.toFixed(0),
      r.ttft.p99.toFixed(0),
      r.tpot.p50.toFixed(1),
      (g.costPerResponseUsd * 1e6).toFixed(2),
      off === undefined ? "-" : signedPercent(g.costPerResponseUsd, off.gateway.costPerResponseUsd),
      `${(100 * g.busyFraction).toFixed(0)}%`,
      g.batches > 0 ? g.meanBatchSize.toFixed(2) : "-",
      g.meanDispatchGroup.toFixed(2),
      g.meanQueueMs.toFixed(1),
    ];
  });
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [line(HEADER), ...rows.map(line)];
}

export function signedPercent(value: number, base: number): string {
  if (base <= 0) return "-";
  const change = (100 * (value - base)) / base;
  return `${change >= 0 ? "+" : ""}${change.toFixed(1)}%`;
}

/**
 * What a hold does to step times, in the roofline model's own numbers: a 256-token prefill is compute-bound, so
 * alone in a decode step most of it hides under the step's weight read (step = max(memory, compute)); prefills
 * released together share one step and add nearly their whole compute time, less the MFU ramp's gain.
 */
export function mechanismNote(pool: PoolShape, promptTokens: number): string {
  const decodes = Array.from({ length: pool.batch }, () => ({ contextTokens: 300, newTokens: 1 }));
  const prefill = { contextTokens: 0, newTokens: promptTokens };
  const step = (prefills: number) =>
    pool.latency.estimate([...Array.from({ length: prefills }, () => prefill), ...decodes.slice(prefills)])
      .stepMs;
  const base = step(0);
  const extra = (n: number) => (step(n) - base) / n;
  const verdict = extra(2) > extra(1) ? "more" : "less";
  return `roofline step model: a decode step of ${pool.batch} sequences takes ${base.toFixed(1)} ms; a ${prefill.newTokens}-token prefill in place of one decode adds ${extra(1).toFixed(1)} ms when alone in its step, ${extra(2).toFixed(1)} ms each when 2 share a step, ${extra(4).toFixed(1)} ms each for 4; so prefills held back to share a step cost ${verdict} GPU time than prefills admitted as they come (the engine admits every arrival at its next step boundary anyway, ~${base.toFixed(0)} ms away)`;
}

/** Against maxWaitMs 0 at the same load: throughput, cost per response and TTFT p50 of each other setting. */
export function verdictNotes(
  runs: Readonly<Record<string, RunResult>>,
  waits: readonly number[],
  loads: readonly string[],
): string[] {
  const all = Object.values(runs);
  const notes: string[] = [];
  for (const load of loads) {
    const off = all.find((r) => r.maxWaitMs === 0 && r.load === load);
    if (off === undefined) continue;
    const parts = waits
      .filter((w) => w > 0)
      .map((w) => all.find((r) => r.maxWaitMs === w && r.load === load))
      .filter((r): r is RunResult => r !== undefined)
      .map(
        (r) =>
          `${r.maxWaitMs} ms: throughput ${signedPercent(r.requestsPerSecond, off.requestsPerSecond)}, cost/response ${signedPercent(r.gateway.costPerResponseUsd, off.gateway.costPerResponseUsd)}, TTFT p50 ${signed(r.ttft.p50 - off.ttft.p50)} ms, p99 ${signed(r.ttft.p99 - off.ttft.p99)} ms, TPOT p50 ${signed(r.tpot.p50 - off.tpot.p50)} ms`,
      );
    notes.push(`${load} vs batching off: ${parts.join("; ")}`);
  }
  return notes;
}

function signed(x: number): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(0)}`;
}

/** Load-generator health and failures over all runs. */
export function healthNote(runs: Readonly<Record<string, RunResult>>): string {
  const all = Object.values(runs);
  const lag = Math.max(0, ...all.map((r) => r.maxSendLagMs ?? 0));
  const sum = (key: "shed" | "errors" | "unfinished") => all.reduce((n, r) => n + r.counts[key], 0);
  return `load generator: worst open-loop send lag ${lag.toFixed(0)} ms; over all runs ${sum("shed")} shed, ${sum("errors")} errors, ${sum("unfinished")} unfinished`;
}
