import { Counter, Histogram, type Registry } from "prom-client";
import { E2E_BUCKETS } from "./buckets.js";

/**
 * Metrics of where requests go: replica choices, retries and the retry budget, fallbacks to another model,
 * canary and shadow traffic. Labels: model names and routing policies, all configured; outcome (finish
 * reasons and error codes).
 */
export function createRoutingMetrics(registry: Registry) {
  return {
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
  };
}
