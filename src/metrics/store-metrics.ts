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
 * Metrics of the shared store (memory or Redis) behind the response cache, rate limits and challenges, read
 * from the store at scrape time. The only label is the store's kind (memory, redis).
 */
export function createStoreMetrics(registry: Registry, store: () => StoreSample | undefined) {
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
