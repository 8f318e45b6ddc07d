import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { type ServerProcess, startGateway, startServer } from "../harness/processes.js";
import type { WorkloadSpec } from "../lib/workload.js";
import { addedOver, alternateClosedLoop, alternateOpenLoop, median, warmUp } from "./alternating.js";
import type { ScenarioContext } from "./types.js";

export const PROXY_CONFIG = "bench/configs/proxy.yaml";

export interface ProxySettings {
  connections: number;
  durationSec: number;
  rounds: number;
  rate: number;
  durationMs: number;
  warmUpSec: number;
}

/**
 * Proxy mode: a minimal OpenAI-compatible upstream (a fixed SSE stream) called directly, through a minimal Hono
 * proxy over an undici Pool, and through Tollgate's openai-http backend, all with streamed requests. Closed-loop
 * throughput compares the two proxies; the paced open loop gives the latency each adds over the direct call.
 * Started servers are pushed onto `servers`, which the caller stops.
 */
export async function measureProxy(
  context: ScenarioContext,
  options: { settings: ProxySettings; spec: WorkloadSpec; servers: ServerProcess[] },
) {
  const { settings, servers } = options;
  const spec: WorkloadSpec = { ...options.spec, stream: true, includeUsage: true };
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
    const hon = { name: "Hono + undici proxy", server: hono };
    const toll = { name: "Tollgate proxy (openai-http)", server: tollgate };
    const label = "proxy ";
    const { connections, durationSec, rounds, rate, durationMs } = settings;
    await warmUp(context, [direct, hon, toll], { spec, connections, durationSec: settings.warmUpSec, label });
    const closed = await alternateClosedLoop(context, [hon, toll], {
      spec,
      connections,
      durationSec,
      rounds,
      label,
    });
    const open = await alternateOpenLoop(context, [direct, hon, toll], {
      spec,
      rate,
      durationMs,
      rounds,
      label,
    });

    const rps = (name: string) => median(closed.requestsPerSecond.get(name) ?? []);
    const ratio = rps(toll.name) / rps(hon.name);
    const added = (name: string, q: "p50" | "p99") =>
      addedOver(open.e2e.get(name)?.[q] ?? [], open.e2e.get(direct.name)?.[q] ?? []);
    const addedMs = Object.fromEntries(
      [hon.name, toll.name].map((name) => [name, { p50: added(name, "p50"), p99: added(name, "p99") }]),
    );
    const ms = (name: string) =>
      `p50 ${addedMs[name]?.p50.toFixed(2)} ms / p99 ${addedMs[name]?.p99.toFixed(2)} ms`;
    return {
      summary: {
        throughputRatio: ratio,
        requestsPerSecond: { [hon.name]: rps(hon.name), [toll.name]: rps(toll.name) },
        addedLatencyMs: addedMs,
      },
      closedLoop: closed.runs,
      openLoop: open.runs,
      notes: [
        `proxy throughput (streamed, ${connections} connections): Tollgate ${rps(toll.name).toFixed(0)} req/s vs Hono + undici proxy ${rps(hon.name).toFixed(0)} req/s = ${(100 * ratio).toFixed(0)}% (goal >= 100%: ${ratio >= 1 ? "met" : "missed"})`,
        `proxy added latency (e2e over the upstream called directly) at ${rate} req/s paced: Tollgate ${ms(toll.name)}; Hono + undici proxy ${ms(hon.name)}`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
