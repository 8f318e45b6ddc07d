import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { createCacheMetrics, type StoreSample } from "./cache-metrics.js";
import { createGuardMetrics } from "./guard-metrics.js";
import { createSchedulingMetrics, type PoolSample, type QueueSample } from "./scheduling-metrics.js";

/**
 * Every Prometheus metric Tollgate exports, defined once. Names follow Prometheus conventions (base units in
 * the name, `_total` on counters). Label values are bounded by configuration: model (configured ids, or
 * "unknown"), deployment, replica, endpoint, status code; never a user, key or prompt.
 */

/** vLLM's TTFT buckets (seconds), so dashboards built for vLLM read Tollgate's histograms the same way. */
export const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
];
/** vLLM's time-per-output-token buckets (seconds). */
export const TPOT_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];
/** vLLM's end-to-end latency buckets (seconds). */
export const E2E_BUCKETS = [
  0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
];
/** Cost per response in USD: a 1-2-5 ladder from a hundred-thousandth of a cent to a dollar. */
export const COST_BUCKETS = [
  1e-7, 2e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2,
  0.1, 1,
];

/** A replica's state at scrape time, read from its backend. */
export interface ReplicaGaugeSample {
  replica: string;
  deployment: string;
  model: string;
  ready: boolean;
  running: number;
  waiting: number;
  kvCacheUsage: number;
  /** Generation tokens per second over the recent window. */
  generationTokensPerSecond: number;
  /** Requests this gateway has in flight on the replica. */
  outstanding: number;
  /** Circuit breaker: 0 closed, 1 half-open, 2 open. */
  breakerState: number;
  /** Accelerator spend since start (uptime x GPUs x price). */
  spendUsd?: number;
  /** Spend while no engine step ran (simulated replicas only). */
  idleCostUsd?: number;
  /** Cumulative engine counters, when the backend is simulated. */
  engine?: { preemptions: number; prefixCacheQueries: number; prefixCacheHits: number; busySeconds: number };
}

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

