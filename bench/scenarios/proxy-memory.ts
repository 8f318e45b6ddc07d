import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Pool } from "undici";
import { parse, stringify } from "yaml";
import { type ServerProcess, startGateway, startServer } from "../harness/processes.js";
import { PROXY_CONFIG } from "./overhead-proxy.js";
import type { Scenario, ScenarioContext } from "./types.js";

/**
 * Proxy mode over time: the gateway's RSS as tens of thousands of requests (half streamed, half JSON) pass
 * through its openai-http backend to bench/servers/minimal-upstream.mjs, then how long SIGTERM takes to stop it.
 * Two gateways in turn: one as deployed, whose RSS V8 may let grow with garbage it has not collected yet, and
 * one with its old space capped (--max-old-space-size), where a per-request leak can only end in its death
 * (issue 8: RSS 129 -> 776 MiB over ~114k requests; at 160 MiB dead after ~45k; SIGKILL needed to stop it).
 */
export const proxyMemory: Scenario = {
  name: "proxy-memory",
  description:
    "gateway RSS over 50,000 proxied requests (openai-http), uncapped and with a 160 MiB heap, then SIGTERM",
  async run(context) {
    const settings = {
      requests: context.quick ? 5000 : 50_000,
      warmUp: context.quick ? 500 : 2000,
      concurrency: 64,
      samples: 10,
      /** The second gateway's --max-old-space-size (the figure). */
      heapLimitMiB: 160,
      /** Beyond the gateway's shutdownGraceMs, how long the bench waits for it to exit before SIGKILL. */
      exitWaitMs: 15_000,
    };
    const dir = mkdtempSync(join(tmpdir(), "tollgate-proxy-memory-"));
    const servers: ServerProcess[] = [];
    try {
      const upstream = await startServer({ name: "upstream", args: ["bench/servers/minimal-upstream.mjs"] });
      servers.push(upstream);
      const config = parse(readFileSync(PROXY_CONFIG, "utf8")) as {
        server: { shutdownGraceMs: number };
        deployments: { backend: { url: string } }[];
      };
      for (const deployment of config.deployments) deployment.backend.url = upstream.baseUrl;
      const configFile = join(dir, "proxy.yaml");
      writeFileSync(configFile, stringify(config));
      const run = async (name: string, env: Record<string, string>) => {
        const gateway = await startGateway(configFile, env);
        servers.push(gateway);
        return measure(context, { name, gateway, graceMs: config.server.shutdownGraceMs, settings });
      };
      const uncapped = await run("uncapped", {});
      const capped = await run(`old space capped at ${settings.heapLimitMiB} MiB`, {
        NODE_OPTIONS: `--max-old-space-size=${settings.heapLimitMiB}`,
      });
      return {
        config: { gatewayConfig: PROXY_CONFIG, ...settings },
        results: { "proxy memory": { [uncapped.name]: uncapped.result, [capped.name]: capped.result } },
        notes: [uncapped.note, capped.note],
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** Load through one gateway with RSS samples, then SIGTERM; or how far it got before it died. */
async function measure(
  context: ScenarioContext,
  options: {
    name: string;
    gateway: ServerProcess;
    graceMs: number;
    settings: { requests: number; warmUp: number; concurrency: number; samples: number; exitWaitMs: number };
  },
) {
  const { name, gateway, graceMs, settings } = options;
  const pool = new Pool(gateway.baseUrl, { connections: settings.concurrency });
  let next = 0;
  let failed = 0;
  let died: { afterRequests: number; code: number | null; signal: NodeJS.Signals | null } | undefined;
  void gateway.exited.then((exit) => {
    died = { afterRequests: next, ...exit };
  });
  const send = async (index: number) => {
    const res = await pool.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "bench-model",
        messages: [{ role: "user", content: "hi" }],
        stream: index % 2 === 0,
      }),
    });
    await res.body.dump();
    if (res.statusCode !== 200) failed++;
  };
  const runTo = (limit: number) =>
    Promise.all(
      Array.from({ length: settings.concurrency }, async () => {
        while (next < limit && died === undefined) await send(next++).catch(() => failed++);
      }),
    );
  const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  await runTo(settings.warmUp);
  await delay(500);
  const rss: Array<{ requests: number; rssMiB: number }> = [{ requests: 0, rssMiB: mib(gateway.rssBytes()) }];
  const started = Date.now();
  next = 0;
  for (let step = 1; step <= settings.samples && died === undefined; step++) {
    const upTo = Math.round((settings.requests * step) / settings.samples);
    await runTo(upTo);
    if (died === undefined) rss.push({ requests: upTo, rssMiB: mib(gateway.rssBytes()) });
    context.log(`${name}: ${upTo} requests, RSS ${rss.at(-1)!.rssMiB} MiB`);
  }
  const seconds = (Date.now() - started) / 1000;
  await pool.destroy();
  const samples = rss.map((r) => r.rssMiB).join(", ");
  if (died !== undefined) {
    const how = died.signal ?? `code ${died.code}`;
    return {
      name,
      result: { requests: settings.requests, failed, rss, died },
      note: `${name}: the gateway died (${how}) after ${died.afterRequests} of ${settings.requests} requests; RSS samples ${samples} MiB`,
    };
  }
  const signalled = Date.now();
  process.kill(gateway.pid, "SIGTERM");
  const exit = await Promise.race([
    gateway.exited,
    delay(graceMs + settings.exitWaitMs).then(() => undefined),
  ]);
  const exitMs = exit === undefined ? undefined : Date.now() - signalled;
  const first = rss[0]!.rssMiB;
  const last = rss.at(-1)!.rssMiB;
  const stopped =
    exit === undefined
      ? `still running ${((graceMs + settings.exitWaitMs) / 1000).toFixed(0)} s after SIGTERM (killed)`
      : `exited ${exit.code ?? exit.signal} ${exitMs} ms after SIGTERM (grace ${graceMs} ms)`;
  return {
    name,
    result: {
      requests: settings.requests,
      failed,
      seconds,
      requestsPerSecond: settings.requests / seconds,
      rss,
      rssGrowthMiB: Math.round((last - first) * 10) / 10,
      shutdown: exit === undefined ? { exited: false } : { exited: true, ...exit, ms: exitMs },
    },
    note: `${name}: ${settings.requests} requests (${failed} failed) in ${seconds.toFixed(1)} s, RSS ${first} -> ${last} MiB (samples ${samples}); SIGTERM: ${stopped}`,
  };
}
