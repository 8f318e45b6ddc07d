import { Counter, Gauge, type Registry } from "prom-client";

/**
 * Metrics of the response cache: lookups, writes, what cache-served answers saved, and shared generations.
 * Labels: model (configured ids), kind, result and outcome, all closed sets.
 */
export function createCacheMetrics(registry: Registry) {
  return {
    cacheRequests: new Counter({
      name: "tollgate_cache_requests_total",
      help: "Requests by cache result (hit, miss, coalesced, refresh, bypass) and the cache that decided (exact, semantic).",
      labelNames: ["model", "kind", "result"] as const,
      registers: [registry],
    }),
    cacheStores: new Counter({
      name: "tollgate_cache_writes_total",
      help: "Generations offered to the cache, by outcome (stored, too_large, not_cacheable, unreadable, error).",
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
  };
}
