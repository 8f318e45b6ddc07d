import v8 from "node:v8";
import vm from "node:vm";
import type { Hono } from "hono";
import type { Composed } from "../../src/compose.js";
import { GatewayError } from "../../src/core/errors.js";
import type { AppEnv } from "../../src/http/env.js";

/**
 * What a leak test counts after a full garbage collection: the heap, the timers still armed (ref'd Timeouts, as
 * `process.getActiveResourcesInfo()` lists them), and the Timeout and AbortController objects still reachable
 * (`v8.queryObjects`, which counts after a full GC). A per-request leak shows as one of these growing with the
 * number of requests; a test compares a census taken after warm-up with one taken after the load.
 */
export interface Census {
  heapUsedBytes: number;
  armedTimeouts: number;
  timeoutObjects: number;
  abortControllers: number;
}

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** The class of Node's timer objects (not exported by node:timers). */
const Timeout = (() => {
  const timer = setTimeout(() => undefined, 0);
  clearTimeout(timer);
  return timer.constructor;
})();

/** Collects garbage (letting pending callbacks and finalizers run in between), then counts. */
export async function census(): Promise<Census> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return {
    heapUsedBytes: process.memoryUsage().heapUsed,
    armedTimeouts: process.getActiveResourcesInfo().filter((name) => name === "Timeout").length,
    timeoutObjects: v8.queryObjects(Timeout as new () => unknown, { format: "count" }),
    abortControllers: v8.queryObjects(AbortController, { format: "count" }),
  };
}

/** One request of a leak test's mix. */
export interface MixRequest {
  model: string;
  /** The user message: scripted upstreams pick their behaviour from it. */
  content: string;
  stream: boolean;
  temperature: number;
  maxTokens: number;
  /** The client goes away once the first chunk of the stream has arrived. */
  abortMidStream?: boolean;
}

/** How the requests of a mix ended, by HTTP status (and `aborted` for streams the client left). */
export type MixOutcomes = Record<string, number>;

/**
 * Sends `total` requests through the app (`app.request()`, no socket), at most `concurrency` at once, reading
 * each response to its end, or, for `abortMidStream`, aborting the request and cancelling the body after the
 * first chunk.
 */
export async function driveMix(options: {
  app: Hono<AppEnv>;
  total: number;
  concurrency: number;
  request: (index: number) => MixRequest;
}): Promise<MixOutcomes> {
  const outcomes: MixOutcomes = {};
  const count = (key: string) => {
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  };
  let next = 0;
  const lane = async () => {
    while (next < options.total) {
      const spec = options.request(next++);
      const client = new AbortController();
      const res = await options.app.request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: spec.model,
          messages: [{ role: "user", content: spec.content }],
          stream: spec.stream,
          temperature: spec.temperature,
          max_tokens: spec.maxTokens,
        }),
        signal: client.signal,
      });
      if (spec.abortMidStream && res.status === 200 && res.body !== null) {
        const reader = res.body.getReader();
        await reader.read();
        client.abort(new Error("client went away"));
        await reader.cancel();
        count("aborted");
        continue;
      }
      await res.arrayBuffer();
      count(String(res.status));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return outcomes;
}

/**
 * Like {@link driveMix}, through the pipeline directly (no HTTP: the route's work is not what leaks), reading
 * each generation as the HTTP layer does: to its end, or, for `abortMidStream`, aborting the client's signal
 * after the first event and returning the iterator. `stream` makes no difference at this level.
 */
export async function drivePipeline(options: {
  composed: Composed;
  total: number;
  concurrency: number;
  request: (index: number) => MixRequest;
}): Promise<MixOutcomes> {
  const { gateway, pipeline } = options.composed;
  const outcomes: MixOutcomes = {};
  const count = (key: string) => {
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  };
  let next = 0;
  const lane = async () => {
    while (next < options.total) {
      const index = next++;
      const spec = options.request(index);
      const client = new AbortController();
      try {
        const request = await gateway.prepare({
          kind: "chat",
          requestId: `leak-${index}`,
          model: spec.model,
          messages: [{ role: "user", content: spec.content }],
          sampling: {
            maxTokens: spec.maxTokens,
            temperature: spec.temperature,
            topP: 1,
            stop: [],
            seed: undefined,
          },
        });
        const opened = await pipeline.open(request, {
          signal: client.signal,
          directives: { noCache: false, noStore: false },
        });
        const events = opened.events[Symbol.asyncIterator]();
        if (spec.abortMidStream) {
          await events.next();
          client.abort(new Error("client went away"));
          await events.return?.();
          count("aborted");
          continue;
        }
        for (let result = await events.next(); !result.done; result = await events.next()) {
          // Read to the end, as collect() and streamResponse() do.
        }
        count("ok");
      } catch (error) {
        count(error instanceof GatewayError ? error.code : "error");
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return outcomes;
}

const MiB = 2 ** 20;

/** A census as a one-line figure for failure messages and logs. */
export function describeCensus(c: Census): string {
  return `heap ${(c.heapUsedBytes / MiB).toFixed(1)} MiB, ${c.armedTimeouts} armed timers, ${c.timeoutObjects} Timeout and ${c.abortControllers} AbortController objects`;
}

/**
 * Per-request bookkeeping of a composed gateway that must be back to zero once every request has ended: the
 * scheduler's slots and queues, each replica's outstanding/running/waiting counts, the cache's shared
 * generations and the in-flight gauge. Returns only the counters that are not zero.
 */
export async function leftInFlight(composed: Composed): Promise<Record<string, number>> {
  const left: Record<string, number> = {};
  const note = (name: string, value: number) => {
    if (value !== 0) left[name] = value;
  };
  for (const sample of composed.gateway.replicaSamples()) {
    note(`${sample.replica} outstanding`, sample.outstanding);
    note(`${sample.replica} running`, sample.running);
    note(`${sample.replica} waiting`, sample.waiting);
  }
  for (const model of composed.gateway.listModels()) {
    const pool = composed.scheduler.pool(model.id);
    note(`${model.id} scheduler in flight`, pool?.inFlight ?? 0);
    note(`${model.id} scheduler queued`, pool?.queued ?? 0);
  }
  note("cache shared generations", composed.cache.sharedInFlight);
  const gauge = await composed.metrics.generationsInFlight.get();
  note(
    "tollgate_generations_in_flight",
    gauge.values.reduce((sum, v) => sum + v.value, 0),
  );
  return left;
}

/** The cache's decisions so far (hit, miss, coalesced, bypass...), summed over models. */
export async function cacheResults(composed: Composed): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  for (const { labels, value } of (await composed.metrics.cacheRequests.get()).values) {
    const result = String(labels.result);
    results[result] = (results[result] ?? 0) + value;
  }
  return results;
}
