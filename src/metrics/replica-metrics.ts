import { Counter, Gauge, type Registry } from "prom-client";

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

type SampleValue = (s: ReplicaGaugeSample) => number | undefined;
type ReplicaLabels = { model: string; deployment: string; replica: string };
const REPLICA_LABELS = ["model", "deployment", "replica"] as const;

/**
 * Metrics of each replica, read from its backend at scrape time: state gauges (vLLM's names in the help),
 * and counters mirrored from the engine's own cumulative counts (preemptions, prefix cache, spend, busy time).
 * Labels: model, deployment and replica, all configured.
 */
export function createReplicaMetrics(registry: Registry, read: () => readonly ReplicaGaugeSample[]) {
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
  const eachSample = (value: SampleValue, apply: (labels: ReplicaLabels, v: number) => void) => {
    for (const s of samples()) {
      const v = value(s);
      if (v !== undefined) apply({ model: s.model, deployment: s.deployment, replica: s.replica }, v);
    }
  };

  /** A gauge read from every replica at scrape time. */
  const replicaGauge = (name: string, help: string, value: SampleValue) =>
    new Gauge({
      name,
      help,
      labelNames: REPLICA_LABELS,
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
      labelNames: REPLICA_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        eachSample(value, (labels, v) => this.inc(labels, v));
      },
    });

  return {
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
