import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse, stringify } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { startGateway } from "../harness/processes.js";
import { ARRIVAL_TOLERANCE, windowedArrivalSeed } from "../lib/arrival-seed.js";
import { createClassSender } from "../lib/class-sender.js";
import { ClassTally } from "../lib/class-tally.js";
import { gatewayDelta } from "../lib/gateway-delta.js";
import type { Samples } from "../lib/metrics-scrape.js";
import { runOpenLoop } from "../lib/open-loop.js";
import { describePool, estimateCapacity, type PoolShape } from "../lib/roofline-capacity.js";
import { measureWindow, WindowedStats } from "../lib/windowed-stats.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadSpec } from "../lib/workload.js";
import {
  healthNote,
  mechanismNote,
  type RunResult,
  runTable,
  verdictNotes,
} from "./micro-batching-report.js";
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
              arrivalSeed: windowedArrivalSeed({ ...settings, rate }),
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
      results: { "by setting and load": runTable(runs), runs },
      notes: [
        `pool: ${pool.replicas} x ${pool.hardware} ${pool.model} (${gpus} GPUs), engine maxNumSeqs ${pool.maxNumSeqs}, gateway maxConcurrentPerReplica ${pool.maxConcurrentPerReplica}; every request ${WORKLOAD.promptTokens.median} prompt and ${WORKLOAD.outputTokens.median} streamed output tokens, class ${CLASS}; batching maxBatchSize ${batching.maxBatchSize}, maxBatchTokens ${batching.maxBatchTokens}`,
        `capacity ${capacity?.toFixed(1)} req/s: the saturated run with batching off (${settings.saturation.clientsPerSlot} x ${slots} slots = ${settings.saturation.clientsPerSlot * slots} closed-loop clients, ${settings.saturation.windowMs / 1000} s window after ${settings.warmupMs / 1000} s warm-up); the roofline model says ${(roofline.requestsPerSecond * pool.replicas).toFixed(1)} req/s; open-loop runs offer load for ${(settings.warmupMs + settings.windowMs) / 1000} s and are measured over the last ${settings.windowMs / 1000} s, on the first arrival seed that puts rate x window arrivals (within ${100 * ARRIVAL_TOLERANCE}%) in the window`,
        mechanismNote(pool, WORKLOAD.promptTokens.median),
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
  const stats = new WindowedStats();
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
  const stats = new WindowedStats();
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
  stats: WindowedStats;
  tally: ClassTally;
  before: Samples;
  after: Samples;
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
    gateway: gatewayDelta({ ...o, sloClass: CLASS }),
  };
}

/** The pool's description for the report: everything but the step model (a function, not data). */
function withoutLatency(pool: PoolShape): Omit<PoolShape, "latency"> {
  const { latency: _latency, ...rest } = pool;
  return rest;
}
