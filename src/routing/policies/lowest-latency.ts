import type { RoutingPolicy } from "../types.js";
import { type LatencyModelOptions, latencyModel, latencyPriors, predictLatency } from "./latency-estimate.js";
import { pickMin } from "./pick-min.js";

/**
 * Lowest predicted latency: the available replica with the smallest predicted end-to-end latency,
 * `ttftEwma x (1 + (outstanding + waiting) / queueScale) + maxTokens x tpotEwma` (model and constants in
 * `latency-estimate.ts`); equal predictions are taken in turn.
 *
 * When to use: heterogeneous or shared replicas (mixed GPUs, providers, regions, noisy neighbours) where speed
 * differs and drifts: the EWMAs move traffic off a replica within a few samples of it slowing down and back
 * after it recovers. It needs latency observations to work; until they arrive it behaves like least-outstanding
 * over the gateway's and the engines' queues.
 */
export function lowestLatency(options: LatencyModelOptions = {}): RoutingPolicy {
  const model = latencyModel("lowestLatency", options);
  return (request, replicas, context) => {
    const priors = latencyPriors(replicas, model);
    return pickMin(replicas, context.sequence, (r) =>
      r.available ? predictLatency(r, request, priors, model).e2eMs : undefined,
    );
  };
}
