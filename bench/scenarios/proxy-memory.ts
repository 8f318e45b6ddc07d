import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Pool } from "undici";
import { parse, stringify } from "yaml";
import { type ServerProcess, startGateway, startServer } from "../harness/processes.js";
import { PROXY_CONFIG } from "./overhead-proxy.js";
import type { Scenario } from "./types.js";

/**
 * Proxy mode over time: the gateway's RSS as tens of thousands of requests (half streamed, half JSON) pass
 * through its openai-http backend to bench/servers/minimal-upstream.mjs, then how long SIGTERM takes to stop it.
 * A per-request leak shows as RSS that keeps climbing with the count; a timer left armed also keeps the
 * process from exiting (issue 8: 129 -> 776 MiB over ~114k requests, and SIGKILL needed to stop it).
 */
export const proxyMemory: Scenario = {
  name: "proxy-memory",
  description:
    "gateway RSS over 50,000 proxied requests (openai-http), then the time SIGTERM takes to stop it",
  async run(context) {
    const settings = {
      requests: context.quick ? 5000 : 50_000,
      warmUp: context.quick ? 500 : 2000,
      concurrency: 64,
      samples: 10,
      /** Beyond the gateway's shutdownGraceMs, how long the bench waits for it to exit before SIGKILL. */
      exitWaitMs: 15_000,
      /**
       * PROXY_MEMORY_HEAP_MIB caps the gateway's old space (--max-old-space-size): a leak then ends in its
       * death instead of RSS that V8 might only be slow to give back.
       */
      heapLimitMiB: process.env["PROXY_MEMORY_HEAP_MIB"]
        ? Number(process.env["PROXY_MEMORY_HEAP_MIB"])
        : undefined,
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
      const gateway = await startGateway(
        configFile,
        settings.heapLimitMiB === undefined
          ? {}
          : { NODE_OPTIONS: `--max-old-space-size=${settings.heapLimitMiB}` },
      );
      servers.push(gateway);

      const pool = new Pool(gateway.baseUrl, { connections: settings.concurrency });
      let next = 0;
      let failed = 0;
      // A leak under a capped heap (NODE_OPTIONS=--max-old-space-size=...) ends in the gateway's death.
      let died: { afterRequests: number; code: number | null; signal: NodeJS.Signals | null } | undefined;
      void gateway.exited.then((exit) => {
        died = { afterRequests: next, ...exit };
      });
      const send = async (index: number) => {
        const stream = index % 2 === 0;
        const res = await pool.request({
          path: "/v1/chat/completions",
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }], stream }),
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
      await runTo(settings.warmUp);
      await delay(500);
      const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
      const rss: Array<{ requests: number; rssMiB: number }> = [
        { requests: 0, rssMiB: mib(gateway.rssBytes()) },
      ];
      context.log(`warm (${settings.warmUp} requests): RSS ${rss[0]!.rssMiB} MiB`);
      const started = Date.now();
      next = 0;
      for (let step = 1; step <= settings.samples; step++) {
        const upTo = Math.round((settings.requests * step) / settings.samples);
        await runTo(upTo);
        if (died !== undefined) break;
        rss.push({ requests: upTo, rssMiB: mib(gateway.rssBytes()) });
        context.log(`${upTo} requests: RSS ${rss.at(-1)!.rssMiB} MiB`);
      }
      const seconds = (Date.now() - started) / 1000;
      await pool.close();

      if (died !== undefined) {
        await pool.destroy();
        const how = died.signal ?? `code ${died.code}`;
        context.log(`the gateway died (${how}) after ${died.afterRequests} requests`);
        return {
          config: { gatewayConfig: PROXY_CONFIG, ...settings },
          results: { "proxy memory": { gateway: { requests: settings.requests, failed, rss, died } } },
          notes: [
            `the gateway died (${how}) after ${died.afterRequests} of ${settings.requests} requests; RSS samples ${rss.map((r) => r.rssMiB).join(", ")} MiB`,
          ],
        };
      }
      const signalled = Date.now();
      process.kill(gateway.pid, "SIGTERM");
      const graceMs = config.server.shutdownGraceMs;
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
        config: { gatewayConfig: PROXY_CONFIG, ...settings },
        results: {
          "proxy memory": {
            gateway: {
              requests: settings.requests,
              failed,
              seconds,
              requestsPerSecond: settings.requests / seconds,
              rss,
              rssGrowthMiB: last - first,
              shutdown: exit === undefined ? { exited: false } : { exited: true, ...exit, ms: exitMs },
            },
          },
        },
        notes: [
          `${settings.requests} proxied requests (${failed} failed) in ${seconds.toFixed(1)} s: RSS ${first} MiB after warm-up -> ${last} MiB (${(last - first).toFixed(1)} MiB); samples ${rss.map((r) => r.rssMiB).join(", ")} MiB`,
          `SIGTERM: ${stopped}`,
        ],
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
