import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Queue depth per model and class, read from the schedulers at scrape time. */
export interface QueueSample {
  model: string;
  class: string;
  depth: number;
}

/** A pool's limits and load, read from its scheduler at scrape time. */
export interface PoolSample {
  model: string;
  /** Requests it runs at once now (from the replicas' KV capacity at the typical length, or configured). */
  concurrencyLimit: number;
  inFlight: number;
  /** Prompt tokens dispatched to its replicas and not yet prefilled. */
  prefillBacklogTokens: number;
  /** Measured (else estimated) prefill throughput; undefined when unknown. */
  prefillTokensPerSecond: number | undefined;
}

/** Queue-time buckets (seconds): from a millisecond to the batch class's minute. */
const QUEUE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * Metrics of SLO classes, admission control, the gateway's queues and micro-batching. Labels: model and class
 * (configured names), decision and reason (closed sets), target (ttft, tpot, e2e, all), result (met, missed).
 */
export function createSchedulingMetrics(
  registry: Registry,
  queues: () => readonly QueueSample[],
  pools: () => readonly PoolSample[] = () => [],
) {
  // One read per scrape for the four pool gauges (they run in one synchronous pass of the registry).
  let snapshot: readonly PoolSample[] | undefined;
  const poolSamples = () => {
    if (snapshot === undefined) {
      snapshot = pools();
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  const poolGauge = (name: string, help: string, read: (p: PoolSample) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ["model"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const p of poolSamples()) {
          const value = read(p);
          if (value !== undefined) this.set({ model: p.model }, value);
        }
      },
    });
  return {
    poolConcurrencyLimit: poolGauge(
      "tollgate_pool_concurrency_limit",
      "Requests a model's pool runs at once: its replicas' batch limit, capped by what their KV cache holds at the pool's typical sequence length (or as configured).",
      (p) => p.concurrencyLimit,
    ),
    poolInFlight: poolGauge(
      "tollgate_pool_in_flight",
      "Requests the gateway has dispatched to a model's pool and not yet finished (queued or running inside the replicas).",
      (p) => p.inFlight,
    ),
    poolPrefillBacklog: poolGauge(
      "tollgate_pool_prefill_backlog_tokens",
      "Prompt tokens dispatched to a model's replicas that have no first token yet: prefill work waiting or running inside the engines.",
      (p) => p.prefillBacklogTokens,
    ),
    poolPrefillRate: poolGauge(
      "tollgate_pool_prefill_tokens_per_second",
      "A model's pool prefill throughput in prompt tokens per second, measured while requests queue (the replicas' roofline estimate before that).",
      (p) => p.prefillTokensPerSecond,
    ),
    queueDepth: new Gauge({
      name: "tollgate_queue_depth",
      help: "Requests waiting in the gateway's queue for a model's pool, by SLO class.",
      labelNames: ["model", "class"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const q of queues()) this.set({ model: q.model, class: q.class }, q.depth);
      },
    }),
    queueTime: new Histogram({
      name: "tollgate_queue_time_seconds",
      help: "Time admitted requests waited in the gateway's queue before dispatch (0 when a slot was free).",
      labelNames: ["model", "class"] as const,
      buckets: QUEUE_BUCKETS,
      registers: [registry],
    }),
    admission: new Counter({
      name: "tollgate_admission_total",
      help: "Admission decisions: admitted, degraded (served by a faster model) or shed, by reason and class.",
      labelNames: ["model", "class", "decision", "reason"] as const,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "tollgate_batch_size",
      help: "Requests released to a pool together: micro-batches, bursts into freed slots, 1 for a request dispatched on arrival.",
      labelNames: ["model"] as const,
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    }),
    batchWait: new Histogram({
      name: "tollgate_batch_wait_seconds",
      help: "Time a request was held for a micro-batch before release (only requests that were held).",
      labelNames: ["model"] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      registers: [registry],
    }),
    slo: new Counter({
      name: "tollgate_slo_requests_total",
      help: "Responses judged against their class's targets, per target (ttft, tpot, e2e, all) and result; goodput is the rate of target=all, result=met.",
      labelNames: ["model", "class", "target", "result"] as const,
      registers: [registry],
    }),
  };
}
