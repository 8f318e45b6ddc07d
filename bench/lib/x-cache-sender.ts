import { LatencyHistogram, type LatencySummary } from "./histogram.js";
import { createHttpSender } from "./http-sender.js";
import type { Sender } from "./sender.js";

/** Responses by `x-cache` value; for hits also by `x-tollgate-cache-kind` (exact or coalesced). */
export interface XCacheTally {
  HIT: number;
  MISS: number;
  BYPASS: number;
  /** No x-cache header (an error response). */
  none: number;
  hitKinds: Record<string, number>;
}

export interface XCacheSender {
  send: Sender;
  readonly tally: XCacheTally;
  /** Latency from the send to the end of the body, by `x-cache` value ("none" without the header). */
  latencies(): Record<string, LatencySummary>;
  close(): Promise<void>;
}

/**
 * The default sender (http-sender.ts) that also counts each response's `x-cache` header and times each outcome
 * from the moment it is sent. Requests that failed without a whole response (transport errors, bodies cut off)
 * are neither counted nor timed here; the open loop counts them as errors.
 */
export function createXCacheSender(o: { baseUrl: string; now?: () => number }): XCacheSender {
  const now = o.now ?? (() => performance.now());
  const http = createHttpSender({ baseUrl: o.baseUrl });
  const tally: XCacheTally = { HIT: 0, MISS: 0, BYPASS: 0, none: 0, hitKinds: {} };
  const histograms = new Map<string, LatencyHistogram>();
  const send: Sender = async (request, onFirstByte, signal) => {
    const startedAt = now();
    const { headers, ...outcome } = await http.sendWithHeaders(request, onFirstByte, signal);
    if (headers === undefined) return outcome;
    const xCache = String(headers["x-cache"] ?? "none");
    if (xCache === "HIT" || xCache === "MISS" || xCache === "BYPASS") tally[xCache]++;
    else tally.none++;
    if (xCache === "HIT") {
      const kind = String(headers["x-tollgate-cache-kind"] ?? "unknown");
      tally.hitKinds[kind] = (tally.hitKinds[kind] ?? 0) + 1;
    }
    const histogram = histograms.get(xCache) ?? new LatencyHistogram();
    histograms.set(xCache, histogram);
    histogram.record(now() - startedAt);
    return outcome;
  };
  return {
    send,
    tally,
    latencies: () => Object.fromEntries([...histograms].map(([key, h]) => [key, h.summary()])),
    close: () => http.close(),
  };
}
