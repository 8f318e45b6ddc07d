import { responseCostUsd } from "../accounting/cost.js";
import type { Metrics } from "../metrics/metrics.js";
import type { DispatchEvent } from "../routing/dispatch.js";
import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";

/**
 * Consumes a shadow copy's events in the background: the answer is discarded; its outcome, end-to-end latency
 * and GPU cost are measured (tollgate_shadow_*), never as the shadow model's own traffic. Nothing here can delay
 * or fail the client's request.
 */
export function consumeShadow(options: {
  events: AsyncIterable<DispatchEvent>;
  labels: { model: string; shadow: string };
  clock: Clock;
  metrics: Metrics;
  /** Price of one GPU-hour of the replica that served. */
  priceOf: (replicaId: string) => number;
  onSettled: () => void;
}): void {
  const { clock, metrics, labels } = options;
  const started = clock.now();
  void (async () => {
    let outcome = "error";
    try {
      for await (const event of options.events) {
        if (event.type !== "done") continue;
        outcome = event.finishReason;
        metrics.shadowE2e.observe(labels, (clock.now() - started) / 1000);
        metrics.shadowCost.inc(
          labels,
          responseCostUsd(event.gpuSeconds, options.priceOf(event.servedBy.replicaId)),
        );
      }
    } catch (error) {
      outcome = error instanceof GatewayError ? error.code : "internal_error";
    } finally {
      options.onSettled();
      metrics.shadowRequests.inc({ ...labels, outcome });
    }
  })();
}
