import type { ReplicaView, RouteRequest, RoutingPolicy } from "../types.js";
import {
  type LatencyModelOptions,
  type LatencyPrediction,
  latencyModel,
  latencyPriors,
  predictLatency,
} from "./latency-estimate.js";
import { pickMin } from "./pick-min.js";

/**
 * Lowest cost that meets the SLO. Per request:
 *
 *     cost = pricePerHourUsd x e2eSeconds / 3600 / (running + 1)
 *
 * with e2e from the shared latency estimate (`latency-estimate.ts`). The division approximates how the
 * replica's hour is shared: with continuous batching the request occupies the GPUs together with the batch it
 * joins, which is the `running` sequences plus itself (the engine attributes each iteration's GPU time to the
 * sequences in it the same way). It is an estimate of the batch at admission; the batch changes while the
 * request runs. Using running + 1 rather than max(1, running) counts the request itself, so an idle replica is
 * charged the full hour-share and a replica with one running sequence half of it.
 *
 * Among available replicas whose predicted TTFT, TPOT and e2e all meet `request.slo` (each target only when
 * set), the cheapest wins. A request without an SLO is held to `defaultSlo`: MLPerf Inference's server-scenario
 * bounds for Llama-3.1-8B (p99 TTFT 2 s, TPOT 100 ms; serving.md), because "cheapest, whatever the latency" piles
 * everything on the cheapest replica until it collapses (the policies bench showed exactly that). If none
 * qualifies, the request goes to the lowest predicted e2e latency: miss the SLO by as little as possible.
 *
 * When to use: pools that mix prices (spot and on-demand, cheap and fast GPUs, several providers) and requests
 * that carry an SLO class: batch and background work drifts to the cheapest hardware, interactive requests
 * stay on hardware fast enough for their targets. Since busy replicas look cheaper per request, it packs
 * batches; the SLO check is what stops it from overloading them.
 */
/** Targets for requests that carry none (MLPerf Inference server scenario, Llama-3.1-8B). */
export const DEFAULT_COST_SLO: NonNullable<RouteRequest["slo"]> = Object.freeze({
  ttftMs: 2000,
  tpotMs: 100,
});

export function lowestCost(
  options: LatencyModelOptions & { defaultSlo?: NonNullable<RouteRequest["slo"]> } = {},
): RoutingPolicy {
  const model = latencyModel("lowestCost", options);
  const defaultSlo = options.defaultSlo ?? DEFAULT_COST_SLO;
  return (input, replicas, context) => {
    const request = input.slo === undefined ? { ...input, slo: defaultSlo } : input;
    const priors = latencyPriors(replicas, model);
    const predictions = replicas.map((r) =>
      r.available ? predictLatency(r, request, priors, model) : undefined,
    );
    const cheapest = pickMin(replicas, context.sequence, (r, i) => {
      const p = predictions[i];
      return p !== undefined && meetsSlo(p, request) ? costUsd(r, p) : undefined;
    });
    if (cheapest !== -1) return cheapest;
    return pickMin(replicas, context.sequence, (_r, i) => predictions[i]?.e2eMs);
  };
}

function meetsSlo(p: LatencyPrediction, request: RouteRequest): boolean {
  const slo = request.slo;
  if (slo === undefined) return true;
  return (
    (slo.ttftMs === undefined || p.ttftMs <= slo.ttftMs) &&
    (slo.tpotMs === undefined || p.tpotMs <= slo.tpotMs) &&
    (slo.e2eMs === undefined || p.e2eMs <= slo.e2eMs)
  );
}

function costUsd(r: ReplicaView, p: LatencyPrediction): number {
  return (r.pricePerHourUsd * (p.e2eMs / 1000)) / 3600 / (Math.max(0, r.running) + 1);
}
