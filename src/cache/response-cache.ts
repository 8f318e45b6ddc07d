import type { Logger } from "pino";
import { type Clock, sleep } from "../core/clock.js";
import type { GatewayEvent, ServedDoneEvent } from "../core/gateway.js";
import type { GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import { ResponseRecorder } from "../metrics/response-recorder.js";
import type { Store } from "../store/store.js";
import type { CacheDirectives } from "./cache-control.js";
import { embed } from "./embedding.js";
import { type CachedGeneration, decodeEntry, encodeEntry, eventTokens } from "./entry.js";
import { exactKey, isDeterministic, semanticParts } from "./key.js";
import { SemanticIndex } from "./semantic-index.js";
import { SharedGeneration } from "./single-flight.js";

/** How one model's answers are cached (the top-level `cache` values with the model's own on top). */
export interface ModelCachePolicy {
  mode: "deterministic" | "all" | "off";
  ttlMs: number;
  replay: "instant" | "original";
  semantic?: { threshold: number; maxEntries: number };
}

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
  /** The next stage: routing (later, admission and the queue in front of it). */
  downstream: (request: GenerationRequest, signal: AbortSignal) => AsyncIterable<GatewayEvent>;
}

export type CacheStatus = "HIT" | "MISS" | "BYPASS";
export type CacheKind = "exact" | "semantic" | "coalesced";

/** What the cache stage decided, known before the first event (so it can go out in response headers). */
export interface CacheOutcome {
  status: CacheStatus;
  /** For hits: which cache answered. */
  kind?: CacheKind;
  /** For hits: seconds since the stored answer was generated. */
  ageSeconds?: number;
  /** For semantic hits: cosine similarity of the prompts. */
  similarity?: number;
}

export interface OpenedGeneration extends CacheOutcome {
  events: AsyncIterable<GatewayEvent>;
}

