import { Counter, Gauge, type Registry } from "prom-client";

/** The shared store's state at scrape time. */
export interface StoreSample {
  /** memory | redis */
  kind: string;
  connected: boolean;
  entries?: number;
  bytes?: number;
  evictions?: number;
  errors: number;
}

/**
 * Metrics of the response cache and the shared store behind it. Labels: model (configured ids), kind, result
 * and store kind, all closed sets.
 */
export function createCacheMetrics(registry: Registry, store: () => StoreSample | undefined) {
  /** Calls `apply` with the store's label and value at scrape time, when the store reports that value. */
  const readStore = (
    value: (s: StoreSample) => number | undefined,
    apply: (store: string, v: number) => void,
  ) => {
    const sample = store();
    const v = sample && value(sample);
    if (sample !== undefined && v !== undefined) apply(sample.kind, v);
  };
  const storeGauge = (name: string, help: string, value: (s: StoreSample) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ["store"] as const,
      registers: [registry],
      collect() {
        this.reset();
        readStore(value, (kind, v) => this.set({ store: kind }, v));
      },
    });
  /** A counter mirrored from the store's own cumulative count (reset, then set to the count). */
  const storeCounter = (name: string, help: string, value: (s: StoreSample) => number | undefined) =>
    new Counter({
      name,
      help,
      labelNames: ["store"] as const,
      registers: [registry],
      collect() {
        this.reset();
        readStore(value, (kind, v) => this.inc({ store: kind }, v));
      },
    });

  return {
    cacheRequests: new Counter({
      name: "tollgate_cache_requests_total",
      help: "Requests by cache result (hit, miss, coalesced, refresh, bypass) and the cache that decided (exact, semantic).",
      labelNames: ["model", "kind", "result"] as const,
      registers: [registry],
    }),
    cacheStores: new Counter({
      name: "tollgate_cache_writes_total",
      help: "Generations offered to the cache, by outcome (stored, too_large, not_cacheable, error).",
      labelNames: ["model", "outcome"] as const,
      registers: [registry],
    }),
    cacheStoredBytes: new Counter({
      name: "tollgate_cache_written_bytes_total",
      help: "Bytes of cache entries written to the store.",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    cacheSavedPromptTokens: new Counter({
      name: "tollgate_cache_saved_prompt_tokens_total",
      help: "Prompt tokens no GPU had to process because the answer came from the cache or a shared generation.",
      labelNames: ["model", "kind"] as const,
      registers: [registry],
    }),
    cacheSavedGenerationTokens: new Counter({
      name: "tollgate_cache_saved_generation_tokens_total",
      help: "Completion tokens no GPU had to generate because the answer came from the cache or a shared generation.",
      labelNames: ["model", "kind"] as const,
      registers: [registry],
    }),
    cacheSavedGpuSeconds: new Counter({
      name: "tollgate_cache_saved_gpu_seconds_total",
      help: "Accelerator-seconds the original generations of cache-served answers took.",
      labelNames: ["model", "kind"] as const,
      registers: [registry],
    }),
    cacheSavedCost: new Counter({
      name: "tollgate_cache_saved_cost_usd_total",
      help: "GPU cost of the original generations of cache-served answers (what serving them again would cost).",
      labelNames: ["model", "kind"] as const,
      registers: [registry],
    }),
    cacheInflight: new Gauge({
      name: "tollgate_cache_shared_generations_in_flight",
      help: "Generations in flight that identical requests can join (single-flight).",
      registers: [registry],
    }),
    semanticEntries: new Gauge({
      name: "tollgate_cache_semantic_index_entries",
      help: "Prompts held in the semantic-cache similarity index of this gateway process.",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    storeUp: storeGauge(
      "tollgate_store_up",
      "1 while the shared store answers; 0 while the gateway serves from its local fallback.",
      (s) => (s.connected ? 1 : 0),
    ),
    storeEntries: storeGauge(
      "tollgate_store_entries",
      "Entries held by the in-memory store.",
      (s) => s.entries,
    ),
    storeBytes: storeGauge(
      "tollgate_store_bytes",
      "Bytes held by the in-memory store (keys and values), bounded by store.maxBytes.",
      (s) => s.bytes,
    ),
    storeEvictions: storeCounter(
      "tollgate_store_evictions_total",
      "Entries the in-memory store evicted to stay within store.maxBytes.",
      (s) => s.evictions,
    ),
    storeErrors: storeCounter(
      "tollgate_store_errors_total",
      "Store calls that failed (each was served from the local fallback instead).",
      (s) => s.errors,
    ),
  };
}
