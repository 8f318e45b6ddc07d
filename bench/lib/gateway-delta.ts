import { histogramMeanDelta, metricDelta, type ScrapePair } from "./metrics-scrape.js";

/** What the gateway's /metrics says about one measured interval of a run (deltas between two scrapes). */
export interface GatewayDelta {
  /** Responses costed (tollgate_response_cost_usd_count). */
  responses: number;
  costPerResponseUsd: number;
  gpuSecondsPerResponse: number;
  /** Replica busy seconds / (interval seconds x replicas). */
  busyFraction: number;
  /** Releases from the gateway's queue and their mean size (tollgate_batch_size). */
  batches: number;
  meanBatchSize: number;
  /** Mean requests dispatched together, counting a request dispatched on arrival as a group of one. */
  meanDispatchGroup: number;
  /** Mean wait in the gateway's queue, ms (tollgate_queue_time_seconds). */
  meanQueueMs: number;
}

/**
 * Per-response cost and GPU time, replica busy share, and the scheduler's batching and queueing over the
 * `durationMs` between two scrapes; queue measures are those of `sloClass`.
 */
export function gatewayDelta(
  o: ScrapePair & { durationMs: number; replicas: number; sloClass: string },
): GatewayDelta {
  const delta = (name: string, labels: Record<string, string> = {}) => metricDelta(o, name, labels);
  const ratio = (n: number, d: number) => (d > 0 ? n / d : 0);
  const responses = delta("tollgate_response_cost_usd_count");
  const batches = delta("tollgate_batch_size_count");
  const released = delta("tollgate_batch_size_sum");
  const queue = { class: o.sloClass };
  const dispatched = delta("tollgate_queue_time_seconds_count", queue);
  // Every dispatch is either a release from the queue (counted in tollgate_batch_size) or direct, on arrival.
  const direct = Math.max(0, dispatched - released);
  return {
    responses,
    costPerResponseUsd: ratio(delta("tollgate_cost_usd_total"), responses),
    gpuSecondsPerResponse: ratio(delta("tollgate_gpu_seconds_total"), responses),
    busyFraction: ratio(delta("tollgate_replica_busy_seconds_total"), (o.durationMs / 1000) * o.replicas),
    batches,
    meanBatchSize: histogramMeanDelta(o, "tollgate_batch_size"),
    meanDispatchGroup: ratio(dispatched, batches + direct),
    meanQueueMs: 1000 * histogramMeanDelta(o, "tollgate_queue_time_seconds", queue),
  };
}
