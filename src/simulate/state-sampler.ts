import type { Composed } from "../compose.js";
import type { TimeSeries } from "./series.js";

/**
 * Reads the gateway's queues and the replicas' gauges at bucket boundaries and records them in the series:
 * busy time as the change of each replica's busy-seconds counter (tollgate_replica_busy_seconds_total) since
 * the previous sample, queue depth and KV-cache usage as they stand at the instant.
 */
export class StateSampler {
  readonly #composed: Composed;
  readonly #series: TimeSeries;
  #lastMs = 0;
  #lastBusySeconds = 0;

  constructor(options: { composed: Composed; series: TimeSeries }) {
    this.#composed = options.composed;
    this.#series = options.series;
  }

  /** Records the interval from the previous sample to `nowMs` (nothing when it is empty). */
  sample(nowMs: number): void {
    if (nowMs <= this.#lastMs) return;
    const replicas = this.#composed.gateway.replicaSamples();
    let busy = 0;
    let kvSum = 0;
    let kvMax = 0;
    let engineWaiting = 0;
    for (const r of replicas) {
      busy += r.engine?.busySeconds ?? 0;
      engineWaiting += r.waiting;
      kvSum += r.kvCacheUsage;
      kvMax = Math.max(kvMax, r.kvCacheUsage);
    }
    let queueDepth = 0;
    for (const q of this.#composed.scheduler.queueSamples()) queueDepth += q.depth;
    this.#series.recordState({
      fromMs: this.#lastMs,
      busySeconds: Math.max(0, busy - this.#lastBusySeconds),
      replicaSeconds: (replicas.length * (nowMs - this.#lastMs)) / 1000,
      queueDepth,
      engineWaiting,
      kvCacheUsageMean: replicas.length === 0 ? 0 : kvSum / replicas.length,
      kvCacheUsageMax: kvMax,
    });
    this.#lastMs = nowMs;
    this.#lastBusySeconds = busy;
  }
}
