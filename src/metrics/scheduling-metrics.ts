import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Queue depth per model and class, read from the schedulers at scrape time. */
export interface QueueSample {
  model: string;
  class: string;
  depth: number;
}

/** Queue-time buckets (seconds): from a millisecond to the batch class's minute. */
const QUEUE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * Metrics of SLO classes, admission control, the gateway's queues and micro-batching. Labels: model and class
 * (configured names), decision and reason (closed sets), target (ttft, tpot, e2e, all), result (met, missed).
 */
export function createSchedulingMetrics(registry: Registry, queues: () => readonly QueueSample[]) {
  return {
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
