import { setTimeout as sleep } from "node:timers/promises";
import { LatencyHistogram } from "./histogram.js";
import { type Samples, scrapeMetrics } from "./metrics-scrape.js";
import type { Sender } from "./sender.js";

/**
 * Client-side TTFT, TPOT, responses and tokens of the 200 responses to requests sent inside a window of time.
 * By send time, not end time: runs that offer the same seeded arrivals then count the same requests, where
 * counting by end time would let a few tens of ms of added latency move a Poisson clump across the window's edge.
 */
export class WindowedStats {
  readonly ttft = new LatencyHistogram();
  readonly tpot = new LatencyHistogram();
  /** Closed until {@link open}: nothing counts during a warm-up. */
  readonly window = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };
  responses = 0;
  tokens = 0;
  readonly #now: () => number;

  /** `now` (ms, default performance.now) times sends, first bytes, ends and the window alike. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? (() => performance.now());
  }

  /** Wraps a sender so each request it sends is timed and, if it was sent in the window, recorded. */
  measure(send: Sender): Sender {
    return async (request, onFirstByte, signal) => {
      const startedAt = this.#now();
      let firstAt: number | undefined;
      const outcome = await send(
        request,
        () => {
          firstAt ??= this.#now();
          onFirstByte();
        },
        signal,
      );
      const endedAt = this.#now();
      const inWindow = startedAt >= this.window.from && startedAt <= this.window.to;
      if (!inWindow || outcome.status !== 200 || outcome.error !== undefined || firstAt === undefined) {
        return outcome;
      }
      this.responses++;
      this.tokens += outcome.completionTokens;
      this.ttft.record(firstAt - startedAt);
      if (outcome.completionTokens > 1)
        this.tpot.record((endedAt - firstAt) / (outcome.completionTokens - 1));
      return outcome;
    };
  }

  open(): void {
    this.window.from = this.#now();
  }

  /** Closes the window; returns its length in ms. */
  close(): number {
    this.window.to = this.#now();
    return this.window.to - this.window.from;
  }
}

/**
 * Waits out the warm-up, then opens `stats`' window for `windowMs` between two scrapes of the gateway's /metrics,
 * so the client's counts and the gateway's deltas cover the same interval.
 */
export async function measureWindow(o: {
  baseUrl: string;
  stats: WindowedStats;
  warmupMs: number;
  windowMs: number;
}): Promise<{ before: Samples; after: Samples; durationMs: number }> {
  await sleep(o.warmupMs);
  o.stats.open();
  const before = await scrapeMetrics(o.baseUrl);
  await sleep(o.windowMs);
  const after = await scrapeMetrics(o.baseUrl);
  return { before, after, durationMs: o.stats.close() };
}
