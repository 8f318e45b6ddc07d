import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { startGateway } from "../harness/processes.js";
import { startRedisServer } from "../harness/redis-server.js";
import { scrapeMetrics, sumSamples } from "../lib/metrics-scrape.js";
import type { Scenario } from "./types.js";

/**
 * What a hung Redis costs a request. A gateway (its own process, zero-latency simulated replica, guard and
 * cache on, `store.url` at a private redis-server with the store's default timeouts) serves sequential keyed
 * requests, each a cache miss that goes through the guard's limits (token buckets, a concurrency slot) and the
 * cache (a read, then a write): first with Redis healthy, then with Redis SIGSTOPped (its sockets stay open,
 * nothing answers), then after SIGCONT once `tollgate_store_up` is 1 again. Requests are paced at 10/s, under
 * the guard's flood rate, so what is measured is the store and not a challenge.
 */
const KEY = "bench-store-hang-key";
const FULL = { requests: 50, paceMs: 100 } as const;
const QUICK = { requests: 15, paceMs: 100 } as const;
/** Bound on one request: a hung store must not hang the bench. */
const REQUEST_TIMEOUT_MS = 15_000;

interface Phase {
  requests: number;
  statuses: Record<string, number>;
  /** Milliseconds, in the order sent. */
  latenciesMs: number[];
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  /** The slowest but the first: the first request of the hung phase is the one that finds the hang. */
  maxAfterFirstMs: number;
  /** tollgate_store_up read at the end of the phase. */
  storeUp: number;
}

export const storeHang: Scenario = {
  name: "store-hang",
  description: "Request latency with the shared Redis healthy, SIGSTOPped (hung) and resumed",
  async run(context) {
    const settings = context.quick ? QUICK : FULL;
    const sha256 = createHash("sha256").update(KEY).digest("hex");
    const redis = await startRedisServer();
    const dir = mkdtempSync(join(tmpdir(), "tollgate-store-hang-"));
    const configFile = join(dir, "store-hang.yaml");
    writeFileSync(configFile, stringify(gatewayConfig(sha256)));
    // REDIS_URL wins over the file (config/load.ts): set it to the private server, whatever the shell has.
    const gateway = await startGateway(configFile, { REDIS_URL: redis.url });
    const phases: Record<string, Phase> = {};
    let recoveryMs = -1;
    try {
      const send = (i: number) => timedRequest(gateway.baseUrl, `phase prompt ${i} ${Date.now()}`);
      context.log(`healthy: ${settings.requests} sequential requests`);
      phases["healthy"] = await phase(gateway.baseUrl, settings, send);
      redis.pause();
      context.log("redis SIGSTOPped");
      phases["hung"] = await phase(gateway.baseUrl, settings, send);
      redis.resume();
      const resumed = Date.now();
      const upAt = await waitForStoreUp(gateway.baseUrl, 15_000);
      recoveryMs = upAt >= 0 ? upAt - resumed : -1;
      context.log(`redis SIGCONT: store up again after ${recoveryMs} ms`);
      phases["resumed"] = await phase(gateway.baseUrl, settings, send);
    } finally {
      await gateway.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    return {
      config: {
        requestsPerPhase: settings.requests,
        paceMs: settings.paceMs,
        store: "defaults (connectTimeoutMs 2000, commandTimeoutMs 500)",
        gateway: gatewayConfig("<sha256>"),
      },
      results: { phases, recoveryAfterSigcontMs: recoveryMs },
      notes: notes(phases, recoveryMs),
    };
  },
};

function gatewayConfig(sha256: string): Record<string, unknown> {
  return {
    server: { host: "127.0.0.1", port: 0 },
    log: { level: "info" },
    guard: {
      tenants: {
        bench: {
          limits: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000, concurrentRequests: 8 },
        },
      },
      apiKeys: [{ name: "bench", sha256, tenant: "bench" }],
    },
    models: [{ id: "bench-model", profile: "Llama-3.1-8B" }],
    deployments: [
      {
        name: "zero",
        model: "bench-model",
        replicas: 1,
        backend: {
          type: "simulated",
          hardware: "H100-SXM-80GB",
          latency: "zero",
          output: { lengthMedian: 1_000_000, lengthSigma: 0 },
        },
      },
    ],
  };
}

async function phase(
  baseUrl: string,
  settings: { requests: number; paceMs: number },
  send: (i: number) => Promise<{ status: string; ms: number }>,
): Promise<Phase> {
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  for (let i = 0; i < settings.requests; i++) {
    const started = Date.now();
    const { status, ms } = await send(i);
    latenciesMs.push(Math.round(ms * 10) / 10);
    statuses[status] = (statuses[status] ?? 0) + 1;
    const rest = settings.paceMs - (Date.now() - started);
    if (rest > 0) await sleep(rest);
  }
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    requests: settings.requests,
    statuses,
    latenciesMs,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    maxMs: sorted.at(-1) ?? 0,
    maxAfterFirstMs: Math.max(0, ...latenciesMs.slice(1)),
    storeUp: await storeUp(baseUrl),
  };
}

async function timedRequest(baseUrl: string, content: string): Promise<{ status: string; ms: number }> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        model: "bench-model",
        messages: [{ role: "user", content }],
        max_tokens: 4,
        temperature: 0,
      }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return { status: String(response.status), ms: performance.now() - started };
  } catch {
    return { status: "timeout", ms: performance.now() - started };
  }
}

async function storeUp(baseUrl: string): Promise<number> {
  return sumSamples(await scrapeMetrics(baseUrl), "tollgate_store_up", { store: "redis" });
}

/** Date.now() when tollgate_store_up first reads 1, polled every 50 ms; -1 after `timeoutMs`. */
async function waitForStoreUp(baseUrl: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await storeUp(baseUrl)) === 1) return Date.now();
    await sleep(50);
  }
  return -1;
}

function notes(phases: Record<string, Phase>, recoveryMs: number): string[] {
  const line = (name: string) => {
    const p = phases[name];
    if (p === undefined) return `${name}: not run`;
    return `${name}: p50 ${p.p50Ms} ms, p90 ${p.p90Ms} ms, max ${p.maxMs} ms over ${p.requests} requests (first ${p.latenciesMs[0]} ms, max of the others ${p.maxAfterFirstMs} ms; statuses ${JSON.stringify(p.statuses)}; tollgate_store_up ${p.storeUp} at the end)`;
  };
  const healthy = phases["healthy"];
  const hung = phases["hung"];
  const added = healthy && hung ? `added by the hang: p50 ${(hung.p50Ms - healthy.p50Ms).toFixed(1)} ms` : "";
  return [
    line("healthy"),
    line("hung"),
    line("resumed"),
    added,
    `tollgate_store_up back to 1 ${recoveryMs >= 0 ? `${recoveryMs} ms after SIGCONT` : "not within 15 s"}`,
  ].filter((n) => n !== "");
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
