import { setMaxListeners } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { Pool } from "undici";
import { startGateway } from "../harness/processes.js";
import { CHAT_WORKLOAD, createWorkload } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Holds thousands of concurrent streaming connections open against the gateway and reports its resident
 * memory: idle, while holding them, and after they close. The engines run what fits their batches
 * (maxNumSeqs per replica) and queue the rest, so every connection is a live request somewhere in the pipeline.
 */
export const memory: Scenario = {
  name: "memory",
  description: "RSS of the gateway while it holds 5,000 concurrent streaming connections",
  async run(context) {
    const settings = {
      connections: context.quick ? 500 : 5000,
      holdMs: context.quick ? 2000 : 10_000,
      maxTokens: 4000,
      openTimeoutMs: 60_000,
    };
    const gateway = await startGateway("bench/configs/memory.yaml");
    const pool = new Pool(gateway.baseUrl, { connections: settings.connections, pipelining: 1 });
    const abort = new AbortController();
    // One signal cancels every request at the end; that is thousands of listeners by design.
    setMaxListeners(0, abort.signal);
    try {
      await delay(500);
      const idleRss = gateway.rssBytes();
      const workload = createWorkload({
        ...CHAT_WORKLOAD,
        stream: true,
        promptTokens: { median: 200, sigma: 0.5, min: 16, max: 1000 },
        outputTokens: {
          median: settings.maxTokens,
          sigma: 0,
          min: settings.maxTokens,
          max: settings.maxTokens,
        },
      });
      let firstBytes = 0;
      let failed = 0;
      context.log(`opening ${settings.connections} streaming requests`);
      const requests = Array.from({ length: settings.connections }, async () => {
        const request = workload.next();
        try {
          const response = await pool.request({
            origin: gateway.baseUrl,
            path: "/v1/chat/completions",
            method: "POST",
            headers: { "content-type": "application/json", ...request.headers },
            body: request.bodyText,
            signal: abort.signal,
            headersTimeout: 0,
            bodyTimeout: 0,
          });
          firstBytes++;
          for await (const _ of response.body) {
            // Consume the stream, as a client would.
          }
        } catch {
          if (!abort.signal.aborted) failed++;
        }
      });
      const inFlight = async () => {
        const text = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
        return [...text.matchAll(/^tollgate_generations_in_flight\{[^}]*\} (\d+)/gm)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
      };
      const deadline = Date.now() + settings.openTimeoutMs;
      let held = 0;
      while (Date.now() < deadline) {
        held = await inFlight();
        if (held >= settings.connections) break;
        await delay(250);
      }
      context.log(`${held} generations in flight; holding ${settings.holdMs} ms`);
      let peakRss = gateway.rssBytes();
      const holdEnd = Date.now() + settings.holdMs;
      while (Date.now() < holdEnd) {
        await delay(250);
        peakRss = Math.max(peakRss, gateway.rssBytes());
      }
      const streaming = firstBytes;
      abort.abort();
      await Promise.allSettled(requests);
      await pool.destroy();
      await delay(2000);
      const afterRss = gateway.rssBytes();
      // Every aborted request must have left the pipeline (nothing leaked in the engines or the gateway).
      const inFlightAfterClose = await inFlight();
      const mib = (b: number) => b / 2 ** 20;
      const perConnectionKiB = (peakRss - idleRss) / 1024 / Math.max(1, held);
      return {
        config: { gatewayConfig: "bench/configs/memory.yaml", ...settings },
        results: {
          memory: {
            gateway: {
              connections: settings.connections,
              generationsInFlight: held,
              streamsWithFirstToken: streaming,
              failed,
              idleRssMiB: mib(idleRss),
              peakRssMiB: mib(peakRss),
              afterCloseRssMiB: mib(afterRss),
              generationsInFlightAfterClose: inFlightAfterClose,
              perConnectionKiB,
            },
          },
        },
        notes: [
          `${held} concurrent generations held (${streaming} already streaming, the rest queued in the engines); RSS idle ${mib(idleRss).toFixed(0)} MiB, peak ${mib(peakRss).toFixed(0)} MiB (${perConnectionKiB.toFixed(1)} KiB per connection), ${mib(afterRss).toFixed(0)} MiB 2 s after they closed (V8 keeps its grown heap), with ${inFlightAfterClose} generations left in flight`,
        ],
      };
    } finally {
      abort.abort();
      await pool.destroy().catch(() => undefined);
      await gateway.stop();
    }
  },
};
