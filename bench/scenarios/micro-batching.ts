import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse, stringify } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { SeededRandom } from "../../src/core/random.js";
import { parsePrometheusText, type Sample, sampleValue } from "../../test/helpers/prometheus.js";
import { startGateway } from "../harness/processes.js";
import { arrivalOffsetsMs } from "../lib/arrivals.js";
import { createClassSender } from "../lib/class-sender.js";
import { type ClassSummary, ClassTally } from "../lib/class-tally.js";
import { LatencyHistogram, type LatencySummary } from "../lib/histogram.js";
import { runOpenLoop, type Sender } from "../lib/open-loop.js";
import { describePool, estimateCapacity, type PoolShape } from "../lib/roofline-capacity.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Gateway micro-batching (`models[].scheduling.batching`) on a continuously batched pool: streamed chat, every
 * request in the standard class so none bypasses the hold, swept over maxWaitMs. Per setting, one fresh gateway
 * runs a saturating closed loop (twice as many clients as batch slots, measured over a window after a warm-up),
 * then seeded Poisson arrivals at 0.5x and 0.9x of the capacity that closed loop measured with batching off.
 * Every setting sees the same arrivals and requests. Client side: throughput, TTFT and TPOT. Gateway side,
 * from /metrics deltas: cost and GPU-seconds per response, replica busy time, released batch sizes, queue time.
 */
const CONFIG = "bench/configs/micro-batching.yaml";
const CLASS = "standard";

/** Fixed lengths (sigma 0) so every request costs the same; no shared prefixes, so no prefix-cache hits. */
const WORKLOAD: WorkloadSpec = {
  ...CHAT_WORKLOAD,
  promptTokens: { median: 256, sigma: 0, min: 1, max: 256 },
  outputTokens: { median: 64, sigma: 0, min: 1, max: 64 },
  sharedPrefix: { ratio: 0, prefixes: 0, tokens: 1 },
  sloClassMix: { [CLASS]: 1 },
  stream: true,
  includeUsage: true,
};

/** What the gateway's /metrics says about one run (deltas between two scrapes). */
interface GatewayDelta {
  /** Responses costed (tollgate_response_cost_usd_count). */
  responses: number;
  costPerResponseUsd: number;
  gpuSecondsPerResponse: number;
  /** Replica busy seconds / (run seconds x replicas). */
  busyFraction: number;
  /** Releases from the gateway's queue and their mean size (tollgate_batch_size). */
  batches: number;
  meanBatchSize: number;
  /** Mean requests dispatched together, counting a request dispatched on arrival as a group of one. */
  meanDispatchGroup: number;
  /** Mean wait in the gateway's queue, ms (tollgate_queue_time_seconds). */
  meanQueueMs: number;
}

