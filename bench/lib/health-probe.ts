import { setTimeout as delay } from "node:timers/promises";
import { Pool } from "undici";
import { LatencyHistogram, type LatencySummary } from "./histogram.js";

export interface HealthProbe {
  /**
   * Stops probing; resolves with the latencies of every probe answered (a failed probe counts as `failed`) and
   * when the slowest one was sent, in ms from the start (a maximum in the first second is usually warm-up: code
   * paths compiled on first use).
   */
  stop(): Promise<LatencySummary & { failed: number; maxSentAtMs: number }>;
}

/**
 * Polls GET /healthz every `intervalMs` over one keep-alive connection while something else loads the server,
 * and records how long each answer took. /healthz does no work, so its latency is the time a request waits for
 * the server's event loop: its maximum bounds the longest the loop was held (plus a loopback round trip).
 */
export function startHealthProbe(options: { baseUrl: string; intervalMs: number }): HealthProbe {
  const pool = new Pool(new URL(options.baseUrl).origin, { connections: 1, pipelining: 1 });
  const histogram = new LatencyHistogram();
  let failed = 0;
  let running = true;
  let slowest = -1;
  let maxSentAtMs = 0;
  const start = performance.now();
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const response = await pool.request({
          path: "/healthz",
          method: "GET",
          headersTimeout: 0,
          bodyTimeout: 0,
        });
        await response.body.dump();
        const ms = performance.now() - started;
        if (response.statusCode !== 200) failed++;
        else {
          histogram.record(ms);
          if (ms > slowest) {
            slowest = ms;
            maxSentAtMs = started - start;
          }
        }
      } catch {
        failed++;
      }
      await delay(options.intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await pool.close();
      return { ...histogram.summary(), failed, maxSentAtMs: Math.round(maxSentAtMs) };
    },
  };
}
