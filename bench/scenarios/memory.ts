import { setMaxListeners } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { Pool } from "undici";
import { startGateway } from "../harness/processes.js";
import { HeldStreams } from "../lib/held-streams.js";
import { CHAT_WORKLOAD, createWorkload } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Opens thousands of concurrent streaming requests against the gateway and reports its resident memory: idle,
 * while holding them, and after they close. The engines run what fits their batches (maxNumSeqs per replica),
 * the gateway queues what its queue holds and refuses the rest (503): each request is reported as what the
 * client got (streaming, waiting, refused, failed; bench/lib/held-streams.ts), and memory per connection is
 * per connection actually held.
 */
export const memory: Scenario = {
  name: "memory",
  description: "RSS of the gateway with 5,000 concurrent streaming requests (held, queued or refused)",
  async run(context) {
    const settings = {
      connections: context.quick ? 500 : 5000,
      holdMs: context.quick ? 2000 : 10_000,
      maxTokens: 4000,
      openTimeoutMs: 60_000,
      /** The counts stood still this long: whatever still waits is queued, not on its way. */
      settleMs: 3000,
    };
    const gateway = await startGateway("bench/configs/memory.yaml");
    // Thousands of connects at once queue in the gateway's accept backlog on a busy machine: allow them the
    // scenario's whole open timeout rather than undici's 10 s.
    const pool = new Pool(gateway.baseUrl, {
      connections: settings.connections,
      pipelining: 1,
      connect: { timeout: settings.openTimeoutMs },
    });
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
      const streams = new HeldStreams();
      context.log(`opening ${settings.connections} streaming requests`);
      const requests = Array.from({ length: settings.connections }, () => {
        const request = workload.next();
        return streams.follow(pool, {
          origin: gateway.baseUrl,
          path: "/v1/chat/completions",
          method: "POST",
          headers: { "content-type": "application/json", ...request.headers },
          body: request.bodyText,
          signal: abort.signal,
          headersTimeout: 0,
          bodyTimeout: 0,
        });
      });
      const inFlight = async () => {
        const text = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
        return [...text.matchAll(/^tollgate_generations_in_flight\{[^}]*\} (\d+)/gm)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
      };
      // Settled: every request is streaming, refused or failed, or the counts have stopped moving (what is
      // left waits in the gateway's queue for a slot that a 4,000-token generation will not free soon).
      const deadline = Date.now() + settings.openTimeoutMs;
      let last = "";
      let stableSince = Date.now();
      while (Date.now() < deadline) {
        const counts = streams.counts();
        if (counts.waiting === 0) break;
        const key = JSON.stringify(counts);
        if (key !== last) {
          last = key;
          stableSince = Date.now();
        } else if (Date.now() - stableSince >= settings.settleMs) {
          break;
        }
        await delay(250);
      }
      const opened = streams.counts();
      const generationsInFlight = await inFlight();
      context.log(
        `${opened.streaming} streaming, ${opened.waiting} waiting, ${opened.refused} refused, ${opened.failed} failed; holding ${settings.holdMs} ms`,
      );
      let peakRss = gateway.rssBytes();
      const holdEnd = Date.now() + settings.holdMs;
      while (Date.now() < holdEnd) {
        await delay(250);
        peakRss = Math.max(peakRss, gateway.rssBytes());
      }
      // What was still held at the end of the hold (a stream may have ended or failed meanwhile).
      const held = streams.counts();
      abort.abort();
      await Promise.allSettled(requests);
      await pool.destroy();
      await delay(2000);
      const afterRss = gateway.rssBytes();
      // Every aborted request must have left the pipeline (nothing leaked in the engines or the gateway).
      const inFlightAfterClose = await inFlight();
      const mib = (b: number) => b / 2 ** 20;
      const holding = held.streaming + held.waiting;
      const perConnectionKiB = (peakRss - idleRss) / 1024 / Math.max(1, holding);
      const refusedBy = Object.entries(held.refusedBy)
        .map(([why, n]) => `${n} x ${why}`)
        .join(", ");
      const failedBy = Object.entries(held.failedBy)
        .map(([why, n]) => `${n} x ${why}`)
        .join(", ");
      return {
        config: { gatewayConfig: "bench/configs/memory.yaml", ...settings },
        results: {
          memory: {
            gateway: {
              requested: held.requested,
              held: holding,
              streaming: held.streaming,
              waitingInQueue: held.waiting,
              endedBeforeClose: held.ended,
              refused: held.refused,
              refusedBy: held.refusedBy,
              failed: held.failed,
              failedBy: held.failedBy,
              generationsInFlight,
              idleRssMiB: mib(idleRss),
              peakRssMiB: mib(peakRss),
              afterCloseRssMiB: mib(afterRss),
              generationsInFlightAfterClose: inFlightAfterClose,
              perHeldConnectionKiB: perConnectionKiB,
            },
          },
        },
        notes: [
          `${held.requested} streaming requests: ${holding} held by the gateway (${held.streaming} streaming, ${held.waiting} waiting in its queue), ${held.refused} refused${refusedBy === "" ? "" : ` (${refusedBy})`}, ${held.failed} failed${failedBy === "" ? "" : ` (${failedBy})`}, ${held.ended} ended before the close; ${generationsInFlight} generations in flight by /metrics`,
          `RSS idle ${mib(idleRss).toFixed(0)} MiB, peak ${mib(peakRss).toFixed(0)} MiB (${perConnectionKiB.toFixed(1)} KiB per held connection), ${mib(afterRss).toFixed(0)} MiB 2 s after they closed (V8 keeps its grown heap), with ${inFlightAfterClose} generations left in flight`,
        ],
      };
    } finally {
      abort.abort();
      await pool.destroy().catch(() => undefined);
      await gateway.stop();
    }
  },
};
