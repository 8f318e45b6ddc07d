import autocannon from "autocannon";
import { CompletionBodyReader } from "./completion-body.js";
import type { LatencySummary } from "./histogram.js";
import type { WorkloadRequest } from "./workload.js";

type Method = "GET" | "POST";

interface CommonOptions {
  /** Full URL including the path, e.g. `http://127.0.0.1:8080/v1/chat/completions`. */
  url: string;
  /** Concurrent connections, each sending its next request as soon as the previous answer ends. */
  connections: number;
  /** Seconds; autocannon checks for the end once per 1 s sample, so a run lasts at least a whole second. */
  durationSec: number;
  /** Requests in flight per connection (HTTP/1.1 pipelining); default 1. */
  pipelining?: number;
  /** Seconds before a request counts as a timeout; autocannon's default is 10. */
  timeoutSec?: number;
  /** Draws autocannon's progress bar and results table on stderr; default off. */
  progress?: boolean;
}

export interface ClosedLoopOptions extends CommonOptions {
  /** Called once per request, so every request can differ. */
  next: () => WorkloadRequest;
  /** Default POST. */
  method?: Method;
}

export interface RawClosedLoopOptions extends CommonOptions {
  /** Default GET. */
  method?: Method;
  body?: string;
  headers?: Record<string, string>;
}

export interface ClosedLoopResult {
  /** Responses received, any status. */
  requests: number;
  /** `requests` per second of the run's measured duration. */
  requestsPerSecond: number;
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  /**
   * autocannon's own latency percentiles, in milliseconds, over every response (2xx or not). autocannon records
   * whole milliseconds, so sub-millisecond latencies read as 0 or 1.
   */
  latency: LatencySummary;
  /** Completion tokens of 2xx responses per second; present for {@link runClosedLoop} only. */
  completionTokensPerSecond?: number;
}

/**
 * Closed-loop load: a fixed number of connections, each waiting for a response before sending again, so the
 * offered rate follows the server's speed. This measures peak throughput; for latency under a given load use
 * the open loop (open-loop.ts), which does not slow down when the server does.
 *
 * Every request comes from `next()` through autocannon's `setupRequest` hook, and each 2xx body (JSON, or a
 * whole SSE stream as autocannon buffers it) is read for `usage.completion_tokens` through `onResponse`.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const method = options.method ?? "POST";
  let completionTokens = 0;
  const request: autocannon.Request = {
    method,
    setupRequest: (base) => {
      const next = options.next();
      return { ...base, method, headers: { ...base.headers, ...next.headers }, body: next.bodyText };
    },
    onResponse: (status, body, _context, headers) => {
      if (status < 200 || status >= 300) return;
      const reader = new CompletionBodyReader({ stream: isEventStream(headers) });
      reader.push(body);
      completionTokens += reader.finish(true).completionTokens;
    },
  };
  const result = await run(options, { method, requests: [request] });
  return {
    ...summarise(result),
    completionTokensPerSecond: result.duration > 0 ? completionTokens / result.duration : 0,
  };
}

/** The same loop with one fixed request, e.g. to measure a bare HTTP server for comparison. */
export async function runClosedLoopRaw(options: RawClosedLoopOptions): Promise<ClosedLoopResult> {
  const fixed: autocannon.Options = { url: options.url, method: options.method ?? "GET" };
  if (options.body !== undefined) fixed.body = options.body;
  if (options.headers !== undefined) fixed.headers = options.headers;
  return summarise(await run(options, fixed));
}

function run(options: CommonOptions, request: Omit<autocannon.Options, "url">): Promise<autocannon.Result> {
  if (!(Number.isInteger(options.connections) && options.connections >= 1)) {
    throw new RangeError(`connections must be an integer >= 1, got ${options.connections}`);
  }
  if (!(Number.isFinite(options.durationSec) && options.durationSec > 0)) {
    throw new RangeError(`durationSec must be a number > 0, got ${options.durationSec}`);
  }
  return new Promise((resolve, reject) => {
    // The callback form returns the instance (for `track`); autocannon prints nothing unless tracked.
    const instance = autocannon(
      {
        ...request,
        url: options.url,
        connections: options.connections,
        duration: options.durationSec,
        pipelining: options.pipelining ?? 1,
        ...(options.timeoutSec === undefined ? {} : { timeout: options.timeoutSec }),
      },
      (error: unknown, result) => (error ? reject(error) : resolve(result)),
    );
    if (options.progress) autocannon.track(instance, { renderProgressBar: true, renderResultsTable: true });
  });
}

function summarise(result: autocannon.Result): ClosedLoopResult {
  const total = result.requests.total;
  return {
    requests: total,
    requestsPerSecond: result.duration > 0 ? total / result.duration : 0,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latency: {
      count: total,
      mean: result.latency.mean,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}

function isEventStream(headers: autocannon.Request["headers"]): boolean {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === "content-type") return String(value).includes("text/event-stream");
  }
  return false;
}