const KEY_PREFIX = "cache:v1:";

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
  readonly #semantic = new Map<string, SemanticIndex>();
  readonly #recorder: ResponseRecorder;

  constructor(options: ResponseCacheOptions) {
    this.#options = options;
    this.#recorder = new ResponseRecorder(options.metrics);
    for (const [model, policy] of options.models) {
      if (policy.semantic !== undefined) {
        this.#semantic.set(model, new SemanticIndex({ maxEntries: policy.semantic.maxEntries }));
      }
    }
  }

  /**
   * Decides how the request is answered and returns its events. Never throws for cache reasons: a store that
   * fails, or a corrupt entry, is a miss.
   */
  async open(
    request: GenerationRequest,
    options: { signal: AbortSignal; directives: CacheDirectives },
  ): Promise<OpenedGeneration> {
    const { metrics, downstream } = this.#options;
    const policy = this.#options.models.get(request.model);
    const model = request.model;
    if (
      !this.#options.enabled ||
      policy === undefined ||
      policy.mode === "off" ||
      options.directives.noStore ||
      (policy.mode === "deterministic" && !isDeterministic(request))
    ) {
      metrics.cacheRequests.inc({ model, kind: "exact", result: "bypass" });
      return { status: "BYPASS", events: downstream(request, options.signal) };
    }
    const key = exactKey(request);
    const semantic = this.#semantic.get(model);
    if (options.directives.noCache) {
      // Revalidate: skip lookups and in-flight generations, generate afresh and store the new answer.
      metrics.cacheRequests.inc({ model, kind: "exact", result: "refresh" });
      return this.#lead(request, key, policy, options.signal, false);
    }
    const stored = await this.#lookup(key, model);
    if (stored !== undefined) {
      metrics.cacheRequests.inc({ model, kind: "exact", result: "hit" });
      return this.#hit(request, stored, "exact", policy, options.signal);
    }
    if (this.#options.coalesce) {
      const flight = this.#flights.get(key);
      if (flight !== undefined) {
        metrics.cacheRequests.inc({ model, kind: "exact", result: "coalesced" });
        return {
          status: "HIT",
          kind: "coalesced",
          ageSeconds: 0,
          events: this.#follow(request, flight, options.signal),
        };
      }
    }
    if (semantic !== undefined && policy.semantic !== undefined) {
      const found = await this.#semanticLookup(request, semantic, policy.semantic.threshold);
      if (found !== undefined) {
        metrics.cacheRequests.inc({ model, kind: "semantic", result: "hit" });
        return {
          ...this.#hit(request, found.entry, "semantic", policy, options.signal),
          similarity: found.similarity,
        };
      }
    }
    metrics.cacheRequests.inc({ model, kind: semantic === undefined ? "exact" : "semantic", result: "miss" });
    return this.#lead(request, key, policy, options.signal, this.#options.coalesce);
  }

  /** Generations in flight that identical requests can join. */
  get sharedInFlight(): number {
    return this.#flights.size;
  }

  async #lookup(key: string, model: string): Promise<CachedGeneration | undefined> {
    let bytes: Buffer | undefined;
    try {
      bytes = await this.#options.store.get(KEY_PREFIX + key);
    } catch (error) {
      // The fallback store already absorbs outages; anything left is a bug worth a log line, not a failed request.
      this.#options.logger.warn({ err: error }, "cache lookup failed; serving as a miss");
      return undefined;
    }
    if (bytes === undefined) return undefined;
    const entry = decodeEntry(bytes);
    if (entry === undefined) {
      this.#options.logger.warn({ model }, "unreadable cache entry ignored");
      this.#options.metrics.cacheStores.inc({ model, outcome: "unreadable" });
    }
    return entry;
  }

  async #semanticLookup(
    request: GenerationRequest,
    index: SemanticIndex,
    threshold: number,
  ): Promise<{ entry: CachedGeneration; similarity: number } | undefined> {
    const { namespace, text } = semanticParts(request);
    const nearest = index.nearest(namespace, embed(text));
    if (nearest === undefined || nearest.similarity < threshold) return undefined;
    const entry = await this.#lookup(nearest.key, request.model);
    // Expired or evicted from the store: forget it here too.
    if (entry === undefined) index.delete(nearest.key);
    return entry && { entry, similarity: nearest.similarity };
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
        const stored = ok ? this.#store(request, key, policy, events) : Promise.resolve();
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

  async #store(
    request: GenerationRequest,
    key: string,
    policy: ModelCachePolicy,
    events: readonly GatewayEvent[],
  ): Promise<void> {
    const { metrics, store, clock } = this.#options;
    const model = request.model;
    const done = events[events.length - 1];
    // A fallback's or canary's answer is not the asked model's answer; do not pin it for the TTL.
    if (done?.type !== "done" || done.servedBy.model !== model) {
      metrics.cacheStores.inc({ model, outcome: "not_cacheable" });
      return;
    }
    const entry = toEntry(events, done, request.arrivalMs, clock.epochMs());
    const bytes = encodeEntry(entry);
    if (bytes.byteLength > this.#options.maxEntryBytes) {
      metrics.cacheStores.inc({ model, outcome: "too_large" });
      return;
    }
    try {
      await store.set(KEY_PREFIX + key, bytes, { ttlMs: policy.ttlMs });
    } catch (error) {
      this.#options.logger.warn({ err: error, model }, "cache write failed");
      metrics.cacheStores.inc({ model, outcome: "error" });
      return;
    }
    metrics.cacheStores.inc({ model, outcome: "stored" });
    metrics.cacheStoredBytes.inc({ model }, bytes.byteLength);
    const index = this.#semantic.get(model);
    if (index !== undefined) {
      const { namespace, text } = semanticParts(request);
      index.add(namespace, key, embed(text));
      metrics.semanticEntries.set({ model }, index.size);
    }
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
      this.#recorder.recordFromCache(request.model, {
        arrivalMs: request.arrivalMs,
        firstTokenMs: firstTokenMs ?? now,
        endMs: now,
        completionTokens: event.usage.completionTokens,
      });
      yield fromCache(event, request.arrivalMs, firstTokenMs ?? now, now, "coalesced", 0);
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

  /** Replays a stored answer: the same deltas, paced as recorded when `replay: original`, then `done`. */
  async *#replay(
    request: GenerationRequest,
    entry: CachedGeneration,
    kind: "exact" | "semantic",
    ageSeconds: number,
    policy: ModelCachePolicy,
    signal: AbortSignal,
  ): AsyncGenerator<GatewayEvent> {
    const { clock } = this.#options;
    const servedBy = { model: entry.model, deployment: entry.deployment, replicaId: entry.replicaId };
    const startMs = clock.now();
    let firstTokenMs: number | undefined;
    for (let i = 0; i < entry.texts.length; i++) {
      if (policy.replay === "original") {
        const dueMs = startMs + (entry.offsetsMs[i] ?? 0);
        if (dueMs > clock.now()) await sleep(clock, dueMs - clock.now(), signal);
      }
      const atMs = clock.now();
      firstTokenMs ??= atMs;
      const text = entry.texts[i]!;
      const tokens = eventTokens(entry, i);
      yield i === 0 ? { type: "token", text, tokens, atMs, servedBy } : { type: "token", text, tokens, atMs };
    }
    const endMs = clock.now();
    // A semantic hit answers a different prompt: its prompt tokens are this request's, the completion is stored.
    const usage =
      kind === "semantic"
        ? { ...entry.usage, promptTokens: request.promptTokens.length, cachedPromptTokens: 0 }
        : entry.usage;
    this.#saved(request.model, kind, usage, entry.gpuSeconds, entry.costUsd);
    this.#recorder.recordFromCache(request.model, {
      arrivalMs: request.arrivalMs,
      firstTokenMs: firstTokenMs ?? endMs,
      endMs,
      completionTokens: usage.completionTokens,
    });
    yield {
      type: "done",
      finishReason: entry.finishReason,
      usage,
      timings: {
        arrivalMs: request.arrivalMs,
        scheduledMs: startMs,
        firstTokenMs: firstTokenMs ?? endMs,
        endMs,
        preemptions: 0,
      },
      gpuSeconds: 0,
      replicaId: entry.replicaId,
      servedBy,
      deployment: entry.deployment,
      costUsd: 0,
      cache: { kind, ageSeconds },
    };
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

