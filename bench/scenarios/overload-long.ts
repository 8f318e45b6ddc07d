import { createSimulatedReplicas } from "../../src/backends/simulated/from-config.js";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { simulate } from "../../src/simulate/runner.js";
import { type ServerProcess, startGateway } from "../harness/processes.js";
import { type ClassRun, classRows, classTable } from "../lib/class-report.js";
import { createClassSender } from "../lib/class-sender.js";
import { ClassTally } from "../lib/class-tally.js";
import { scrapeMetrics, sumSamples } from "../lib/metrics-scrape.js";
import { type OpenLoopResult, runOpenLoop } from "../lib/open-loop.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Overload of long prompts: streamed chat with 8,000-token prompts and 256 output tokens on one Llama-3.1-70B
 * replica (4 x H100, fp8), offered open loop (seeded Poisson) at 5x the pool's measured capacity, 30% interactive,
 * 50% standard, 20% batch, against the live gateway with the engine's default batch limit (1,024 sequences).
 *
 * Capacity is measured first, on the virtual clock with the same config and the scheduler off: the replica's
 * completions per second in the steady part of a run offered twice what its prefill alone could take (every step
 * full). While the live run goes, the gateway's /metrics is scraped every second for where requests wait (the
 * gateway's queue vs the engine's), and its resident memory is read from /proc.
 */
const CONFIG = "bench/configs/overload-long.yaml";
const MIX = { interactive: 0.3, standard: 0.5, batch: 0.2 } as const;
const CLASS_ORDER = Object.keys(MIX);
const OVERLOAD = 5;

/** Fixed lengths (sigma 0) so every request costs the same; no shared prefixes. */
const WORKLOAD: WorkloadSpec = {
  ...CHAT_WORKLOAD,
  promptTokens: { median: 8_000, sigma: 0, min: 1, max: 8_000 },
  outputTokens: { median: 256, sigma: 0, min: 1, max: 256 },
  sharedPrefix: { ratio: 0, prefixes: 0, tokens: 1 },
  sloClassMix: { ...MIX },
  stream: true,
  includeUsage: true,
};

interface Watch {
  /** Peak over the run's 1 s samples. */
  gatewayQueueMax: number;
  engineWaitingMax: number;
  prefillBacklogMaxTokens: number;
  rssMaxBytes: number;
  rssStartBytes: number;
  rssEndBytes: number;
  samples: number;
}

export const overloadLong: Scenario = {
  name: "overload-long",
  description: "5x overload of 8k-token prompts on a 70B pool: interactive TTFT held, the rest shed early",
  async run(context) {
    const quick = context.quick;
    const settings = {
      durationMs: quick ? 8_000 : 60_000,
      // Admitted batch requests may wait their class's minute, then stream for ~60 s.
      drainTimeoutMs: quick ? 5_000 : 150_000,
      arrivals: "poisson" as const,
      connections: 4096,
      seed: 1,
    };
    const config = loadConfig({ file: CONFIG });
    const { classes, defaultClass } = config.scheduling;
    const model = config.models[0]!.id;

    context.log(
      "capacity: the same config on the virtual clock, scheduler off, offered above the prefill rate",
    );
    const capacity = await measureCapacity(config, model);
    const rate = Math.round(OVERLOAD * capacity.requestsPerSecond * 10) / 10;
    context.log(`capacity ${capacity.requestsPerSecond.toFixed(2)} req/s; offering ${rate} req/s`);

    const gateway = await startGateway(CONFIG);
    let run: ClassRun & { openLoop: OpenLoopResult; watch: Watch; crashed: boolean };
    try {
      const watcher = watch(gateway);
      const tally = new ClassTally();
      const sender = createClassSender({
        baseUrl: gateway.baseUrl,
        connections: settings.connections,
        tally,
        defaultClass,
      });
      const requests = createWorkload({ ...WORKLOAD, model, seed: settings.seed });
      let openLoop: OpenLoopResult;
      try {
        openLoop = await runOpenLoop({
          baseUrl: gateway.baseUrl,
          rate,
          durationMs: settings.durationMs,
          arrivals: settings.arrivals,
          seed: 1000 + settings.seed,
          next: () => requests.next(),
          send: sender.send,
          maxInFlight: 10_000,
          drainTimeoutMs: settings.drainTimeoutMs,
        });
      } finally {
        await sender.close();
      }
      const watched = await watcher.stop();
      run = {
        offeredRate: rate,
        durationMs: openLoop.durationMs,
        classes: tally.summary(openLoop.durationMs),
        openLoop,
        watch: watched,
        crashed: !(await alive(gateway)),
      };
    } finally {
      await gateway.stop();
    }

    const runs = { [`${OVERLOAD}x scheduler`]: run };
    return {
      config: {
        gatewayConfig: CONFIG,
        ...settings,
        offeredRate: rate,
        capacity,
        classes,
        workload: WORKLOAD,
      },
      results: {
        "by class": classTable(runs, CLASS_ORDER),
        "admitted TTFT by class": classRows(runs, CLASS_ORDER),
        "where requests waited (peaks of 1 s scrapes) and memory": run.watch,
        "open loop": run.openLoop,
      },
      notes: [
        `pool: 1 x Llama-3.1-70B on 4 x H100 SXM (fp8 weights and KV), vLLM's default limits (maxNumSeqs 1024, maxNumBatchedTokens 8192); every request an ${WORKLOAD.promptTokens.median}-token prompt and ${WORKLOAD.outputTokens.median} streamed output tokens; 30% interactive, 50% standard, 20% batch`,
        `capacity ${capacity.requestsPerSecond.toFixed(2)} req/s: completions per second over simulated seconds ${capacity.windowS[0]}-${capacity.windowS[1]} of a virtual-clock run of this config with the scheduler off, offered ${capacity.offeredRate.toFixed(1)} req/s (twice the replica's prefill-only rate); offered here ${rate} req/s (${OVERLOAD}x)`,
        ...goalNotes(run, classes),
        `where requests waited: gateway queue peak ${run.watch.gatewayQueueMax} (tollgate_queue_depth), engine queue peak ${run.watch.engineWaitingMax} (tollgate_replica_requests_waiting), prefill backlog peak ${run.watch.prefillBacklogMaxTokens} tokens (tollgate_pool_prefill_backlog_tokens), over ${run.watch.samples} scrapes`,
        `gateway RSS: ${mib(run.watch.rssStartBytes)} MiB at the start, peak ${mib(run.watch.rssMaxBytes)} MiB, ${mib(run.watch.rssEndBytes)} MiB at the end; ${run.crashed ? "the gateway DIED during the run" : "the gateway stayed up (answered /healthz after the run)"}`,
        `load generator: worst send lag ${run.openLoop.maxSendLagMs.toFixed(0)} ms behind schedule, ${run.openLoop.errors} transport errors`,
      ],
    };
  },
};

