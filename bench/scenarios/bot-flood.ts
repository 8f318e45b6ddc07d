import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { SeededRandom } from "../../src/core/random.js";
import { startGateway } from "../harness/processes.js";
import { botAddresses, fromBots } from "../lib/bot-clients.js";
import { type BotFloodRun, botFloodTable, floodOutcomes, guardCounters } from "../lib/bot-flood-report.js";
import { createChallengeSolver } from "../lib/challenge-solver.js";
import { createHttpSender } from "../lib/http-sender.js";
import { scrapeMetrics } from "../lib/metrics-scrape.js";
import { runOpenLoop } from "../lib/open-loop.js";
import { createWorkerSolver, type PowSolver } from "../lib/pow-solver.js";
import { describePool, estimateCapacity } from "../lib/roofline-capacity.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Bot flood: well-behaved clients with API keys stream chat at a steady rate while anonymous clients flood the
 * gateway open loop (short prompts, JSON answers), once with the guard (default anonymous limits: 120
 * requests/min and 8 concurrent per IP, proof-of-work challenges when a client's risk is high) and once
 * without it (`guard: { enabled: false }`). Per run: the keyed clients' success rate and TTFT/e2e, the flood's
 * requests by outcome, the share of them that reached a GPU, and the challenges issued. The full run adds a
 * flood from a single address; `--solve-challenges` adds a run in which every client solves its challenges.
 * Each run gets a fresh gateway; arrivals and requests are identical across runs.
 */
const CONFIG = "bench/configs/bot-flood.yaml";
const KEYS = ["bench-key-app-a", "bench-key-app-b"] as const;
const MODEL = "qwen2.5-0.5b-instruct";
const NO_PREFIX = { ratio: 0, prefixes: 0, tokens: 1 };
const OUTPUT = { median: 64, sigma: 0, min: 1, max: 64 };

/** The paying clients: streamed chat, a ~256-token prompt, 64 output tokens, split over two keys. */
const KEYED: WorkloadSpec = {
  ...CHAT_WORKLOAD,
  seed: 1,
  model: MODEL,
  promptTokens: { median: 256, sigma: 0.5, min: 16, max: 1024 },
  outputTokens: OUTPUT,
  sharedPrefix: NO_PREFIX,
  keyedRatio: 1,
  apiKeys: KEYS,
  stream: true,
  includeUsage: true,
};

/** The flood: short prompts asking for as much output as the keyed clients get, no key, JSON answers. */
const FLOOD: WorkloadSpec = {
  ...CHAT_WORKLOAD,
  seed: 2,
  model: MODEL,
  promptTokens: { median: 24, sigma: 0.3, min: 4, max: 64 },
  outputTokens: OUTPUT,
  sharedPrefix: NO_PREFIX,
  stream: false,
};

interface RunPlan {
  name: string;
  guard: boolean;
  /** Simulated anonymous addresses the flood is spread over; 0: no flood (the baseline). */
  bots: number;
  solve: boolean;
}

interface Settings {
  durationMs: number;
  drainTimeoutMs: number;
  keyedRate: number;
  floodRate: number;
  bots: number;
  floodConnections: number;
}

export const botFlood: Scenario = {
  name: "bot-flood",
  description: "keyed clients under an anonymous flood: the guard (limits, proof-of-work) on vs off",
  async run(context) {
    const { quick } = context;
    const settings: Settings = {
      durationMs: quick ? 3000 : 10_000,
      drainTimeoutMs: quick ? 3000 : 15_000,
      keyedRate: 5,
      floodRate: 300,
      bots: 50,
      // A botnet opens as many connections as it likes: the client must not cap the flood's concurrency.
      floodConnections: 1024,
    };
    const plans: RunPlan[] = [
      ...(quick ? [] : [{ name: "no flood (baseline)", guard: true, bots: 0, solve: false }]),
      { name: "guard off", guard: false, bots: settings.bots, solve: false },
      { name: "guard on", guard: true, bots: settings.bots, solve: false },
    ];
    if (!quick) plans.push({ name: "guard on, flood from 1 address", guard: true, bots: 1, solve: false });
    if (context.solveChallenges) {
      plans.push({
        name: "guard on, clients solve challenges",
        guard: true,
        bots: settings.bots,
        solve: true,
      });
    }
    const pool = describePool(loadConfig({ file: CONFIG }));
    const capacity = (promptTokens: number) =>
      pool.replicas *
      estimateCapacity({ latency: pool.latency, batch: pool.batch, promptTokens, outputTokens: OUTPUT.max })
        .requestsPerSecond;

    const dir = mkdtempSync(join(tmpdir(), "tollgate-bot-flood-"));
    const offConfig = join(dir, "guard-off.yaml");
    const raw = parse(readFileSync(CONFIG, "utf8")) as Record<string, unknown>;
    writeFileSync(offConfig, stringify({ ...raw, guard: { enabled: false } }));
    const pow = plans.some((p) => p.solve) ? createWorkerSolver() : undefined;
    const runs: Record<string, BotFloodRun> = {};
    try {
      for (const plan of plans) {
        const flood =
          plan.bots === 0 ? "no flood" : `flood ${settings.floodRate} req/s from ${plan.bots} address(es)`;
        context.log(
          `${plan.name}: keyed ${settings.keyedRate} req/s + ${flood} for ${settings.durationMs / 1000} s`,
        );
        runs[plan.name] = await runOnce({ plan, settings, pow, configFile: plan.guard ? CONFIG : offConfig });
      }
    } finally {
      await pow?.close();
      rmSync(dir, { recursive: true, force: true });
    }

    return {
      config: {
        gatewayConfig: CONFIG,
        guardOff: "the same with guard: { enabled: false }",
        ...settings,
        solveChallenges: context.solveChallenges ?? false,
        pool: {
          hardware: pool.hardware,
          model: pool.model,
          replicas: pool.replicas,
          maxNumSeqs: pool.maxNumSeqs,
        },
        rooflineCapacity: {
          keyed: capacity(KEYED.promptTokens.median),
          flood: capacity(FLOOD.promptTokens.median),
        },
        workloads: { keyed: KEYED, flood: FLOOD },
      },
      results: {
        summary: botFloodTable(runs),
        "keyed clients (streamed; latencies of 200s)": mapRuns(runs, (r) => r.keyed),
        "anonymous flood (JSON)": mapRuns(floodRuns(runs), (r) => ({
          ...r.flood,
          outcomes: floodOutcomes(r),
        })),
        "gateway counters and solving": mapRuns(runs, (r) => ({
          ...r.gateway,
          ...(r.keyedSolver && { keyedSolver: r.keyedSolver }),
          ...(r.floodSolver && { floodSolver: r.floodSolver }),
        })),
      },
      notes: [
        `pool: ${pool.replicas} x ${pool.hardware} ${pool.model} (roofline latency), engine maxNumSeqs ${pool.maxNumSeqs}; roofline capacity ~${capacity(FLOOD.promptTokens.median).toFixed(0)} flood-shaped requests/s (${FLOOD.promptTokens.median}-token prompt, ${OUTPUT.max} output tokens), so the flood offers ~${(settings.floodRate / capacity(FLOOD.promptTokens.median)).toFixed(1)}x capacity`,
        `traffic: keyed clients ${settings.keyedRate} req/s Poisson (two API keys, streamed, ~${KEYED.promptTokens.median}-token prompts, ${OUTPUT.max} output tokens) + anonymous flood ${settings.floodRate} req/s Poisson (JSON, ~${FLOOD.promptTokens.median}-token prompts) for ${settings.durationMs / 1000} s, then up to ${settings.drainTimeoutMs / 1000} s of drain`,
        `simulated addresses: the gateway trusts 127.0.0.1 as a proxy (guard.trustedProxies) and each flood request carries x-forwarded-for of one of ${settings.bots} addresses (10.0.0.x; one in the single-address run), drawn at random; keyed clients send none and are told apart by key; neither tenant nor anonymous clients get an SLO class, so the scheduler (defaults) treats both alike`,
        ...Object.entries(runs).map(([name, run]) => runNote(name, run)),
        "table: keyed = requests sent, ok = 200 with a complete stream, TTFT (first streamed token) and e2e (last byte) in ms from the intended send time, of the 200s; flood 200/403/429/other = how its requests ended (other: 503 shed by the scheduler, errors, unfinished at the drain deadline); GPU = flood requests that started a generation, tollgate_routing_decisions_total less the keyed 200s, over flood requests sent; issued = challenges issued (tollgate_challenges_issued_total); solved = passes the clients obtained",
      ],
    };
  },
};

async function runOnce(o: {
  plan: RunPlan;
  settings: Settings;
  pow: PowSolver | undefined;
  configFile: string;
}): Promise<BotFloodRun> {
  const { plan, settings } = o;
  const gateway = await startGateway(o.configFile);
  const baseUrl = gateway.baseUrl;
  const keyedHttp = createHttpSender({ baseUrl });
  const floodHttp = createHttpSender({ baseUrl, connections: settings.floodConnections });
  const solver = (attempt: typeof keyedHttp.sendWithHeaders) =>
    plan.solve && o.pow !== undefined
      ? createChallengeSolver({ baseUrl, attempt, solve: o.pow.solve })
      : undefined;
  const keyedSolver = solver(keyedHttp.sendWithHeaders);
  const floodSolver = solver(floodHttp.sendWithHeaders);
  try {
    const keyedRequests = createWorkload(KEYED);
    const common = { baseUrl, durationMs: settings.durationMs, arrivals: "poisson" as const };
    const before = await scrapeMetrics(baseUrl);
    const floodLoop =
      plan.bots === 0
        ? undefined
        : runOpenLoop({
            ...common,
            rate: settings.floodRate,
            seed: 12,
            next: fromBots({
              next: createWorkload(FLOOD).next,
              addresses: botAddresses(plan.bots),
              random: new SeededRandom(13),
            }),
            send: floodSolver?.send ?? floodHttp.send,
            drainTimeoutMs: settings.drainTimeoutMs,
          });
    const [keyed, flood] = await Promise.all([
      runOpenLoop({
        ...common,
        rate: settings.keyedRate,
        seed: 11,
        next: () => keyedRequests.next(),
        send: keyedSolver?.send ?? keyedHttp.send,
        drainTimeoutMs: settings.drainTimeoutMs,
      }),
      floodLoop,
    ]);
    const after = await scrapeMetrics(baseUrl);
    return {
      keyed,
      ...(flood && { flood }),
      gateway: guardCounters({ before, after }),
      ...(keyedSolver && { keyedSolver: keyedSolver.stats() }),
      ...(floodSolver && { floodSolver: floodSolver.stats() }),
    };
  } finally {
    await Promise.all([keyedHttp.close(), floodHttp.close()]);
    await gateway.stop();
  }
}

/** The runs that had a flood. */
function floodRuns(runs: Record<string, BotFloodRun>): Record<string, BotFloodRun> {
  return Object.fromEntries(Object.entries(runs).filter(([, run]) => run.flood !== undefined));
}

function mapRuns<T>(runs: Record<string, BotFloodRun>, pick: (run: BotFloodRun) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(runs).map(([name, run]) => [name, pick(run)]));
}

