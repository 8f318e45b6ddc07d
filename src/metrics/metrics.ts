import { collectDefaultMetrics, Registry } from "prom-client";
import { createAccountingMetrics } from "./accounting-metrics.js";
import { createCacheMetrics } from "./cache-metrics.js";
import { createGenerationMetrics } from "./generation-metrics.js";
import { createGuardMetrics } from "./guard-metrics.js";
import { createHttpMetrics } from "./http-metrics.js";
import { createReplicaMetrics, type ReplicaGaugeSample } from "./replica-metrics.js";
import { createRoutingMetrics } from "./routing-metrics.js";
import { createSchedulingMetrics, type PoolSample, type QueueSample } from "./scheduling-metrics.js";
import { createStoreMetrics, type StoreSample } from "./store-metrics.js";

/**
 * The gateway's one registry, and the one place that lists every area's metrics. Each area declares its own
 * metrics once, in its own file; docs/metrics.md is rendered from them (metrics-doc.ts). Names follow
 * Prometheus conventions (base units in the name, `_total` on counters). Label values are bounded by configuration: model (configured ids, or "unknown"), deployment,
 * replica, endpoint, status code; never a user, key or prompt.
 */

export { COST_BUCKETS } from "./accounting-metrics.js";
export { E2E_BUCKETS, TPOT_BUCKETS, TTFT_BUCKETS } from "./buckets.js";
export type { ReplicaGaugeSample } from "./replica-metrics.js";

export interface MetricsOptions {
  /** Called at every scrape to fill the per-replica gauges. */
  replicaSamples?: () => readonly ReplicaGaugeSample[];
  /** Collect Node.js process metrics (event loop lag, heap, GC, CPU). */
  processMetrics?: boolean;
  /** Called at every scrape to fill the shared store's gauges. */
  storeSample?: () => StoreSample | undefined;
  /** Called at every scrape to fill the queue-depth gauge. */
  queueSamples?: () => readonly QueueSample[];
  /** Called at every scrape to fill the per-pool gauges (limits, in flight, prefill backlog and rate). */
  poolSamples?: () => readonly PoolSample[];
}

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    ...createCacheMetrics(registry),
    ...createStoreMetrics(registry, options.storeSample ?? (() => undefined)),
    ...createSchedulingMetrics(registry, options.queueSamples ?? (() => []), options.poolSamples),
    ...createGuardMetrics(registry),
    ...createHttpMetrics(registry),
    ...createGenerationMetrics(registry),
    ...createAccountingMetrics(registry),
    ...createReplicaMetrics(registry, options.replicaSamples ?? (() => [])),
    ...createRoutingMetrics(registry),
  };
}