interface RunResult {
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

export const microBatching: Scenario = {
  name: "micro-batching",
  description: "Gateway micro-batching (maxWaitMs 0-50) at 0.5x, 0.9x and saturation: throughput, cost, TTFT",
  async run(context) {
    const quick = context.quick;
    const settings = {
      // The first must be 0: its saturated run is the capacity the open-loop loads are fractions of.
      maxWaitMs: quick ? [0, 20] : [0, 5, 20, 50],
      loads: quick ? [0.9] : [0.5, 0.9],
      // Every run is measured over a window after a warm-up that fills the pool (about one service time):
      // the ramp up and the drain would otherwise dilute throughput, cost and busy share.
      warmupMs: quick ? 1200 : 1500,
      windowMs: quick ? 1500 : 8000,
      drainTimeoutMs: quick ? 2000 : 5000,
      arrivals: "poisson" as const,
      saturation: { clientsPerSlot: 2, windowMs: quick ? 1500 : 5000 },
      // Above the most requests ever in flight, so none waits for a connection in the client.
      connections: 512,
    };
    const config = loadConfig({ file: CONFIG });
    const batching = config.models[0]!.scheduling.batching;
    const pool = describePool(config);
    const gpus = pool.replicas * pool.tensorParallel;
    const slots = pool.replicas * pool.batch;
    const roofline = estimateCapacity({
      latency: pool.latency,
      batch: pool.batch,
      promptTokens: WORKLOAD.promptTokens.median,
      outputTokens: WORKLOAD.outputTokens.median,
    });

    const dir = mkdtempSync(join(tmpdir(), "tollgate-micro-batching-"));
    const runs: Record<string, RunResult> = {};
    let capacity: number | undefined;
    try {
      for (const maxWaitMs of settings.maxWaitMs) {
        const gateway = await startGateway(variant(dir, maxWaitMs));
        try {
          const common = { baseUrl: gateway.baseUrl, maxWaitMs, gpus, replicas: pool.replicas };
          const clients = settings.saturation.clientsPerSlot * slots;
          context.log(`maxWaitMs ${maxWaitMs}: closed loop of ${clients} clients`);
          const saturated = await runSaturated({
            ...common,
            warmupMs: settings.warmupMs,
            windowMs: settings.saturation.windowMs,
            clients,
            connections: clients,
            staggerMs: roofline.serviceMs,
          });
          runs[`${maxWaitMs} ms, saturated`] = saturated;
          capacity ??= saturated.requestsPerSecond;
          for (const [i, load] of settings.loads.entries()) {
            const rate = Math.round(load * capacity * 10) / 10;
            const seconds = (settings.warmupMs + settings.windowMs) / 1000;
            context.log(`maxWaitMs ${maxWaitMs}: ${rate} req/s Poisson for ${seconds} s`);
            runs[`${maxWaitMs} ms, ${load}x`] = await runOpen({
              ...settings,
              ...common,
              load,
              rate,
              seed: i + 1,
              arrivalSeed: arrivalSeed({ ...settings, rate }),
            });
          }
        } finally {
          await gateway.stop();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    return {
      config: {
        gatewayConfig: CONFIG,
        ...settings,
        batching,
        pool: withoutLatency(pool),
        gpus,
        capacity: {
          measured: capacity,
          roofline: { ...roofline, pool: roofline.requestsPerSecond * pool.replicas },
        },
        workload: WORKLOAD,
      },
      results: { "by setting and load": table(runs), runs },
      notes: [
        `pool: ${pool.replicas} x ${pool.hardware} ${pool.model} (${gpus} GPUs), engine maxNumSeqs ${pool.maxNumSeqs}, gateway maxConcurrentPerReplica ${pool.maxConcurrentPerReplica}; every request ${WORKLOAD.promptTokens.median} prompt and ${WORKLOAD.outputTokens.median} streamed output tokens, class ${CLASS}; batching maxBatchSize ${batching.maxBatchSize}, maxBatchTokens ${batching.maxBatchTokens}`,
        `capacity ${capacity?.toFixed(1)} req/s: the saturated run with batching off (${settings.saturation.clientsPerSlot} x ${slots} slots = ${settings.saturation.clientsPerSlot * slots} closed-loop clients, ${settings.saturation.windowMs / 1000} s window after ${settings.warmupMs / 1000} s warm-up); the roofline model says ${(roofline.requestsPerSecond * pool.replicas).toFixed(1)} req/s; open-loop runs offer load for ${(settings.warmupMs + settings.windowMs) / 1000} s and are measured over the last ${settings.windowMs / 1000} s, on the first arrival seed that puts rate x window arrivals (within ${100 * ARRIVAL_TOLERANCE}%) in the window`,
        mechanismNote(pool),
        ...verdictNotes(runs, settings.maxWaitMs, ["saturated", ...settings.loads.map((l) => `${l}x`)]),
        healthNote(runs),
        "throughput, TTFT and TPOT are client-side, from the send, over the 200 responses to requests sent in the window; cost, GPU-seconds, busy share, batch sizes and queue time are ratios of /metrics deltas between the scrapes that open and close the window; group = requests dispatched / dispatch events, a request dispatched on arrival counting as a group of one",
      ],
    };
  },
};

/** The config with `batching.maxWaitMs` set, written to `dir`; nothing else changes. */
function variant(dir: string, maxWaitMs: number): string {
  const raw = parse(readFileSync(CONFIG, "utf8")) as { models: { scheduling: { batching: object } }[] };
  for (const model of raw.models) model.scheduling.batching = { ...model.scheduling.batching, maxWaitMs };
  const file = join(dir, `max-wait-${maxWaitMs}.yaml`);
  writeFileSync(file, stringify(raw));
  return file;
}

/**
 * Client-side TTFT, TPOT, responses and tokens of the 200 responses to requests sent inside `window`
 * (performance.now()). By send time, not end time: every maxWaitMs then counts the same seeded arrivals, where
 * counting by end time would let a few tens of ms of added latency move a Poisson clump across the window's edge.
 */
class RequestStats {
  readonly ttft = new LatencyHistogram();
  readonly tpot = new LatencyHistogram();
  /** Closed until {@link open}: nothing counts during a warm-up. */
  readonly window = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };
  responses = 0;
  tokens = 0;

  /** Wraps a sender so each request it sends is timed and, if it was sent in the window, recorded. */
  measure(send: Sender): Sender {
    return async (request, onFirstByte, signal) => {
      const startedAt = performance.now();
      let firstAt: number | undefined;
      const outcome = await send(
        request,
        () => {
          firstAt ??= performance.now();
          onFirstByte();
        },
        signal,
      );
      const endedAt = performance.now();
      const inWindow = startedAt >= this.window.from && startedAt <= this.window.to;
      if (!inWindow || outcome.status !== 200 || outcome.error !== undefined || firstAt === undefined) {
        return outcome;
      }
      this.responses++;
      this.tokens += outcome.completionTokens;
      this.ttft.record(firstAt - startedAt);
      if (outcome.completionTokens > 1)
        this.tpot.record((endedAt - firstAt) / (outcome.completionTokens - 1));
      return outcome;
    };
  }

  open(): void {
    this.window.from = performance.now();
  }

  /** Closes the window; returns its length in ms. */
  close(): number {
    this.window.to = performance.now();
    return this.window.to - this.window.from;
  }
}

/** Waits out the warm-up, then takes /metrics and the client's counts over `windowMs`. */
async function measureWindow(o: {
  baseUrl: string;
  stats: RequestStats;
  warmupMs: number;
  windowMs: number;
}) {
  await sleep(o.warmupMs);
  o.stats.open();
  const before = await scrape(o.baseUrl);
  await sleep(o.windowMs);
  const after = await scrape(o.baseUrl);
  return { before, after, durationMs: o.stats.close() };
}

interface RunContext {
  baseUrl: string;
  maxWaitMs: number;
  gpus: number;
  replicas: number;
  connections: number;
}

/**
 * `clients` closed-loop clients, started evenly over `staggerMs` (about one service time) so that requests of
 * fixed length do not start, and so finish, in lockstep; measured over a window after the warm-up, then each
 * client finishes its request and stops.
 */
async function runSaturated(
  o: RunContext & { clients: number; staggerMs: number; warmupMs: number; windowMs: number },
): Promise<RunResult> {
  const tally = new ClassTally();
  const sender = createClassSender({ ...o, tally, defaultClass: CLASS });
  const stats = new RequestStats();
  const send = stats.measure(sender.send);
  const requests = createWorkload({ ...WORKLOAD, seed: 99 });
  let stopped = false;
  const client = async (_: unknown, k: number) => {
    await sleep((k * o.staggerMs) / o.clients);
    while (!stopped) await send(requests.next(), () => {});
  };
  try {
    const clients = Array.from({ length: o.clients }, client);
    const window = await measureWindow({ ...o, stats });
    stopped = true;
    await Promise.all(clients);
    return result({ ...o, ...window, load: "saturated", stats, tally });
  } finally {
    stopped = true;
    await sender.close();
  }
}

/** Arrival counts may differ from rate x window by this share at most (see {@link arrivalSeed}). */
const ARRIVAL_TOLERANCE = 0.02;

/**
 * The first seed from 1 whose Poisson schedule puts rate x window arrivals, within {@link ARRIVAL_TOLERANCE},
 * in the measured window. A seed drawn blind can be 2-3 sigma off over an 8 s window (seed 1002 put 371
 * arrivals where 321 were due, turning a 0.9x load into 1.04x); every maxWaitMs still gets the same schedule.
 */
function arrivalSeed(o: { rate: number; warmupMs: number; windowMs: number }): number {
  const due = (o.rate * o.windowMs) / 1000;
  for (let seed = 1; seed <= 1000; seed++) {
    const offsets = arrivalOffsetsMs({
      rate: o.rate,
      durationMs: o.warmupMs + o.windowMs,
      kind: "poisson",
      random: new SeededRandom(seed),
    });
    let inWindow = 0;
    for (const offset of offsets) if (offset >= o.warmupMs) inWindow++;
    if (Math.abs(inWindow - due) <= ARRIVAL_TOLERANCE * due) return seed;
  }
  throw new Error(`no seed in 1-1000 puts ${due.toFixed(0)} arrivals in the window`);
}

/** Seeded Poisson arrivals at `rate` for the warm-up and the window, then a drain that is not measured. */
async function runOpen(
  o: RunContext & {
    load: number;
    rate: number;
    seed: number;
    arrivalSeed: number;
    warmupMs: number;
    windowMs: number;
    drainTimeoutMs: number;
    arrivals: "poisson";
  },
): Promise<RunResult> {
  const tally = new ClassTally();
  const sender = createClassSender({ ...o, tally, defaultClass: CLASS });
  const stats = new RequestStats();
  const requests = createWorkload({ ...WORKLOAD, seed: o.seed });
  try {
    const [openLoop, window] = await Promise.all([
      runOpenLoop({
        baseUrl: o.baseUrl,
        rate: o.rate,
        durationMs: o.warmupMs + o.windowMs,
        arrivals: o.arrivals,
        seed: o.arrivalSeed,
        next: () => requests.next(),
        send: stats.measure(sender.send),
        maxInFlight: 10_000,
        drainTimeoutMs: o.drainTimeoutMs,
      }),
      measureWindow({ ...o, stats }),
    ]);
    return {
      ...result({ ...o, ...window, load: `${o.load}x`, stats, tally }),
      offeredRate: o.rate,
      arrivalSeed: o.arrivalSeed,
      maxSendLagMs: openLoop.maxSendLagMs,
    };
  } finally {
    await sender.close();
  }
}

function result(o: {
  maxWaitMs: number;
  load: string;
  durationMs: number;
  gpus: number;
  replicas: number;
  stats: RequestStats;
  tally: ClassTally;
  before: Sample[];
  after: Sample[];
}): RunResult {
  const perSecond = (n: number) => (o.durationMs > 0 ? (n * 1000) / o.durationMs : 0);
  const requestsPerSecond = perSecond(o.stats.responses);
  const completionTokensPerSecond = perSecond(o.stats.tokens);
  const c = o.tally.summary(o.durationMs)[CLASS];
  return {
    maxWaitMs: o.maxWaitMs,
    load: o.load,
    durationMs: o.durationMs,
    requestsPerSecond,
    completionTokensPerSecond,
    perGpu: {
      requestsPerSecond: requestsPerSecond / o.gpus,
      outputTokensPerSecond: completionTokensPerSecond / o.gpus,
    },
    ttft: o.stats.ttft.summary(),
    tpot: o.stats.tpot.summary(),
    counts: {
      sent: c?.sent ?? 0,
      admitted: c?.admitted ?? 0,
      shed: c?.shed ?? 0,
      errors: c?.errors ?? 0,
      unfinished: c?.unfinished ?? 0,
    },
    gateway: gatewayDelta(o),
  };
}

function gatewayDelta(o: {
  before: Sample[];
  after: Sample[];
  durationMs: number;
  replicas: number;
}): GatewayDelta {
  const delta = (name: string, labels: Record<string, string> = {}) =>
    sampleValue(o.after, name, labels) - sampleValue(o.before, name, labels);
  const ratio = (n: number, d: number) => (d > 0 ? n / d : 0);
  const responses = delta("tollgate_response_cost_usd_count");
  const batches = delta("tollgate_batch_size_count");
  const released = delta("tollgate_batch_size_sum");
  const dispatched = delta("tollgate_queue_time_seconds_count", { class: CLASS });
  // Every dispatch is either a release from the queue (counted in tollgate_batch_size) or direct, on arrival.
  const direct = Math.max(0, dispatched - released);
  return {
    responses,
    costPerResponseUsd: ratio(delta("tollgate_cost_usd_total"), responses),
    gpuSecondsPerResponse: ratio(delta("tollgate_gpu_seconds_total"), responses),
    busyFraction: ratio(delta("tollgate_replica_busy_seconds_total"), (o.durationMs / 1000) * o.replicas),
    batches,
    meanBatchSize: ratio(released, batches),
    meanDispatchGroup: ratio(dispatched, batches + direct),
    meanQueueMs: 1000 * ratio(delta("tollgate_queue_time_seconds_sum", { class: CLASS }), dispatched),
  };
}

async function scrape(baseUrl: string): Promise<Sample[]> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return parsePrometheusText(await response.text());
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
function table(runs: Readonly<Record<string, RunResult>>): string[] {
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

function signedPercent(value: number, base: number): string {
  if (base <= 0) return "-";
  const change = (100 * (value - base)) / base;
  return `${change >= 0 ? "+" : ""}${change.toFixed(1)}%`;
}

/**
 * What a hold does to step times, in the roofline model's own numbers: a 256-token prefill is compute-bound, so
 * alone in a decode step most of it hides under the step's weight read (step = max(memory, compute)); prefills
 * released together share one step and add nearly their whole compute time, less the MFU ramp's gain.
 */
function mechanismNote(pool: PoolShape): string {
  const decodes = Array.from({ length: pool.batch }, () => ({ contextTokens: 300, newTokens: 1 }));
  const prefill = { contextTokens: 0, newTokens: WORKLOAD.promptTokens.median };
  const step = (prefills: number) =>
    pool.latency.estimate([...Array.from({ length: prefills }, () => prefill), ...decodes.slice(prefills)])
      .stepMs;
  const base = step(0);
  const extra = (n: number) => (step(n) - base) / n;
  const verdict = extra(2) > extra(1) ? "more" : "less";
  return `roofline step model: a decode step of ${pool.batch} sequences takes ${base.toFixed(1)} ms; a ${prefill.newTokens}-token prefill in place of one decode adds ${extra(1).toFixed(1)} ms when alone in its step, ${extra(2).toFixed(1)} ms each when 2 share a step, ${extra(4).toFixed(1)} ms each for 4; so prefills held back to share a step cost ${verdict} GPU time than prefills admitted as they come (the engine admits every arrival at its next step boundary anyway, ~${base.toFixed(0)} ms away)`;
}

/** Against maxWaitMs 0 at the same load: throughput, cost per response and TTFT p50 of each other setting. */
function verdictNotes(
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
function healthNote(runs: Readonly<Record<string, RunResult>>): string {
  const all = Object.values(runs);
  const lag = Math.max(0, ...all.map((r) => r.maxSendLagMs ?? 0));
  const sum = (key: "shed" | "errors" | "unfinished") => all.reduce((n, r) => n + r.counts[key], 0);
  return `load generator: worst open-loop send lag ${lag.toFixed(0)} ms; over all runs ${sum("shed")} shed, ${sum("errors")} errors, ${sum("unfinished")} unfinished`;
}

/** The pool's description for the report: everything but the step model (a function, not data). */
function withoutLatency(pool: PoolShape): Omit<PoolShape, "latency"> {
  const { latency: _latency, ...rest } = pool;
  return rest;
}
