import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { GatewayEvent, GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import { ResponseRecorder } from "../metrics/response-recorder.js";
import type { Store } from "../store/store.js";
import type { CacheDirectives } from "./cache-control.js";
import { CacheEntries } from "./entries.js";
import type { CachedGeneration } from "./entry.js";
import { exactKey, isDeterministic } from "./key.js";
import { followerDone, replayEntry } from "./replay.js";
import type { CacheKind, ModelCachePolicy, OpenedGeneration } from "./types.js";

export type { CacheKind, CacheOutcome, CacheStatus, ModelCachePolicy, OpenedGeneration } from "./types.js";

import { SharedGeneration } from "./single-flight.js";

export interface ResponseCacheOptions {
  /** Off: every request is a BYPASS straight to the downstream stage. */
  enabled: boolean;
  coalesce: boolean;
  maxEntryBytes: number;
  /** Policies by model id; a model not listed is not cached. */
  models: ReadonlyMap<string, ModelCachePolicy>;
  store: Store;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** List-price revenue of an answer of this model (for the revenue metrics of cache hits). */
  revenueOf?: (model: string, usage: { promptTokens: number; completionTokens: number }) => number;
  /** The next stage: scheduling, then routing. */
  downstream: (request: GenerationRequest, signal: AbortSignal) => AsyncIterable<GatewayEvent>;
}

/**
 * The cache stage. A request is answered, in order, from the exact-match store, from the semantic index (when
 * the model opts in), by joining an identical generation already in flight (single-flight), or by a new
 * generation whose events are recorded and stored once it finishes normally. Only what is safe is stored:
 * answers to deterministic requests (per model: `mode`), finished with stop or length, served by the model
 * that was asked (not a fallback or canary). Errors, aborted and timed-out generations are never stored.
 *
 * The stage never changes the request it passes on, so a miss is routed exactly as without the cache and
 * still gets the replica's prefix cache (prefix-affinity routing keeps working for near-duplicates). A store
 * that fails is a miss: the request is generated as usual.
 */
export class ResponseCache {
  readonly #options: ResponseCacheOptions;
  readonly #flights = new Map<string, SharedGeneration<GatewayEvent>>();
  readonly #entries: CacheEntries;
  readonly #recorder: ResponseRecorder;
  readonly #results = new Map<string, { inc(): void }>();

  constructor(options: ResponseCacheOptions) {
    this.#options = options;
    this.#recorder = new ResponseRecorder(options.metrics);
    this.#entries = new CacheEntries(options);
  }

  /**
   * Decides how the request is answered and returns its events. Never throws for cache reasons: a store that
   * fails, or a corrupt entry, is a miss.
   */
  async open(
    request: GenerationRequest,
    options: { signal: AbortSignal; directives: CacheDirectives },
  ): Promise<OpenedGeneration> {
    const { downstream } = this.#options;
    const policy = this.#options.models.get(request.model);
    const model = request.model;
    if (
      !this.#options.enabled ||
      policy === undefined ||
      policy.mode === "off" ||
      options.directives.noStore ||
      (policy.mode === "deterministic" && !isDeterministic(request))
    ) {
      this.#count(model, "exact", "bypass");
      return { status: "BYPASS", events: downstream(request, options.signal) };
    }
    const key = exactKey(request);
    const semantic = policy.semantic;
    if (options.directives.noCache) {
      // Revalidate: skip lookups and in-flight generations, generate afresh and store the new answer.
      this.#count(model, "exact", "refresh");
      return this.#lead(request, key, policy, options.signal, false);
    }
    const stored = await this.#entries.lookup(key, model);
    if (stored !== undefined) {
      this.#count(model, "exact", "hit");
      return this.#hit(request, stored, "exact", policy, options.signal);
    }
    if (this.#options.coalesce) {
      const flight = this.#flights.get(key);
      if (flight !== undefined) {
        this.#count(model, "exact", "coalesced");
        return {
          status: "HIT",
          kind: "coalesced",
          ageSeconds: 0,
          events: this.#follow(request, flight, options.signal),
        };
      }
    }
    if (semantic !== undefined) {
      const found = await this.#entries.similar(request, semantic.threshold, semantic.maxTextChars);
      if (found !== undefined) {
        this.#count(model, "semantic", "hit");
        return {
          ...this.#hit(request, found.entry, "semantic", policy, options.signal),
          similarity: found.similarity,
        };
      }
    }
    this.#count(model, semantic === undefined ? "exact" : "semantic", "miss");
    return this.#lead(request, key, policy, options.signal, this.#options.coalesce);
  }

  /** Counts the request's cache result; label children are resolved once (this runs for every request). */
  #count(model: string, kind: "exact" | "semantic", result: string): void {
    const id = `${model}\u0000${kind}\u0000${result}`;
    let child = this.#results.get(id);
    if (child === undefined) {
      child = this.#options.metrics.cacheRequests.labels({ model, kind, result });
      this.#results.set(id, child);
    }
    child.inc();
  }

  /** Generations in flight that identical requests can join. */
  get sharedInFlight(): number {
    return this.#flights.size;
  }

  /** Starts a generation others may join (when `shared`), recording its events to store when it ends well. */
  #lead(
    request: GenerationRequest,
    key: string,
    policy: ModelCachePolicy,
    signal: AbortSignal,
    shared: boolean,
  ): OpenedGeneration {
    const { downstream, metrics } = this.#options;
    const flight = new SharedGeneration<GatewayEvent>(
      (own) => downstream(request, own),
      ({ ok, events }) => {
        const stored = ok ? this.#entries.write(request, key, policy, events) : Promise.resolve();
        // Late joiners replay the finished flight until its entry is readable from the store.
        void stored.finally(() => {
          if (this.#flights.get(key) === flight) {
            this.#flights.delete(key);
            metrics.cacheInflight.set(this.#flights.size);
          }
        });
      },
    );
    if (shared) {
      this.#flights.set(key, flight);
      metrics.cacheInflight.set(this.#flights.size);
    }
    return { status: "MISS", events: flight.subscribe(signal) };
  }

  /** A follower of a shared generation: the same events, its own latency, no GPU cost of its own. */
  async *#follow(
    request: GenerationRequest,
    flight: SharedGeneration<GatewayEvent>,
    signal: AbortSignal,
  ): AsyncGenerator<GatewayEvent> {
    const { clock } = this.#options;
    let firstTokenMs: number | undefined;
    for await (const event of flight.subscribe(signal)) {
      if (event.type === "token") {
        firstTokenMs ??= clock.now();
        yield event;
        continue;
      }
      const now = clock.now();
      this.#saved(request.model, "coalesced", event.usage, event.gpuSeconds, event.costUsd);
      this.#recorder.recordFromCache(request.model, request.tier ?? "none", {
        arrivalMs: request.arrivalMs,
        firstTokenMs: firstTokenMs ?? now,
        endMs: now,
        completionTokens: event.usage.completionTokens,
        revenueUsd: this.#options.revenueOf?.(request.model, event.usage) ?? 0,
      });
      yield followerDone(event, {
        arrivalMs: request.arrivalMs,
        firstTokenMs: firstTokenMs ?? now,
        endMs: now,
      });
    }
  }

  #hit(
    request: GenerationRequest,
    entry: CachedGeneration,
    kind: "exact" | "semantic",
    policy: ModelCachePolicy,
    signal: AbortSignal,
  ): OpenedGeneration {
    const ageSeconds = Math.max(0, Math.floor((this.#options.clock.epochMs() - entry.createdEpochMs) / 1000));
    return {
      status: "HIT",
      kind,
      ageSeconds,
      events: this.#replay(request, entry, kind, ageSeconds, policy, signal),
    };
  }

  /** Replays a stored answer and accounts for it as served by the cache. */
  #replay(
    request: GenerationRequest,
    entry: CachedGeneration,
    kind: "exact" | "semantic",
    ageSeconds: number,
    policy: ModelCachePolicy,
    signal: AbortSignal,
  ): AsyncGenerator<GatewayEvent> {
    return replayEntry(entry, {
      clock: this.#options.clock,
      signal,
      paced: policy.replay === "original",
      arrivalMs: request.arrivalMs,
      // A semantic hit answers a different prompt: its prompt tokens are this request's.
      ...(kind === "semantic" && { promptTokens: request.promptTokens.length }),
      cache: { kind, ageSeconds },
      onFinished: (usage, firstTokenMs, endMs) => {
        this.#saved(request.model, kind, usage, entry.gpuSeconds, entry.costUsd);
        this.#recorder.recordFromCache(request.model, request.tier ?? "none", {
          arrivalMs: request.arrivalMs,
          firstTokenMs,
          endMs,
          completionTokens: usage.completionTokens,
          revenueUsd: this.#options.revenueOf?.(request.model, usage) ?? 0,
        });
      },
    });
  }

  #saved(
    model: string,
    kind: CacheKind,
    usage: { promptTokens: number; completionTokens: number },
    gpuSeconds: number,
    costUsd: number,
  ): void {
    const m = this.#options.metrics;
    const labels = { model, kind };
    m.cacheSavedPromptTokens.inc(labels, usage.promptTokens);
    m.cacheSavedGenerationTokens.inc(labels, usage.completionTokens);
    m.cacheSavedGpuSeconds.inc(labels, gpuSeconds);
    m.cacheSavedCost.inc(labels, costUsd);
  }
}
