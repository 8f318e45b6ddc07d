import { type ServerProcess, startGateway, startServer } from "../harness/processes.js";
import { runOpenLoop } from "../lib/open-loop.js";
import { createWorkload, type WorkloadSpec } from "../lib/workload.js";
import { addedOver, alternateClosedLoop, alternateOpenLoop, median, warmUp } from "./alternating.js";
import { measureProxy, PROXY_CONFIG } from "./overhead-proxy.js";
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
    const rounds = quick ? 1 : 3;
    const settings = {
      closedLoop: { connections: 32, durationSec: quick ? 1 : 10, rounds, warmUpSec: quick ? 1 : 3 },
      openLoop: { rate: 1000, durationMs: quick ? 1000 : 10_000, arrivals: "uniform" as const, rounds },
      streaming: { rate: 200, durationMs: quick ? 1000 : 10_000, arrivals: "uniform" as const },
      proxy: {
        connections: 32,
        durationSec: quick ? 1 : 10,
        rounds,
        rate: 500,
        durationMs: quick ? 1000 : 10_000,
        warmUpSec: quick ? 1 : 3,
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
      const { connections, durationSec, warmUpSec } = settings.closedLoop;
      const spec = SMALL_CHAT;
      await warmUp(context, targets, { spec, connections, durationSec: warmUpSec, label: "" });
      const closed = await alternateClosedLoop(context, targets, {
        spec,
        connections,
        durationSec,
        rounds,
        label: "",
      });
      const open = await alternateOpenLoop(context, targets, {
        spec,
        rate: settings.openLoop.rate,
        durationMs: settings.openLoop.durationMs,
        rounds,
        label: "",
      });

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
      const proxy = await measureProxy(context, { settings: settings.proxy, spec: SMALL_CHAT, servers });

      const [bareName, readName, tollName] = targets.map((t) => t.name) as [string, string, string];
      const rps = (name: string) => median(closed.requestsPerSecond.get(name) ?? []);
      const ratio = rps(tollName) / rps(bareName);
      const added = (q: "p50" | "p99") =>
        addedOver(open.e2e.get(tollName)?.[q] ?? [], open.e2e.get(bareName)?.[q] ?? []);
      const addedP50 = added("p50");
      const addedP99 = added("p99");
      const ttft = (name: string) => (streamDetail[name] as { ttft: { p50: number } }).ttft.p50;
      const notes = [
        `throughput: Tollgate ${rps(tollName).toFixed(0)} req/s vs bare Hono ${rps(bareName).toFixed(0)} req/s = ${(100 * ratio).toFixed(0)}% (goal >= 50%: ${ratio >= 0.5 ? "met" : "missed"}); vs bare Hono reading the body (${rps(readName).toFixed(0)} req/s): ${((100 * rps(tollName)) / rps(readName)).toFixed(0)}%`,
        `added latency at 1,000 req/s paced: p50 ${addedP50.toFixed(2)} ms (goal <= 0.5: ${addedP50 <= 0.5 ? "met" : "missed"}), p99 ${addedP99.toFixed(2)} ms (goal <= 2: ${addedP99 <= 2 ? "met" : "missed"})`,
        `streaming TTFT p50 at ${settings.streaming.rate} req/s: Tollgate ${ttft(tollName).toFixed(2)} ms vs bare Hono's first chunk ${ttft(bareName).toFixed(2)} ms`,
        ...proxy.notes,
      ];
      const byTarget = (value: (name: string) => number) =>
        Object.fromEntries([bareName, readName, tollName].map((name) => [name, value(name)]));
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
            requestsPerSecond: byTarget(rps),
            addedLatencyMs: { p50: addedP50, p99: addedP99 },
            streamingTtftP50Ms: byTarget(ttft),
            proxy: proxy.summary,
          },
          closedLoop: closed.runs,
          openLoop: open.runs,
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