/** The done event as a follower of a shared generation sees it. */
function fromCache(
  done: ServedDoneEvent,
  arrivalMs: number,
  firstTokenMs: number,
  endMs: number,
  kind: CacheKind,
  ageSeconds: number,
): ServedDoneEvent {
  return {
    ...done,
    timings: { ...done.timings, arrivalMs, firstTokenMs, endMs },
    gpuSeconds: 0,
    costUsd: 0,
    cache: { kind, ageSeconds },
  };
}

/** The stored form of a finished generation. */
function toEntry(
  events: readonly GatewayEvent[],
  done: ServedDoneEvent,
  arrivalMs: number,
  nowEpochMs: number,
): CachedGeneration {
  const texts: string[] = [];
  const tokens: number[] = [];
  const offsetsMs: number[] = [];
  let firstMs: number | undefined;
  let uniform = true;
  for (const event of events) {
    if (event.type !== "token") continue;
    firstMs ??= event.atMs;
    texts.push(event.text);
    tokens.push(event.tokens);
    if (event.tokens !== 1) uniform = false;
    offsetsMs.push(Math.max(0, Math.round(event.atMs - firstMs)));
  }
  const entry: CachedGeneration = {
    v: 1,
    createdEpochMs: nowEpochMs,
    model: done.servedBy.model,
    deployment: done.servedBy.deployment,
    replicaId: done.servedBy.replicaId,
    finishReason: done.finishReason,
    usage: done.usage,
    gpuSeconds: done.gpuSeconds,
    costUsd: done.costUsd,
    ttftMs: Math.max(0, (firstMs ?? done.timings.endMs) - arrivalMs),
    texts,
    offsetsMs,
  };
  if (!uniform) entry.tokens = tokens;
  return entry;
}