const MODEL_DEPLOYMENT = ["model", "deployment"] as const;
/** Money is also split by client tier (configured tiers, "anonymous", or "none" without the guard). */
const COST_LABELS = ["model", "deployment", "tier"] as const;

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  const read = options.replicaSamples ?? (() => []);
  // One snapshot per scrape: the registry runs every collect() in one synchronous pass, so derived series
  // (spend and idle cost, busy seconds) come from the same clock reading and stay consistent with each other.
  let snapshot: readonly ReplicaGaugeSample[] | undefined;
  const samples = () => {
    if (snapshot === undefined) {
      snapshot = read();
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  type SampleValue = (s: ReplicaGaugeSample) => number | undefined;
  type ReplicaLabels = { model: string; deployment: string; replica: string };
  const eachSample = (value: SampleValue, apply: (labels: ReplicaLabels, v: number) => void) => {
    for (const s of samples()) {
      const v = value(s);
      if (v !== undefined) apply({ model: s.model, deployment: s.deployment, replica: s.replica }, v);
    }
  };
  const replicaLabelNames = ["model", "deployment", "replica"] as const;

  /** A gauge read from every replica at scrape time. */
  const replicaGauge = (name: string, help: string, value: SampleValue) =>
    new Gauge({
      name,
      help,
      labelNames: replicaLabelNames,
      registers: [registry],
      collect() {
        this.reset();
        eachSample(value, (labels, v) => this.set(labels, v));
      },
    });

  /** A counter mirrored from a replica's own cumulative count at scrape time (reset, then set to the count). */
  const replicaCounter = (name: string, help: string, value: SampleValue) =>
    new Counter({
      name,
      help,
      labelNames: replicaLabelNames,
      registers: [registry],
      collect() {
        this.reset();
        eachSample(value, (labels, v) => this.inc(labels, v));
      },
    });

  return {
    registry,
    ...createCacheMetrics(registry, options.storeSample ?? (() => undefined)),
    ...createSchedulingMetrics(registry, options.queueSamples ?? (() => []), options.poolSamples),
    ...createGuardMetrics(registry),
    requests: new Counter({
      name: "tollgate_requests_total",
      help: "HTTP API requests answered, by endpoint, model and HTTP status code.",
      labelNames: ["endpoint", "model", "status"] as const,
      registers: [registry],
    }),
    clientCancellations: new Counter({
      name: "tollgate_client_cancellations_total",
      help: "Requests whose client closed the connection before the response was complete (recorded as status 499), by endpoint and the stage it left at: reading_body, before_response (queued, prefill, or a response not yet sent), streaming.",
      labelNames: ["endpoint", "stage"] as const,
      registers: [registry],
    }),
    generationsInFlight: new Gauge({
      name: "tollgate_generations_in_flight",
      help: "Generations the gateway has dispatched to a backend and not yet finished.",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    promptTokens: new Counter({
      name: "tollgate_prompt_tokens_total",
      help: "Prompt tokens of completed generations (rate() gives prompt throughput).",
      labelNames: MODEL_DEPLOYMENT,
      registers: [registry],
    }),
    generationTokens: new Counter({
      name: "tollgate_generation_tokens_total",
      help: "Completion tokens generated (rate() gives output throughput in tokens/s).",
      labelNames: MODEL_DEPLOYMENT,
      registers: [registry],
    }),
    generations: new Counter({
      name: "tollgate_generations_total",
      help: "Generations finished by a backend, by finish reason (stop, length) or error code.",
      labelNames: ["model", "deployment", "outcome"] as const,
      registers: [registry],
    }),
    ttft: new Histogram({
      name: "tollgate_time_to_first_token_seconds",
      help: "Time from the gateway receiving a request to its first token, queueing and prefill included.",
      labelNames: MODEL_DEPLOYMENT,
      buckets: TTFT_BUCKETS,
      registers: [registry],
    }),
    tpot: new Histogram({
      name: "tollgate_time_per_output_token_seconds",
      help: "Per request: (end-to-end - TTFT) / (completion tokens - 1).",
      labelNames: MODEL_DEPLOYMENT,
      buckets: TPOT_BUCKETS,
      registers: [registry],
    }),
    e2e: new Histogram({
      name: "tollgate_e2e_request_latency_seconds",
      help: "Time from the gateway receiving a request to its last token.",
      labelNames: MODEL_DEPLOYMENT,
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    engineQueueTime: new Histogram({
      name: "tollgate_engine_queue_time_seconds",
      help: "Time a request waited inside the engine before its first scheduled step.",
      labelNames: MODEL_DEPLOYMENT,
      buckets: TTFT_BUCKETS,
      registers: [registry],
    }),
    responseCost: new Histogram({
      name: "tollgate_response_cost_usd",
      help: "GPU cost of one response: GPU-seconds x price per GPU-hour / 3600 of the replica that served it (0 from the cache).",
      labelNames: COST_LABELS,
      buckets: COST_BUCKETS,
      registers: [registry],
    }),
    costTotal: new Counter({
      name: "tollgate_cost_usd_total",
      help: "GPU cost attributed to responses, in USD.",
      labelNames: COST_LABELS,
      registers: [registry],
    }),
    responseRevenue: new Histogram({
      name: "tollgate_response_revenue_usd",
      help: "List-price revenue of one response: prompt and completion tokens x the model's price per million.",
      labelNames: COST_LABELS,
      buckets: COST_BUCKETS,
      registers: [registry],
    }),
    revenueTotal: new Counter({
      name: "tollgate_revenue_usd_total",
      help: "List-price revenue of responses, in USD (margin = revenue - cost).",
      labelNames: COST_LABELS,
      registers: [registry],
    }),
    gpuSeconds: new Counter({
      name: "tollgate_gpu_seconds_total",
      help: "Accelerator-seconds attributed to responses (step time x GPUs, shared by tokens in the step).",
      labelNames: MODEL_DEPLOYMENT,
      registers: [registry],
    }),
    replicaReady: replicaGauge(
      "tollgate_replica_ready",
      "1 when the replica accepts requests, else 0.",
      (s) => (s.ready ? 1 : 0),
    ),
    replicaRunning: replicaGauge(
      "tollgate_replica_requests_running",
      "Sequences in the replica's running batch (vLLM: num_requests_running).",
      (s) => s.running,
    ),
    replicaWaiting: replicaGauge(
      "tollgate_replica_requests_waiting",
      "Sequences waiting in the replica's engine queue (vLLM: num_requests_waiting).",
      (s) => s.waiting,
    ),
    replicaKvUsage: replicaGauge(
      "tollgate_replica_kv_cache_usage_ratio",
      "Fraction of the replica's KV-cache blocks in use, 0-1 (vLLM: kv_cache_usage_perc).",
      (s) => s.kvCacheUsage,
    ),
    replicaTokensPerSecond: replicaGauge(
      "tollgate_replica_generation_tokens_per_second",
      "Generation throughput of the replica over the last 10 seconds.",
      (s) => s.generationTokensPerSecond,
    ),
    replicaOutstanding: replicaGauge(
      "tollgate_replica_outstanding_requests",
      "Requests this gateway has in flight on the replica (what least-outstanding routing balances).",
      (s) => s.outstanding,
    ),
    replicaBreakerState: replicaGauge(
      "tollgate_replica_breaker_state",
      "The replica's circuit breaker: 0 closed, 1 half-open (probing), 2 open (no traffic).",
      (s) => s.breakerState,
    ),
    retries: new Counter({
      name: "tollgate_retries_total",
      help: "Attempts retried on another replica after a retryable failure before the first token.",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    retriesRefused: new Counter({
      name: "tollgate_retries_refused_total",
      help: "Retries not made because the model's retry budget was spent (an outage, not a blip).",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: "tollgate_fallbacks_total",
      help: "Requests sent to a fallback model because their model's pool could not serve them.",
      labelNames: ["model", "fallback"] as const,
      registers: [registry],
    }),
    canaryRequests: new Counter({
      name: "tollgate_canary_requests_total",
      help: "Requests for a model sent to its canary version instead.",
      labelNames: ["model", "canary"] as const,
      registers: [registry],
    }),
    shadowRequests: new Counter({
      name: "tollgate_shadow_requests_total",
      help: "Requests copied to a shadow model (answers discarded), by outcome (stop, length or error code).",
      labelNames: ["model", "shadow", "outcome"] as const,
      registers: [registry],
    }),
    shadowE2e: new Histogram({
      name: "tollgate_shadow_e2e_request_latency_seconds",
      help: "End-to-end latency of shadow copies; compare with tollgate_e2e_request_latency_seconds of the model.",
      labelNames: ["model", "shadow"] as const,
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    shadowCost: new Counter({
      name: "tollgate_shadow_cost_usd_total",
      help: "GPU cost of shadow copies (not in tollgate_cost_usd_total).",
      labelNames: ["model", "shadow"] as const,
      registers: [registry],
    }),
    routingDecisions: new Counter({
      name: "tollgate_routing_decisions_total",
      help: "Replicas chosen, by model, routing policy and deployment.",
      labelNames: ["model", "policy", "deployment"] as const,
      registers: [registry],
    }),
    replicaPreemptions: replicaCounter(
      "tollgate_replica_preemptions_total",
      "Sequences preempted (KV dropped, recomputed later) since the replica started.",
      (s) => s.engine?.preemptions,
    ),
    replicaPrefixQueries: replicaCounter(
      "tollgate_replica_prefix_cache_query_tokens_total",
      "Prompt tokens looked up in the replica's prefix cache.",
      (s) => s.engine?.prefixCacheQueries,
    ),
    replicaPrefixHits: replicaCounter(
      "tollgate_replica_prefix_cache_hit_tokens_total",
      "Prompt tokens found in the replica's prefix cache.",
      (s) => s.engine?.prefixCacheHits,
    ),
    replicaSpend: replicaCounter(
      "tollgate_replica_spend_usd_total",
      "What the replica's accelerators have cost since it started: uptime x GPUs x price per GPU-hour.",
      (s) => s.spendUsd,
    ),
    replicaIdleCost: replicaCounter(
      "tollgate_replica_idle_cost_usd_total",
      "The part of the spend when the replica ran no engine step (simulated replicas): spend = busy cost + idle cost.",
      (s) => s.idleCostUsd,
    ),
    replicaBusySeconds: replicaCounter(
      "tollgate_replica_busy_seconds_total",
      "Seconds the replica spent running engine steps (busy / uptime = utilisation).",
      (s) => s.engine?.busySeconds,
    ),
  };
}
