import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { type ServerProcess, startGateway, startServer } from "../harness/processes.js";
import { runClosedLoop } from "../lib/closed-loop.js";
import { runOpenLoop } from "../lib/open-loop.js";
import { createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { Scenario, ScenarioContext } from "./types.js";

/**
 * What Tollgate adds to every request, measured side by side with the stack's ceiling (bare Hono returning a
 * fixed body). Targets alternate within one run with identical load settings, so drift of the machine hits both.
 * Tollgate runs its full pipeline over a simulated replica with the zero-latency profile (no GPU time).
 *
 * Proxy mode then puts a minimal OpenAI-compatible upstream (a fixed SSE stream) behind two proxies: a minimal
 * Hono app forwarding over an undici Pool, and Tollgate through its openai-http backend, and compares their
 * streaming throughput and the latency each adds over calling the upstream directly.
 */
const SMALL_CHAT: WorkloadSpec = {
  seed: 7,
  model: "bench-model",
  promptTokens: { median: 48, sigma: 0, min: 48, max: 48 },
  outputTokens: { median: 16, sigma: 0, min: 16, max: 16 },
  sharedPrefix: { ratio: 0, prefixes: 1, tokens: 1 },
  repeatRatio: 0,
  sloClassMix: {},
  keyedRatio: 0,
  apiKeys: [],
  stream: false,
  includeUsage: false,
  temperature: 0,
};

export const overhead: Scenario = {
  name: "overhead",
  description:
    "Gateway overhead vs bare Hono: throughput, latency at 1,000 req/s paced, streaming TTFT, proxy mode",
  async run(context: ScenarioContext) {
    const quick = context.quick;
    const settings = {
      closedLoop: { connections: 32, durationSec: quick ? 1 : 10, rounds: quick ? 1 : 3 },
      openLoop: {
        rate: 1000,
        durationMs: quick ? 1000 : 10_000,
        arrivals: "uniform" as const,
        rounds: quick ? 1 : 3,
      },
      streaming: { rate: 200, durationMs: quick ? 1000 : 10_000, arrivals: "uniform" as const },
      proxy: {
        closedLoop: { connections: 32, durationSec: quick ? 1 : 10, rounds: quick ? 1 : 3 },
        openLoop: {
          rate: 500,
          durationMs: quick ? 1000 : 10_000,
          arrivals: "uniform" as const,
          rounds: quick ? 1 : 3,
        },
      },
      workload: SMALL_CHAT,
    };
    const servers: ServerProcess[] = [];
    try {
      const bare = await startServer({ name: "bare-hono", args: ["bench/servers/bare-hono.mjs"] });
      servers.push(bare);
      const bareReading = await startServer({
        name: "bare-hono-read",
        args: ["bench/servers/bare-hono.mjs"],
        env: { BARE_READ_BODY: "1" },
      });
      servers.push(bareReading);
      const tollgate = await startGateway("bench/configs/zero-latency.yaml");
      servers.push(tollgate);
      const targets = [
        { name: "bare Hono (fixed body)", server: bare },
        { name: "bare Hono reading the body", server: bareReading },
        { name: "Tollgate (zero-latency engine)", server: tollgate },
      ];

      // Warm both servers (JIT, connection pools) before anything is measured.
      for (const target of targets) {
        context.log(`warm-up: ${target.name}`);
        const workload = createWorkload(SMALL_CHAT);
        await runClosedLoop({
          url: `${target.server.baseUrl}/v1/chat/completions`,
          connections: settings.closedLoop.connections,
          durationSec: quick ? 1 : 3,
          next: () => workload.next(),
        });
      }

      const throughput = new Map(targets.map((t) => [t.name, [] as number[]]));
      const closedDetail: Record<string, unknown> = {};
      for (let round = 0; round < settings.closedLoop.rounds; round++) {
        for (const target of targets) {
          context.log(`closed loop, round ${round + 1}: ${target.name}`);
          const workload = createWorkload(SMALL_CHAT);
          const result = await runClosedLoop({
            url: `${target.server.baseUrl}/v1/chat/completions`,
            connections: settings.closedLoop.connections,
            durationSec: settings.closedLoop.durationSec,
            next: () => workload.next(),
          });
          throughput.get(target.name)?.push(result.requestsPerSecond);
          closedDetail[`${target.name} #${round + 1}`] = result;
        }
      }

      const openDetail: Record<string, unknown> = {};
      const openP = new Map(targets.map((t) => [t.name, { p50: [] as number[], p99: [] as number[] }]));
      for (let round = 0; round < settings.openLoop.rounds; round++) {
        for (const target of targets) {
          context.log(`open loop 1,000 req/s, round ${round + 1}: ${target.name}`);
          const workload = createWorkload(SMALL_CHAT);
          const result = await runOpenLoop({
            baseUrl: target.server.baseUrl,
            rate: settings.openLoop.rate,
            durationMs: settings.openLoop.durationMs,
            arrivals: settings.openLoop.arrivals,
            seed: round + 1,
            next: () => workload.next(),
          });
          openP.get(target.name)?.p50.push(result.e2e.p50);
          openP.get(target.name)?.p99.push(result.e2e.p99);
          openDetail[`${target.name} #${round + 1}`] = result;
        }
      }

      const streamDetail: Record<string, unknown> = {};
      for (const target of targets) {
        context.log(`streaming TTFT at ${settings.streaming.rate} req/s: ${target.name}`);
        const workload = createWorkload({ ...SMALL_CHAT, stream: true });
        streamDetail[target.name] = await runOpenLoop({
          baseUrl: target.server.baseUrl,
          // The bare server streams only when told by the URL: it never reads bodies.
          path: target.server === tollgate ? "/v1/chat/completions" : "/v1/chat/completions?stream=1",
          rate: settings.streaming.rate,
          durationMs: settings.streaming.durationMs,
          arrivals: settings.streaming.arrivals,
          seed: 99,
          next: () => workload.next(),
        });
      }

      // The servers above are done: stop them so they cannot add noise to the proxy runs.
      await Promise.all(servers.splice(0).map((s) => s.stop()));
      const proxy = await measureProxy(context, settings.proxy, servers);

      const [bareName, readName, tollName] = targets.map((t) => t.name) as [string, string, string];
      const rps = (name: string) => median(throughput.get(name) ?? []);
      const ratio = rps(tollName) / rps(bareName);
      // Rounds alternate targets, so compare each Tollgate round with the bare round just before it, then
      // take the median difference: a noisy round (GC, a neighbour on the VM) cannot decide the result alone.
      const added = (q: "p50" | "p99") => {
        const toll = openP.get(tollName)?.[q] ?? [];
        const bare = openP.get(bareName)?.[q] ?? [];
        return median(toll.map((v, k) => v - (bare[k] ?? Number.NaN)));
      };
      const addedP50 = added("p50");
      const addedP99 = added("p99");
      const ttft = (name: string) => (streamDetail[name] as { ttft: { p50: number } }).ttft.p50;
      const notes = [
        `throughput: Tollgate ${rps(tollName).toFixed(0)} req/s vs bare Hono ${rps(bareName).toFixed(0)} req/s = ${(100 * ratio).toFixed(0)}% (goal >= 50%: ${ratio >= 0.5 ? "met" : "missed"}); vs bare Hono reading the body (${rps(readName).toFixed(0)} req/s): ${((100 * rps(tollName)) / rps(readName)).toFixed(0)}%`,
        `added latency at 1,000 req/s paced: p50 ${addedP50.toFixed(2)} ms (goal <= 0.5: ${addedP50 <= 0.5 ? "met" : "missed"}), p99 ${addedP99.toFixed(2)} ms (goal <= 2: ${addedP99 <= 2 ? "met" : "missed"})`,
        `streaming TTFT p50 at ${settings.streaming.rate} req/s: Tollgate ${ttft(tollName).toFixed(2)} ms vs bare Hono's first chunk ${ttft(bareName).toFixed(2)} ms`,
        ...proxy.notes,
      ];
      return {
        config: {
          ...settings,
          gatewayConfig: "bench/configs/zero-latency.yaml",
          bareServer: "bench/servers/bare-hono.mjs",
          proxyGatewayConfig: `${PROXY_CONFIG} (backend.url set to the upstream's origin)`,
          upstreamServer: "bench/servers/minimal-upstream.mjs",
          proxyServer: "bench/servers/hono-undici-proxy.mjs",
        },
        results: {
          summary: {
            throughputRatio: ratio,
            requestsPerSecond: {
              [bareName]: rps(bareName),
              [readName]: rps(readName),
              [tollName]: rps(tollName),
            },
            addedLatencyMs: { p50: addedP50, p99: addedP99 },
            streamingTtftP50Ms: {
              [bareName]: ttft(bareName),
              [readName]: ttft(readName),
              [tollName]: ttft(tollName),
            },
            proxy: proxy.summary,
          },
          closedLoop: closedDetail,
          openLoop: openDetail,
          streaming: streamDetail,
          proxyClosedLoop: proxy.closedLoop,
          proxyOpenLoop: proxy.openLoop,
        },
        notes,
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};

const PROXY_CONFIG = "bench/configs/proxy.yaml";

interface ProxySettings {
  closedLoop: { connections: number; durationSec: number; rounds: number };
  openLoop: { rate: number; durationMs: number; arrivals: "uniform"; rounds: number };
}

/**
 * Proxy mode: the upstream called directly, through the Hono + undici proxy, and through Tollgate's openai-http
 * backend, all with streamed requests. Closed-loop throughput compares the two proxies; the paced open loop gives
 * the latency each adds over the direct call, round by round (targets alternate as above). Started servers are
 * pushed onto `servers`, which the caller stops.
 */
async function measureProxy(context: ScenarioContext, settings: ProxySettings, servers: ServerProcess[]) {
  const quick = context.quick;
  const workloadSpec: WorkloadSpec = { ...SMALL_CHAT, stream: true, includeUsage: true };
  const dir = mkdtempSync(join(tmpdir(), "tollgate-proxy-"));
  try {
    const upstream = await startServer({ name: "upstream", args: ["bench/servers/minimal-upstream.mjs"] });
    servers.push(upstream);
    const hono = await startServer({
      name: "hono-undici-proxy",
      args: ["bench/servers/hono-undici-proxy.mjs"],
      env: { UPSTREAM_URL: upstream.baseUrl },
    });
    servers.push(hono);
    const config = parse(readFileSync(PROXY_CONFIG, "utf8")) as {
      deployments: { backend: { url: string } }[];
    };
    for (const deployment of config.deployments) deployment.backend.url = upstream.baseUrl;
    const configFile = join(dir, "proxy.yaml");
    writeFileSync(configFile, stringify(config));
    const tollgate = await startGateway(configFile);
    servers.push(tollgate);
    const direct = { name: "upstream called directly", server: upstream };
    const proxies = [
      { name: "Hono + undici proxy", server: hono },
      { name: "Tollgate proxy (openai-http)", server: tollgate },
    ];

    for (const target of [direct, ...proxies]) {
      context.log(`proxy warm-up: ${target.name}`);
      const workload = createWorkload(workloadSpec);
      await runClosedLoop({
        url: `${target.server.baseUrl}/v1/chat/completions`,
        connections: settings.closedLoop.connections,
        durationSec: quick ? 1 : 3,
        next: () => workload.next(),
      });
    }

    const throughput = new Map(proxies.map((t) => [t.name, [] as number[]]));
    const closedLoop: Record<string, unknown> = {};
    for (let round = 0; round < settings.closedLoop.rounds; round++) {
      for (const target of proxies) {
        context.log(`proxy closed loop, round ${round + 1}: ${target.name}`);
        const workload = createWorkload(workloadSpec);
        const result = await runClosedLoop({
          url: `${target.server.baseUrl}/v1/chat/completions`,
          connections: settings.closedLoop.connections,
          durationSec: settings.closedLoop.durationSec,
          next: () => workload.next(),
        });
        throughput.get(target.name)?.push(result.requestsPerSecond);
        closedLoop[`${target.name} #${round + 1}`] = result;
      }
    }

    const { rate } = settings.openLoop;
    const e2e = new Map(
      [direct, ...proxies].map((t) => [t.name, { p50: [] as number[], p99: [] as number[] }]),
    );
    const openLoop: Record<string, unknown> = {};
    for (let round = 0; round < settings.openLoop.rounds; round++) {
      for (const target of [direct, ...proxies]) {
        context.log(`proxy open loop ${rate} req/s, round ${round + 1}: ${target.name}`);
        const workload = createWorkload(workloadSpec);
        const result = await runOpenLoop({
          baseUrl: target.server.baseUrl,
          rate,
          durationMs: settings.openLoop.durationMs,
          arrivals: settings.openLoop.arrivals,
          seed: round + 1,
          next: () => workload.next(),
        });
        e2e.get(target.name)?.p50.push(result.e2e.p50);
        e2e.get(target.name)?.p99.push(result.e2e.p99);
        openLoop[`${target.name} #${round + 1}`] = result;
      }
    }

    const [honoName, tollName] = proxies.map((t) => t.name) as [string, string];
    const rps = (name: string) => median(throughput.get(name) ?? []);
    const ratio = rps(tollName) / rps(honoName);
    // As above: each proxy round against the direct round just before it, then the median difference.
    const added = (name: string, q: "p50" | "p99") => {
      const base = e2e.get(direct.name)?.[q] ?? [];
      return median((e2e.get(name)?.[q] ?? []).map((v, k) => v - (base[k] ?? Number.NaN)));
    };
    const addedMs = Object.fromEntries(
      [honoName, tollName].map((name) => [name, { p50: added(name, "p50"), p99: added(name, "p99") }]),
    );
    const ms = (name: string) =>
      `p50 ${addedMs[name]?.p50.toFixed(2)} ms / p99 ${addedMs[name]?.p99.toFixed(2)} ms`;
    return {
      summary: {
        throughputRatio: ratio,
        requestsPerSecond: { [honoName]: rps(honoName), [tollName]: rps(tollName) },
        addedLatencyMs: addedMs,
      },
      closedLoop,
      openLoop,
      notes: [
        `proxy throughput (streamed, ${settings.closedLoop.connections} connections): Tollgate ${rps(tollName).toFixed(0)} req/s vs Hono + undici proxy ${rps(honoName).toFixed(0)} req/s = ${(100 * ratio).toFixed(0)}% (goal >= 100%: ${ratio >= 1 ? "met" : "missed"})`,
        `proxy added latency (e2e over the upstream called directly) at ${rate} req/s paced: Tollgate ${ms(tollName)}; Hono + undici proxy ${ms(honoName)}`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