/** One run in words: what the keyed clients got, what the flood got, and what solving cost. */
function runNote(name: string, run: BotFloodRun): string {
  const f = floodOutcomes(run);
  const { keyed, flood, floodSolver } = run;
  const pct = (x: number, of: number) => `${of > 0 ? ((100 * x) / of).toFixed(1) : "0"}%`;
  const limited = Object.entries(run.gateway.rateLimited)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  const parts = [
    `${name}: keyed ${keyed.ok}/${keyed.sent} ok (${pct(keyed.ok, keyed.sent)}), TTFT p50 ${keyed.ttft.p50.toFixed(0)} / p99 ${keyed.ttft.p99.toFixed(0)} ms, e2e p99 ${keyed.e2e.p99.toFixed(0)} ms`,
    `flood ${f.sent} sent: ${f.ok} served (200), ${f.challenged} challenged (403), ${f.limited} limited (429${limited === "" ? "" : `: ${limited}`}), ${f.other} other; ~${f.reachedGpu} (${pct(f.reachedGpu, f.sent)}) reached a GPU`,
    `${run.gateway.challengesIssued} challenges issued; load generator lag ${Math.max(keyed.maxSendLagMs, flood?.maxSendLagMs ?? 0).toFixed(0)} ms`,
  ];
  if (flood === undefined) parts.splice(1, 1);
  if (floodSolver !== undefined) {
    const bits = Object.entries(floodSolver.difficulties)
      .map(([d, n]) => `${d} bits x${n}`)
      .join(", ");
    parts.push(
      `the flood solved ${floodSolver.solved} puzzles (${bits || "none"}; ${(floodSolver.computeMsTotal / 1000).toFixed(1)} s of hashing on one core, pass after p50 ${floodSolver.passWait.p50.toFixed(0)} / max ${floodSolver.passWait.max.toFixed(0)} ms) and retried ${floodSolver.retried} requests; ${floodSolver.failed} solves failed; the solver thread shares this machine's 2 cores with the gateway and the load generator, which the keyed latencies of this run also pay for`,
    );
  }
  return parts.join("; ");
}
