import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { GatewayEvent, GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/store.js";
import { embed } from "./embedding.js";
import { type CachedGeneration, decodeEntry, encodeEntry } from "./entry.js";
import { semanticParts } from "./key.js";
import { toEntry } from "./replay.js";
import { SemanticIndex } from "./semantic-index.js";
import { DEFAULT_SEMANTIC_MAX_TEXT_CHARS, type ModelCachePolicy } from "./types.js";

const KEY_PREFIX = "cache:v1:";

/**
 * The cache's persistence: entries in the shared store under `cache:v1:<key>` (read, decoded, written with the
 * model's TTL), and the per-model semantic indexes that point at them. A store that fails or an unreadable
 * entry is a miss, logged and counted, never an error for the request.
 */
export class CacheEntries {
  readonly #options: {
    store: Store;
    clock: Clock;
    metrics: Metrics;
    logger: Logger;
    maxEntryBytes: number;
  };
  readonly #semantic = new Map<string, SemanticIndex>();

  constructor(options: {
    store: Store;
    clock: Clock;
    metrics: Metrics;
    logger: Logger;
    maxEntryBytes: number;
    models: ReadonlyMap<string, ModelCachePolicy>;
  }) {
    this.#options = options;
    for (const [model, policy] of options.models) {
      if (policy.semantic !== undefined) {
        this.#semantic.set(model, new SemanticIndex({ maxEntries: policy.semantic.maxEntries }));
      }
    }
  }

  async lookup(key: string, model: string): Promise<CachedGeneration | undefined> {
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

  /** The stored answer to the most similar earlier prompt, when its similarity reaches `threshold`. */
  async similar(
    request: GenerationRequest,
    threshold: number,
    maxTextChars = DEFAULT_SEMANTIC_MAX_TEXT_CHARS,
  ): Promise<{ entry: CachedGeneration; similarity: number } | undefined> {
    const index = this.#semantic.get(request.model);
    if (index === undefined) return undefined;
    const { namespace, text } = semanticParts(request);
    if (text.length > maxTextChars) return undefined;
    const nearest = index.nearest(namespace, embed(text));
    if (nearest === undefined || nearest.similarity < threshold) return undefined;
    const entry = await this.lookup(nearest.key, request.model);
    // Expired or evicted from the store: forget it here too.
    if (entry === undefined) index.delete(nearest.key);
    return entry && { entry, similarity: nearest.similarity };
  }

  /**
   * Stores a finished generation: only the asked model's answer (not a fallback's or canary's), and only when
   * it fits in maxEntryBytes. Failures are logged and counted, never thrown.
   */
  async write(
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
      if (text.length > (policy.semantic?.maxTextChars ?? DEFAULT_SEMANTIC_MAX_TEXT_CHARS)) return;
      index.add(namespace, key, embed(text));
      metrics.semanticEntries.set({ model }, index.size);
    }
  }
}