/** Steady completions per second of the config with the scheduler off, on the virtual clock. */
async function measureCapacity(config: Config, model: string) {
  const backend = config.deployments[0]!.backend;
  if (backend.type !== "simulated") throw new Error(`${CONFIG}: the pool must be simulated`);
  const fifo: Config = { ...config, log: { ...config.log, level: "silent" } };
  fifo.scheduling = { ...config.scheduling, enabled: false };
  // An upper bound on what the replica can take: every step a full prefill chunk, no decode.
  const [replica] = createSimulatedReplicas(config.deployments[0]!, { config, clock: new SystemClock() });
  const prefillOnly = (replica?.replica.prefillTokensPerSecond ?? 0) / WORKLOAD.promptTokens.median;
  await replica?.close();
  const offeredRate = 2 * prefillOnly * config.deployments[0]!.replicas;
  const durationS = 150;
  const windowS: [number, number] = [60, durationS];
  const report = await simulate({
    config: fifo,
    workload: {
      rate: offeredRate,
      durationS,
      model,
      promptTokens: WORKLOAD.promptTokens,
      outputTokens: WORKLOAD.outputTokens,
      sloClassMix: {},
      clients: 100,
      temperature: 1,
    },
    seed: 1,
  });
  const steady = report.series.points.filter((p) => p.startS >= windowS[0] && p.startS < windowS[1]);
  const seconds = steady.reduce((s, p) => s + p.durationS, 0);
  const completed = steady.reduce((n, p) => n + p.completed, 0);
  return { requestsPerSecond: completed / seconds, offeredRate, windowS };
}

/** Scrapes /metrics and reads RSS every second until stopped. */
function watch(gateway: ServerProcess) {
  const w: Watch = {
    gatewayQueueMax: 0,
    engineWaitingMax: 0,
    prefillBacklogMaxTokens: 0,
    rssMaxBytes: 0,
    rssStartBytes: gateway.rssBytes(),
    rssEndBytes: 0,
    samples: 0,
  };
  let busy: Promise<void> = Promise.resolve();
  const sample = async () => {
    const rss = gateway.rssBytes();
    w.rssMaxBytes = Math.max(w.rssMaxBytes, rss);
    w.rssEndBytes = rss;
    try {
      const samples = await scrapeMetrics(gateway.baseUrl);
      w.gatewayQueueMax = Math.max(w.gatewayQueueMax, sumSamples(samples, "tollgate_queue_depth"));
      w.engineWaitingMax = Math.max(
        w.engineWaitingMax,
        sumSamples(samples, "tollgate_replica_requests_waiting"),
      );
      w.prefillBacklogMaxTokens = Math.max(
        w.prefillBacklogMaxTokens,
        sumSamples(samples, "tollgate_pool_prefill_backlog_tokens"),
      );
      w.samples++;
    } catch {
      // A scrape that fails under load is skipped; the count of samples shows how many landed.
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(sample);
  }, 1_000);
  return {
    stop: async () => {
      clearInterval(timer);
      await busy;
      await sample();
      return w;
    },
  };
}

async function alive(gateway: ServerProcess): Promise<boolean> {
  try {
    return (await fetch(`${gateway.baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) })).ok;
  } catch {
    return false;
  }
}

/** The goal: admitted interactive p99 TTFT within its target; every refusal a 503/429 with Retry-After. */
function goalNotes(run: ClassRun, classes: Config["scheduling"]["classes"]): string[] {
  const notes: string[] = [];
  const interactive = run.classes["interactive"];
  const target = classes["interactive"]?.ttftMs ?? 0;
  if (interactive === undefined || interactive.admitted === 0)
    notes.push("goal: no admitted interactive requests");
  else {
    const verdict = interactive.ttft.p99 <= target ? "HELD" : "MISSED";
    notes.push(
      `goal: admitted interactive p99 TTFT <= ${target} ms ${verdict}: p99 ${interactive.ttft.p99.toFixed(0)} ms, max ${interactive.ttft.max.toFixed(0)} ms over ${interactive.admitted} admitted of ${interactive.sent}; ${(100 * interactive.shedRate).toFixed(0)}% shed`,
    );
  }
  const all = Object.values(run.classes);
  const shed = all.reduce((n, c) => n + c.shed, 0);
  const withoutRetryAfter = all.reduce((n, c) => n + (c.retryAfter["none"] ?? 0), 0);
  const errors = all.reduce((n, c) => n + c.errors, 0);
  notes.push(
    `refusals: ${shed} answered 503/429, ${withoutRetryAfter} of them without Retry-After; ${errors} other errors (statuses other than 200/503/429, broken streams)`,
  );
  return notes;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
