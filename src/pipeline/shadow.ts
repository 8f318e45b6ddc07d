import { responseCostUsd } from "../accounting/cost.js";
import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import type { DispatchEvent } from "../routing/dispatch.js";
import type { ModelRoute, ModelTable } from "./model-table.js";
import { dispatchToRoute } from "./route-dispatch.js";

/**
 * Shadow traffic: a share of a model's requests also sent to its shadow model, in the background. The copy's
 * answer is discarded, its outcome, latency and cost are measured; it never delays or fails the client's
 * request. Copies still in flight are aborted on close.
 */
export class ShadowTraffic {
  readonly #deps: { table: ModelTable; clock: Clock; metrics: Metrics; random: Random };
  readonly #inFlight = new Set<AbortController>();

  constructor(deps: { table: ModelTable; clock: Clock; metrics: Metrics; random: Random }) {
    this.#deps = deps;
  }

  /** Sends a copy of `request` to the route's shadow model for its share of requests (one seeded draw). */
  maybeSend(route: ModelRoute, request: GenerationRequest): void {
    const { table, clock, metrics, random } = this.#deps;
    const shadow = route.info.shadow;
    if (shadow === undefined || random.next() >= shadow.share) return;
    const target = table.get(shadow.model);
    const copy = target && table.retarget({ ...request, id: `${request.id}-shadow` }, target);
    if (target === undefined || copy === undefined) return;
    const controller = new AbortController();
    this.#inFlight.add(controller);
    consumeShadow({
      events: dispatchToRoute(
        { clock, metrics, random },
        {
          route: target,
          request: copy,
          signal: controller.signal,
          progress: { started: false, attempts: 0 },
          shadow: true,
        },
      ),
      labels: { model: route.info.id, shadow: target.info.id },
      clock,
      metrics,
      priceOf: (replicaId) => table.replica(replicaId, target)?.pricePerGpuHourUsd ?? 0,
      onSettled: () => this.#inFlight.delete(controller),
    });
  }

  abortAll(reason: Error): void {
    for (const controller of this.#inFlight) controller.abort(reason);
  }
}

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
